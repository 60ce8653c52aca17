"""MARCXML crosswalk: reads a <collection>, a bare <record> or MARCXML
inside an OAI-PMH response (namespaced or not); writes one MARC21slim
<record> built with pymarc from the shared MARC mapping.

A collection that is not well-formed is salvaged record by record: the
document is cut at its <record> elements and each piece is parsed (still
with parse_xml) on its own, so one bad record costs one record, as with
binary MARC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import msgspec
import pymarc
from lxml import etree
from pymarc import Field, Subfield

from schemas.crosswalks import ReadResult, Rejected
from schemas.crosswalks.marc_map import from_record, to_record
from schemas.crosswalks.oai_envelope import errors, is_oai_response, items
from schemas.errors import CrosswalkError
from schemas.record import Identifier, Record
from schemas.xmlsafe import REFUSED_ENTITIES, local_name, parse_xml

MARC_NS = "http://www.loc.gov/MARC21/slim"
_DECLARATION = re.compile(rb"\s*<\?xml[^>]*\?>")
_COLLECTION = re.compile(rb"<([\w.-]+:)?collection[\s>]")
_QUIET_OAI_ERRORS = {"noRecordsMatch"}


_FIELD_NAMES = ("leader", "controlfield", "datafield")
_LOCAL_NAMES = {f"{{{MARC_NS}}}{n}": n for n in _FIELD_NAMES} | {n: n for n in _FIELD_NAMES}
_SUBFIELD_TAGS = frozenset({f"{{{MARC_NS}}}subfield", "subfield"})
"""The usual tags (MARC21slim or no namespace) by local name, so most children need no string split;
any other namespace still goes through local_name()."""


def _indicator(value: str | None) -> str:
    return (value or " ")[:1]


def element_to_pymarc(element: etree._Element) -> pymarc.Record:
    """A <record> element (any namespace or none) as a pymarc.Record; short
    or long leaders are padded/cut to 24 characters, "35" tags become "035"."""
    rec = pymarc.Record()
    for child in element:
        name = _LOCAL_NAMES.get(child.tag) or local_name(child)
        tag = (child.get("tag") or "").strip()
        if name == "leader":
            rec.leader = pymarc.Leader((child.text or "")[:24].ljust(24))
        elif name == "controlfield":
            rec.add_field(Field(tag, data=child.text or ""))
        elif name == "datafield":
            subfields = [
                Subfield((sf.get("code") or " ")[:1], sf.text or "")
                for sf in child
                if sf.tag in _SUBFIELD_TAGS or local_name(sf) == "subfield"
            ]
            # a plain pair: Field makes the Indicators itself (handing it one makes it build a second)
            rec.add_field(Field(tag, (_indicator(child.get("ind1")), _indicator(child.get("ind2"))), subfields))
    return rec


def _map(
    element: etree._Element, source: str, locator: str, oai_identifier: str | None, stamp: datetime | None
) -> ReadResult:
    try:
        rec = element_to_pymarc(element)
        result = to_record(rec, source, oai_identifier=oai_identifier, oai_datestamp=stamp)
    except Exception as exc:  # the contract: bad input never raises
        result = f"mapping failed: {type(exc).__name__}: {exc}"
    if isinstance(result, str):
        raw = etree.tostring(element, encoding="utf-8")
        return Rejected(reason=result, locator=locator, raw=raw, stage="map")
    return result


def _records(
    element: etree._Element,
    source: str,
    locator: str | None = None,
    oai_identifier: str | None = None,
    stamp: datetime | None = None,
) -> Iterator[ReadResult]:
    """The records of a <record> or <collection> element."""
    name = local_name(element)
    if name == "record":
        yield _map(element, source, locator or "record 1", oai_identifier, stamp)
    elif name == "collection":
        records = [child for child in element if local_name(child) == "record"]
        for number, child in enumerate(records, start=1):
            where = f"{locator} record {number}" if locator else f"record {number}"
            yield _map(child, source, where, oai_identifier, stamp)
    else:
        yield Rejected(
            reason=f"not MARCXML: root element <{name}> is neither <collection> nor <record>",
            locator=locator or "document",
            raw=etree.tostring(element, encoding="utf-8")[:4096],
            stage="parse",
        )


def read_element(root: etree._Element, *, source: str) -> Iterator[ReadResult]:
    """Records of an already parsed document (OAI-PMH response or MARCXML)."""
    if not is_oai_response(root):
        yield from _records(root, source)
        return
    for error in errors(root):
        if error.code not in _QUIET_OAI_ERRORS:
            reason = f"OAI-PMH error {error.code}: {error.message}"
            yield Rejected(reason=reason, locator="document", stage="parse")
    for item in items(root):
        if item.deleted and not item.identifier:
            reason = "deleted OAI-PMH record has no identifier"
            yield Rejected(reason=reason, locator=item.locator, stage="parse")
        elif item.deleted:
            # OAI identifiers end in the 001 (oai:inspirehep.net:972855 ↔ 001 972855)
            local = item.identifier.rsplit(":", 1)[-1]
            yield Record(source=source, source_record_id=local, title="", deleted=True,
                         identifiers=[Identifier("oai", item.identifier)], modified=item.datestamp)
        elif item.metadata is None:
            yield Rejected(reason="OAI-PMH record has no metadata", locator=item.locator, stage="parse")
        else:
            yield from _records(item.metadata, source, item.locator, item.identifier, item.datestamp)


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """MARCXML records; a document that is not well-formed is salvaged per
    <record> when it is a collection, else rejected as a whole."""
    try:
        root = parse_xml(data)
    except CrosswalkError as exc:
        if exc.reason == REFUSED_ENTITIES:  # hostile, not broken: salvaging records would hide why
            yield Rejected(reason=exc.reason, locator="document", raw=data, stage="parse")
        else:
            yield from _salvage(data, source, exc.reason)
        return
    yield from read_element(root, source=source)


def _salvage(data: bytes, source: str, reason: str) -> Iterator[ReadResult]:
    opening = _COLLECTION.search(data)
    if opening is None:
        yield Rejected(reason=reason, locator="document", raw=data, stage="parse")
        return
    start = data.index(b">", opening.start()) + 1
    prefix = re.escape(opening.group(1) or b"")
    pieces = list(re.finditer(rb"<" + prefix + rb"record[\s>].*?</" + prefix + rb"record\s*>", data, re.S))
    if not pieces:
        yield Rejected(reason=reason, locator="document", raw=data, stage="parse")
        return
    declaration = _DECLARATION.match(data)
    head = (declaration.group(0) if declaration else b"") + data[opening.start() : start]
    tail = b"</" + (opening.group(1) or b"") + b"collection>"
    for number, piece in enumerate(pieces, start=1):
        line = data.count(b"\n", 0, piece.start()) + 1
        try:
            root = parse_xml(head + piece.group(0) + tail)
        except CrosswalkError as exc:
            reason = f"{exc.reason} (record starting at line {line})"
            yield Rejected(reason=reason, locator=f"record {number}", raw=piece.group(0), stage="parse")
            continue
        for result in _records(root, source):
            if isinstance(result, Rejected):
                result = msgspec.structs.replace(result, locator=f"record {number}")
            yield result


def write(record: Record) -> etree._Element:
    """The record as a MARC21slim <record> element (pymarc builds the XML)."""
    return parse_xml(pymarc.record_to_xml(from_record(record), namespace=True))


__all__ = ["read", "read_element", "write", "element_to_pymarc", "MARC_NS"]
