"""Walk an OAI-PMH response (GetRecord or ListRecords) or a bare metadata
document, yielding each item's header facts and its metadata element.

Shared by the oai_dc, lom and marcxml readers, so `huiju import FILE` takes a
harvested page as well as a single record. Namespace-agnostic on purpose:
real responses exist with every namespace stripped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
from lxml import etree

from schemas.xmlsafe import local_name

OAI_NS = "http://www.openarchives.org/OAI/2.0/"


class OaiItem(msgspec.Struct):
    identifier: str | None
    datestamp: datetime | None
    deleted: bool
    set_specs: list[str]
    metadata: etree._Element | None
    locator: str


class OaiError(msgspec.Struct):
    """An OAI-PMH <error> in the response (e.g. noRecordsMatch)."""

    code: str
    message: str


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for child in element:
        if local_name(child) == name:
            return child
    return None


def parse_datestamp(text: str | None) -> datetime | None:
    """OAI datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ) as aware UTC."""
    if not text:
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def is_oai_response(root: etree._Element) -> bool:
    return local_name(root) == "OAI-PMH"


def errors(root: etree._Element) -> list[OaiError]:
    return [
        OaiError(code=child.get("code", ""), message=(child.text or "").strip())
        for child in root
        if local_name(child) == "error"
    ]


def items(root: etree._Element) -> Iterator[OaiItem]:
    """Items of an OAI-PMH response, or the root itself as one bare item."""
    if not is_oai_response(root):
        yield OaiItem(None, None, False, [], root, "document")
        return
    for verb_element in root:
        if local_name(verb_element) not in ("GetRecord", "ListRecords"):
            continue
        for position, record in enumerate(
            (r for r in verb_element if local_name(r) == "record"), start=1
        ):
            header = _child(record, "header")
            metadata = _child(record, "metadata")
            payload = None
            if metadata is not None:
                payload = next((c for c in metadata if isinstance(c.tag, str)), None)
            identifier = None
            datestamp = None
            set_specs: list[str] = []
            deleted = False
            if header is not None:
                deleted = header.get("status") == "deleted"
                for field in header:
                    name = local_name(field)
                    if name == "identifier":
                        identifier = (field.text or "").strip() or None
                    elif name == "datestamp":
                        datestamp = parse_datestamp(field.text)
                    elif name == "setSpec" and field.text:
                        set_specs.append(field.text.strip())
            yield OaiItem(identifier, datestamp, deleted, set_specs, payload, identifier or f"record {position}")
