"""Stream records or works out of the store in the supported formats.

XML formats are written incrementally (lxml.etree.xmlfile), so exporting a
million records needs constant memory. oai_dc and lom are wrapped as an
OAI-PMH ListRecords document, which any OAI tool (and `huiju import`) reads;
marcxml is a MARC21 <collection>; lrmi is a JSON array.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO

import msgspec
from lxml import etree

from repository.store import Store
from schemas.crosswalks import writer
from schemas.record import Record

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MARC_NS = "http://www.loc.gov/MARC21/slim"
_PREFIX = {"oai_dc": "oai_dc", "lom": "lom"}
_OAI_NSMAP = {None: OAI_NS}


def _stamp(value: datetime | None) -> str:
    value = value or datetime.now(UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_records(records: Iterable[Record], fmt: str, stream: BinaryIO) -> int:
    """Write records to stream in fmt; returns how many were written."""
    count = 0
    if fmt == "jsonl":
        encode = msgspec.json.Encoder().encode
        for record in records:
            stream.write(encode(record) + b"\n")
            count += 1
        return count
    convert = writer(fmt)
    if fmt == "lrmi":
        stream.write(b"[\n")
        encode = msgspec.json.Encoder().encode
        for record in records:
            stream.write((b",\n" if count else b"") + encode(convert(record)))
            count += 1
        stream.write(b"\n]\n")
        return count
    with etree.xmlfile(stream, encoding="utf-8") as xf:
        xf.write_declaration()
        if fmt == "marcxml":
            with xf.element(f"{{{MARC_NS}}}collection", nsmap={"marc": MARC_NS}):
                for record in records:
                    xf.write(convert(record))
                    count += 1
            return count
        with xf.element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI},
                        attrib={f"{{{XSI}}}schemaLocation":
                                f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"}):
            response_date = etree.Element(f"{{{OAI_NS}}}responseDate", nsmap=_OAI_NSMAP)
            response_date.text = _stamp(None)
            xf.write(response_date)
            request = etree.Element(f"{{{OAI_NS}}}request", nsmap=_OAI_NSMAP, verb="ListRecords",
                                    metadataPrefix=_PREFIX[fmt])
            request.text = "huiju-export"
            xf.write(request)
            with xf.element(f"{{{OAI_NS}}}ListRecords"):
                for record in records:
                    xf.write(_oai_record(record, convert))
                    count += 1
    return count


def _oai_record(record: Record, convert) -> etree._Element:  # noqa: ANN001
    element = etree.Element(f"{{{OAI_NS}}}record", nsmap=_OAI_NSMAP)
    header = etree.SubElement(element, f"{{{OAI_NS}}}header")
    if record.deleted:
        header.set("status", "deleted")
    etree.SubElement(header, f"{{{OAI_NS}}}identifier").text = f"oai:huiju:{record.source}:{record.source_record_id}"
    etree.SubElement(header, f"{{{OAI_NS}}}datestamp").text = _stamp(record.datestamp)
    if not record.deleted:
        etree.SubElement(element, f"{{{OAI_NS}}}metadata").append(convert(record))
    return element


def export_records(store: Store, fmt: str, stream: BinaryIO, *, source: str | None = None) -> int:
    return write_records(store.iter_records(source=source, include_deleted=False), fmt, stream)


def export_works(store: Store, fmt: str, stream: BinaryIO) -> int:
    """One entry per work: jsonl lines carry the canonical view and members."""
    works = store.iter_works()
    if fmt == "jsonl":
        count = 0
        encode = msgspec.json.Encoder().encode
        for work, canonical, members in works:
            line = {
                "id": work.id,
                "title": canonical.title,
                "canonical": {"source": canonical.source, "source_record_id": canonical.source_record_id},
                "members": [{"source": m.source, "source_record_id": m.source_record_id} for m in members],
            }
            stream.write(encode(line) + b"\n")
            count += 1
        return count
    return write_records((canonical for _, canonical, _ in works), fmt, stream)
