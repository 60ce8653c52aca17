"""schema.org / LRMI descriptions <-> Record.

read() sniffs the bytes: JSON is JSON-LD; HTML goes through extruct
(JSON-LD, microdata, RDFa); XML is LRMI-XML as aoe.fi publishes it (bare or
in an OAI-PMH response) or our own <lrmi:jsonld> wrapper. JSON-LD is read by
term names, not by a JSON-LD processor, so a remote @context is never
fetched: compact keys ("name"), prefixed keys ("schema:name", or any prefix
an inline @context binds) and full IRIs (http(s)://schema.org/name) all
reduce to the schema.org local name; "id"/"type" are the AMB aliases of
@id/@type.

write() emits schema.org JSON-LD. Choices a consumer needs to know:

* "@id" is ``urn:huiju:<record id>``: it names this description, so two
  sources describing the same URL never merge in a consumer's graph; the
  resource's address is "url".
* Curriculum goes into educationalAlignment AlignmentObjects whose
  educationalFramework names the dimension:
  学段 stage and 年级 grade (alignmentType educationalLevel; a 五•四学制
  stage is written 小学（五•四学制）), 学科 subject (educationalSubject), and
  the Huiju extensions 教材版本 edition (alignmentType textbookEdition,
  targetName with （主编：…）), 册次 volume (textbookVolume), 课时 class
  hour (classHour, 第N课时). schema.org leaves alignmentType open text.
  Stage and grade are repeated in educationalLevel, the subject in about,
  and chapter_path (outermost first) is teaches.
* learningResourceType is a DefinedTerm: name = our zh label (read back
  first, so 微课视频 and 录像课 stay apart although both are
  recordedLesson), termCode = the LRMI concept from resource_types.json.
* A teacher is an author with hasOccupation 教师.

write_xml() wraps that JSON text for OAI-PMH in
<lrmi:jsonld xmlns:lrmi="https://huiju.invalid/ns/lrmi-jsonld/1.0">: no
registered XML namespace exists for LRMI JSON-LD, and the reserved .invalid
TLD can never collide with a real one.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import msgspec
from lxml import etree

from schemas.crosswalks import ReadResult, Rejected
from schemas.crosswalks.lrmi_jsonld import Reader
from schemas.crosswalks.lrmi_map import Node, lit, record_from_node
from schemas.errors import CrosswalkError
from schemas.normalise import licence_url
from schemas.record import Record
from schemas.vocab import vocabulary
from schemas.xmlsafe import local_name, parse_xml

JSONLD_XML_NS = "https://huiju.invalid/ns/lrmi-jsonld/1.0"
LRT_SET = "http://purl.org/dcx/lrmi-vocabs/learningResourceType/"
HTML_TAGS = frozenset(
    b"html head body div p span script section article main meta link a h1 h2 h3 h4 h5 h6 ul ol li "
    b"table title header footer nav img figure form iframe noscript style br".split()
)
_FIRST_TAG = re.compile(rb"<([A-Za-z][\w:.-]*)")
_XML_UNSAFE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_XML_RENAME = {
    "title": "name",
    "type": "learningResourceType",
    "rights": "license",
    "recordID": "identifier",
    "educationalAudience": "audience",
    "date": "datePublished",
}
_XML_WRAPPERS = {"person": "Person", "organization": "Organization", "thing": "Thing"}
_XML_MAX_DEPTH = 8


# ---------------------------------------------------------------- reading


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """Records for every learning-resource description in the payload."""
    try:
        data = _utf8(data)
        kind = _sniff(data)
        if kind == "json":
            results = _read_json(data, source)
        elif kind == "html":
            results = _read_html(data, source)
        elif kind == "xml":
            results = _read_xml(data, source)
        else:
            start = data[:40].decode("utf-8", "replace").strip()
            results = [Rejected(reason=f"not JSON, HTML or XML (starts {start!r})", stage="parse")]
        yield from _dedupe(results)
    except RecursionError:
        yield Rejected(reason="payload nested too deeply", stage="parse")


def _utf8(data: bytes) -> bytes:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace").encode("utf-8")
    return data.removeprefix(b"\xef\xbb\xbf")


def _sniff(data: bytes) -> str:
    head = data[:4096].lstrip()
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] != b"<":
        return "unknown"
    if head[:14].lower() == b"<!doctype html":
        return "html"
    for match in _FIRST_TAG.finditer(head):
        name = match.group(1).lower().rsplit(b":", 1)[-1]
        return "html" if name in HTML_TAGS else "xml"
    return "xml"


def _dedupe(results: Iterator[ReadResult] | list[ReadResult]) -> Iterator[ReadResult]:
    """One record per source id: a page may carry the same item as JSON-LD and microdata."""
    seen: set[str] = set()
    for result in results:
        if isinstance(result, Record):
            if result.source_record_id in seen:
                continue
            seen.add(result.source_record_id)
        yield result


def _read_json(data: bytes, source: str) -> Iterator[ReadResult]:
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        yield Rejected(reason=f"invalid JSON: {exc}", stage="parse")
        return
    yield from _records(Reader(doc).nodes(), source, "JSON")


def _records(nodes: list[Node], source: str, where: str) -> Iterator[ReadResult]:
    if not nodes:
        yield Rejected(reason=f"no schema.org learning resource descriptions in the {where}")
        return
    for position, node in enumerate(nodes, start=1):
        yield record_from_node(node, source=source, locator=node.get("@id") or f"item {position}")


def _read_html(data: bytes, source: str) -> Iterator[ReadResult]:
    import extruct  # imported lazily: pulls in pyRdfa and html5lib

    text = _decode_html(data)
    found: list[Node] = []
    counts = []
    for syntax in ("json-ld", "microdata", "rdfa"):
        if not _may_hold(syntax, data):  # nothing to find: skip a full parse (RDFa was 3/4 of a page's read)
            counts.append(f"{syntax}: 0")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                items = extruct.extract(text, syntaxes=[syntax], uniform=True, errors="strict")[syntax]
        except Exception as exc:  # extruct raises whatever its parsers raise
            yield Rejected(
                reason=f"unreadable {syntax} in HTML: {type(exc).__name__}: {exc}"[:300], stage="parse"
            )
            continue
        nodes = Reader(items).nodes()
        counts.append(f"{syntax}: {len(nodes)}")
        found.extend(nodes)
    if not found:
        yield Rejected(
            reason=f"no schema.org learning resource descriptions in the HTML ({', '.join(counts)})"
        )
        return
    yield from _records(found, source, "HTML")


_MARKERS = {
    "json-ld": re.compile(rb"application/ld\+json", re.I),
    "microdata": re.compile(rb"\sitem(?:scope|prop|type)\b", re.I),
    # any RDFa attribute, or rel/rev with a CURIE or IRI (rel="dc:source"): plain rel="stylesheet" states nothing
    "rdfa": re.compile(rb"""\s(?:typeof|property|vocab|about|resource|prefix|datatype|inlist)\s*=|"""
                       rb"""\s(?:rel|rev)\s*=\s*["']?[^"'>]*:""", re.I),
}


