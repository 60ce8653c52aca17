"""OAI-PMH 2.0 responses as bytes, built by pure functions over values.

The view gathers the values (items, counts, tokens) and picks a builder;
nothing here reads a clock, a database or a request. Every document starts
with an xml-stylesheet processing instruction when given one, so a browser
shows web/static/oai2.xsl's page instead of raw XML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from repository.oai import GRANULARITY, OAI_NS, OAI_SCHEMA, XSI_NS
from repository.oai.dates import datestamp
from repository.oai.errors import NO_ECHO, OaiError
from repository.oai.formats import TOMBSTONE_NS, TOMBSTONE_XSD, MetadataFormat
from repository.oai.sets import SetInfo
from schemas.record import Record

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
_E = f"{{{OAI_NS}}}"


@dataclass(frozen=True)
class Envelope:
    """What every response repeats: base URL, response date, the request, the stylesheet."""

    base_url: str
    response_date: datetime
    arguments: Mapping[str, str] = field(default_factory=dict)
    stylesheet: str | None = None


@dataclass(frozen=True)
class Tombstone:
    reason: str  # merged | withdrawn | deleted
    successor: str | None = None  # OAI identifier


@dataclass(frozen=True)
class Item:
    """One work as OAI-PMH shows it; ``record`` is None for tombstones and header-only lists."""

    identifier: str
    datestamp: datetime
    set_specs: Sequence[str] = ()
    record: Record | None = None
    tombstone: Tombstone | None = None

    @property
    def deleted(self) -> bool:
        return self.tombstone is not None


@dataclass(frozen=True)
class Resumption:
    """The resumptionToken element: token "" on the last page of a multi-page list."""

    token: str
    cursor: int
    total: int | None = None
    expires: datetime | None = None


@dataclass(frozen=True)
class Identity:
    name: str
    admin_email: str
    earliest: datetime
    repository_id: str
    sample_identifier: str
    compression: Sequence[str] = ("gzip", "deflate")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, _E + tag, attrib)
    if text is not None:
        element.text = text
    return element


def _document(env: Envelope, echo: bool = True) -> etree._Element:
    root = etree.Element(_E + "OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {OAI_SCHEMA}")
    _sub(root, "responseDate", datestamp(env.response_date))
    _sub(root, "request", env.base_url, **(dict(env.arguments) if echo else {}))
    return root


def _serialise(root: etree._Element, env: Envelope) -> bytes:
    if env.stylesheet:
        root.addprevious(etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{env.stylesheet}"'))
    return etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=True)


def error(env: Envelope, errors: Iterable[OaiError]) -> bytes:
    errors = list(errors)
    root = _document(env, echo=not any(e.code in NO_ECHO for e in errors))
    for e in errors:
        _sub(root, "error", e.message, code=e.code)
    return _serialise(root, env)


def identify(env: Envelope, identity: Identity) -> bytes:
    root = _document(env)
    body = _sub(root, "Identify")
    _sub(body, "repositoryName", identity.name)
    _sub(body, "baseURL", env.base_url)
    _sub(body, "protocolVersion", "2.0")
    _sub(body, "adminEmail", identity.admin_email)
    _sub(body, "earliestDatestamp", datestamp(identity.earliest))
    _sub(body, "deletedRecord", "persistent")
    _sub(body, "granularity", GRANULARITY)
    for method in identity.compression:
        _sub(body, "compression", method)
    description = _sub(body, "description")
    oai_id = etree.SubElement(description, f"{{{OAI_ID_NS}}}oai-identifier", nsmap={None: OAI_ID_NS})
    oai_id.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_ID_NS} http://www.openarchives.org/OAI/2.0/oai-identifier.xsd")
    for tag, text in (("scheme", "oai"), ("repositoryIdentifier", identity.repository_id), ("delimiter", ":"),
                      ("sampleIdentifier", identity.sample_identifier)):
        etree.SubElement(oai_id, f"{{{OAI_ID_NS}}}{tag}").text = text
    return _serialise(root, env)


def list_metadata_formats(env: Envelope, formats: Iterable[MetadataFormat]) -> bytes:
    root = _document(env)
    body = _sub(root, "ListMetadataFormats")
    for fmt in formats:
        element = _sub(body, "metadataFormat")
        _sub(element, "metadataPrefix", fmt.prefix)
        _sub(element, "schema", fmt.schema_url(env.base_url))
        _sub(element, "metadataNamespace", fmt.namespace)
    return _serialise(root, env)


def list_sets(env: Envelope, sets: Iterable[SetInfo]) -> bytes:
    root = _document(env)
    body = _sub(root, "ListSets")
    for info in sets:
        element = _sub(body, "set")
        _sub(element, "setSpec", info.spec)
        _sub(element, "setName", info.name)
        description = _sub(element, "setDescription")
        dc = etree.SubElement(description, f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS})
        dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
        for tag, text in (("title", info.name), ("description", info.description)):
            child = etree.SubElement(dc, f"{{{DC_NS}}}{tag}")
            child.text = text
            child.set("{http://www.w3.org/XML/1998/namespace}lang", "zh")
    return _serialise(root, env)


def _header(parent: etree._Element, item: Item) -> None:
    header = _sub(parent, "header", **({"status": "deleted"} if item.deleted else {}))
    _sub(header, "identifier", item.identifier)
    _sub(header, "datestamp", datestamp(item.datestamp))
    for spec in item.set_specs:
        _sub(header, "setSpec", spec)


def _record(parent: etree._Element, item: Item, fmt: MetadataFormat, base_url: str) -> None:
    element = _sub(parent, "record")
    _header(element, item)
    if item.tombstone is None:
        if item.record is None:
            raise ValueError(f"{item.identifier}: a live item needs its record")
        payload = fmt.write(item.record)
        if payload is not None:  # None: this crosswalk cannot express the record; the header still goes out
            _sub(element, "metadata").append(payload)
        return
    about = _sub(element, "about")
    stone = etree.SubElement(about, f"{{{TOMBSTONE_NS}}}tombstone", nsmap={None: TOMBSTONE_NS})
    stone.set(f"{{{XSI_NS}}}schemaLocation", f"{TOMBSTONE_NS} {base_url}/schemas/{TOMBSTONE_XSD}")
    etree.SubElement(stone, f"{{{TOMBSTONE_NS}}}reason").text = item.tombstone.reason
    if item.tombstone.successor:
        etree.SubElement(stone, f"{{{TOMBSTONE_NS}}}successor").text = item.tombstone.successor



def _resumption(parent: etree._Element, resumption: Resumption | None) -> None:
    if resumption is None:
        return
    attrib = {"cursor": str(resumption.cursor)}
    if resumption.total:
        attrib["completeListSize"] = str(resumption.total)
    if resumption.expires is not None and resumption.token:
        attrib["expirationDate"] = datestamp(resumption.expires)
    _sub(parent, "resumptionToken", resumption.token, **attrib)


def get_record(env: Envelope, item: Item, fmt: MetadataFormat) -> bytes:
    root = _document(env)
    _record(_sub(root, "GetRecord"), item, fmt, env.base_url)
    return _serialise(root, env)


def list_records(env: Envelope, items: Iterable[Item], fmt: MetadataFormat, resumption: Resumption | None) -> bytes:
    root = _document(env)
    body = _sub(root, "ListRecords")
    for item in items:
        _record(body, item, fmt, env.base_url)
    _resumption(body, resumption)
    return _serialise(root, env)


def list_identifiers(env: Envelope, items: Iterable[Item], resumption: Resumption | None) -> bytes:
    root = _document(env)
    body = _sub(root, "ListIdentifiers")
    for item in items:
        _header(body, item)
    _resumption(body, resumption)
    return _serialise(root, env)
