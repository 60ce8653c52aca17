"""Huiju's own JSON Lines format: one Record as JSON per line."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from schemas.crosswalks import ReadResult, Rejected
from schemas.record import Record, from_json, to_json


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """Each non-empty line is a Record; `source` fills records that lack one."""
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = msgspec.json.decode(line)
            if isinstance(obj, dict):
                obj.setdefault("source", source)
            record = msgspec.convert(obj, Record)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            yield Rejected(reason=f"invalid JSON record: {exc}", locator=f"line {number}", raw=line, stage="parse")
            continue
        if not record.title.strip():
            yield Rejected(reason="record has no title", locator=f"line {number}", raw=line)
            continue
        yield record


def write(record: Record) -> bytes:
    return to_json(record)


__all__ = ["read", "write", "from_json"]