def _may_hold(syntax: str, data: bytes) -> bool:
    """False when the page cannot carry ``syntax`` (none of its markers appears in the bytes)."""
    return _MARKERS[syntax].search(data) is not None


def _decode_html(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = re.search(rb"""charset\s*=\s*["']?([\w-]+)""", data[:4096], re.I)
    for encoding in ([match.group(1).decode("ascii")] if match else []) + ["gb18030"]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def _read_xml(data: bytes, source: str) -> Iterator[ReadResult]:
    from schemas.crosswalks import oai_envelope

    try:
        root = parse_xml(data)
    except CrosswalkError as exc:
        yield Rejected(reason=exc.reason, stage="parse")
        return
    if oai_envelope.is_oai_response(root):
        for error in oai_envelope.errors(root):
            yield Rejected(reason=f"OAI-PMH error {error.code}: {error.message}", stage="parse")
    for item in oai_envelope.items(root):
        element = item.metadata
        if element is None:
            reason = "deleted in source, no metadata" if item.deleted else "OAI record without metadata"
            yield Rejected(reason=reason, locator=item.locator)
            continue
        if element.tag == f"{{{JSONLD_XML_NS}}}jsonld":
            yield from _read_json((element.text or "").encode("utf-8"), source)
            continue
        name = local_name(element)
        node = _xml_node(element, 0)
        if not node.get("name"):
            what = "RDF/XML (use the rdf reader)" if name == "RDF" else f"<{name}> holds no LRMI title"
            yield Rejected(reason=f"XML is not LRMI-XML: {what}", locator=item.locator)
            continue
        node["@id"] = node.get("@id") or item.identifier
        result = record_from_node(node, source=source, locator=item.locator)
        if isinstance(result, Record) and item.deleted:
            result.deleted = True
        yield result


def _xml_node(element: etree._Element, depth: int) -> Node:
    """LRMI-XML element → node: element names are schema.org terms with a few renames."""
    node: Node = {"@id": None, "@type": []}
    for child in element:
        name = local_name(child)
        if not name:
            continue
        elements = [c for c in child if local_name(c)]
        if name == "learningResource" and depth < _XML_MAX_DEPTH:
            for key, values in _xml_node(child, depth + 1).items():
                if not key.startswith("@"):
                    node.setdefault(key, []).extend(values)
            continue
        key = _XML_RENAME.get(name, name)
        if not elements:
            text = (child.text or "").strip()
            if not text:
                continue
            if key == "id":
                node["@id"] = text
                continue
            lang = child.get("lang") or child.get("{http://www.w3.org/XML/1998/namespace}lang")
            node.setdefault(key, []).append(lit(text, lang))
        elif depth < _XML_MAX_DEPTH:
            if len(elements) == 1 and local_name(elements[0]) in _XML_WRAPPERS:
                sub = _xml_node(elements[0], depth + 1)
                sub["@type"] = [_XML_WRAPPERS[local_name(elements[0])]]
            else:
                sub = _xml_node(child, depth + 1)
            node.setdefault(key, []).append(sub)
    return node


# ---------------------------------------------------------------- writing

ROLE_PROPERTY = {
    "teacher": "author",
    "author": "author",
    "publisher": "publisher",
    "provider": "provider",
    "producer": "producer",
    "contributor": "contributor",
}


def write(record: Record) -> dict[str, Any]:
    """The record as one schema.org LearningResource in JSON-LD (see module docstring)."""
    entry = (
        vocabulary("resource_types").entries.get(record.resource_type.code, {})
        if record.resource_type
        else {}
    )
    media = entry.get("media")
    doc: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": ["LearningResource"] + {"video": ["VideoObject"], "audio": ["AudioObject"]}.get(media, []),
        "@id": f"urn:huiju:{record.id}",
        "name": record.title,
    }

    def put(key: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            doc[key] = value

    c = record.curriculum
    stage = (
        (c.stage.zh or c.stage.code)
        + {"5-4": "（五•四学制）", "6-3": "（六•三学制）"}.get(c.school_system or "", "")
        if c.stage
        else None
    )
    put("alternateName", list(record.alt_titles))
    put("description", record.description)
    put("keywords", list(record.keywords))
    put("inLanguage", record.language)
    put("url", record.url)
    put(
        "identifier",
        [{"@type": "PropertyValue", "propertyID": i.scheme, "value": i.value} for i in record.identifiers],
    )
    put("isBasedOn", list(record.is_based_on))
    if record.resource_type:
        term: dict[str, Any] = {
            "@type": "DefinedTerm",
            "name": record.resource_type.zh or record.resource_type.code,
        }
        if entry.get("lrmi"):
            term.update(termCode=entry["lrmi"], inDefinedTermSet=LRT_SET)
        put("learningResourceType", term)
    edition = None
    if c.edition:
        edition = c.edition.label + (f"（主编：{c.edition.chief_editor}）" if c.edition.chief_editor else "")
    rows = [
        ("educationalLevel", "学段", stage),
        ("educationalLevel", "年级", c.grade_label),
        ("educationalSubject", "学科", c.subject.zh or c.subject.code if c.subject else None),
        ("textbookEdition", "教材版本", edition),
        ("textbookVolume", "册次", c.volume.zh if c.volume else None),
        ("classHour", "课时", f"第{c.class_hour}课时" if c.class_hour else None),
    ]
    put(
        "educationalAlignment",
        [
            {
                "@type": "AlignmentObject",
                "alignmentType": kind,
                "educationalFramework": frame,
                "targetName": name,
            }
            for kind, frame, name in rows
            if name
        ],
    )
    put("educationalLevel", [x for x in (stage, c.grade_label) if x])
    if c.subject:
        put(
            "about",
            [{"@type": "DefinedTerm", "name": c.subject.zh or c.subject.code, "termCode": c.subject.code}],
        )
    put("teaches", list(c.chapter_path))
    for agent in record.agents:
        person: dict[str, Any] = {
            "@type": "Organization" if agent.kind == "organization" else "Person",
            "name": agent.name,
        }
        if agent.title:
            person["jobTitle"] = agent.title
        if agent.school:
            person["affiliation"] = {"@type": "EducationalOrganization", "name": agent.school}
        if agent.role == "teacher":
            person["hasOccupation"] = {"@type": "Occupation", "name": "教师"}
        doc.setdefault(ROLE_PROPERTY.get(agent.role, "contributor"), []).append(person)
    if record.licence:
        put("license", licence_url(record.licence) or record.licence)
    put("copyrightNotice", record.rights)
    put("dateCreated", record.created.isoformat() if record.created else None)
    put("dateModified", record.modified.isoformat() if record.modified else None)
    put("timeRequired", record.duration)
    if media in ("video", "audio"):
        put("duration", record.duration)
    put("encodingFormat", record.format)
    put("contentSize", str(record.size) if record.size is not None else None)
    put("thumbnailUrl", list(record.thumbnails))
    return doc


def write_xml(record: Record) -> etree._Element:
    """write() as JSON text inside <lrmi:jsonld>, for an OAI-PMH metadata element."""
    text = json.dumps(write(record), ensure_ascii=False)
    text = _XML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)  # only ever inside JSON strings
    element = etree.Element(f"{{{JSONLD_XML_NS}}}jsonld", nsmap={"lrmi": JSONLD_XML_NS})
    element.text = text
    return element


__all__ = ["read", "write", "write_xml", "JSONLD_XML_NS"]
