"""Crosswalks between the shared record model and external formats.

Contract, for every input format module (pure functions, no I/O):

    read(data: bytes, *, source: str) -> Iterator[Record | Rejected]

yields one Record per mapped record and one Rejected per record (or whole
payload) that cannot be mapped, never raising for bad input. Every output
format module has

    write(record: Record) -> lxml element (XML formats) or dict (JSON-LD)

`READERS` and `WRITERS` name them by the format names the CLI uses; modules
are imported on first use so one broken format cannot break the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module
from typing import Any

import msgspec

from schemas.record import Record


class Rejected(msgspec.Struct, frozen=True):
    """A record or payload that could not be mapped, with a one-line reason.

    locator says where in the payload (e.g. "record 3", an OAI identifier)
    and raw keeps the offending bytes for the quarantine.
    """

    reason: str
    locator: str = ""
    raw: bytes = b""
    stage: str = "map"  # parse | map | validate


ReadResult = Record | Rejected
Reader = Callable[..., Iterator[ReadResult]]

READERS: dict[str, str] = {
    "jsonl": "schemas.crosswalks.jsonl:read",
    "oai_dc": "schemas.crosswalks.oai_dc:read",
    "lom": "schemas.crosswalks.lom:read",
    "marc": "schemas.crosswalks.marc:read",
    "marcxml": "schemas.crosswalks.marcxml:read",
    "lrmi": "schemas.crosswalks.lrmi:read",
    "rdf": "schemas.crosswalks.rdf:read",
    "smartedu": "schemas.crosswalks.smartedu:read",
}

WRITERS: dict[str, str] = {
    "jsonl": "schemas.crosswalks.jsonl:write",
    "oai_dc": "schemas.crosswalks.oai_dc:write",
    "lom": "schemas.crosswalks.lom:write",
    "marcxml": "schemas.crosswalks.marcxml:write",
    "lrmi": "schemas.crosswalks.lrmi:write",
}


def _resolve(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)


def reader(format_name: str) -> Reader:
    if format_name not in READERS:
        raise KeyError(f"unknown input format {format_name!r}; choose from {', '.join(READERS)}")
    return _resolve(READERS[format_name])


def writer(format_name: str) -> Callable[[Record], Any]:
    if format_name not in WRITERS:
        raise KeyError(f"unknown output format {format_name!r}; choose from {', '.join(WRITERS)}")
    return _resolve(WRITERS[format_name])
