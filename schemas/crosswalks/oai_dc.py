"""Simple Dublin Core (oai_dc) in and out.

Reads OAI-PMH GetRecord/ListRecords pages or a bare oai_dc:dc / simple-DC
document (qualified DC without namespaces too) and writes <oai_dc:dc>.
DC has no curriculum fields, so the curriculum travels in dc:subject as the
plain labels sources use (初中, 八年级, 数学, 人教版, 上册, 第一课时) that
classify_terms() sorts back; chapter entries carry the prefix 章节： so they
do not come back as keywords.

The envelope walk and the date/identifier/rights/language helpers here are
shared with the LOM crosswalk, which reads the same OAI-PMH pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache

from lxml import etree

from schemas import normalise as norm
from schemas.crosswalks import ReadResult, Rejected
from schemas.crosswalks.oai_envelope import OaiItem, errors, is_oai_response, items
from schemas.errors import CrosswalkError
from schemas.record import Agent, Curriculum, Identifier, Record, utc
from schemas.text import clean
from schemas.vocab import load_data, vocabulary
from schemas.xmlsafe import local_name, parse_xml

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CHAPTER_PREFIX = "章节："

# DC 1.1 elements plus the dcterms refinements worth reading, by local name.
_FIELDS = {
    "title": "title", "alternative": "alt", "creator": "creator", "contributor": "contributor",
    "publisher": "publisher", "subject": "subject", "description": "description", "abstract": "description",
    "date": "date", "created": "date", "issued": "date", "type": "type", "format": "format",
    "identifier": "identifier", "relation": "relation", "source": "relation", "isVersionOf": "relation",
    "language": "language", "rights": "rights", "license": "rights",
}
_DC_NAMESPACES = {OAI_DC_NS, DC_NS, DCTERMS_NS, ""}
# DCMI Type words for the resource-type vocabulary's `media` classes.
DCMI_TYPE = {"video": "MovingImage", "audio": "Sound", "document": "Text", "image": "StillImage",
             "interactive": "InteractiveResource", "software": "Software"}
_AGENT_FIELDS = (("creator", "author", "person"), ("contributor", "contributor", "person"),
                 ("publisher", "publisher", "organization"))
_AGENT_ELEMENT = {"author": "creator", "teacher": "creator", "publisher": "publisher"}

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff]")
_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
_MIME = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9.+_-]*$", re.I)
_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_HTTP = re.compile(r"^https?://\S+$", re.I)
_DOI = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.I)
_ISBN = re.compile(r"^(?:urn:isbn:|isbn[:：]?\s*)([0-9Xx][0-9Xx\- ]{8,20})$", re.I)
# Bare ISBNs: 978/979-prefixed, or ISBN-10 in its hyphenated form (plain 10-digit ids are too common).
_BARE_ISBN = re.compile(r"^(?:97[89][0-9\-]{10,14}|[0-9]{1,5}(?:-[0-9]{1,7}){1,2}-[0-9Xx])$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.I)
_PREFIXED = ("smartedu", "md5", "local")
_CHAPTER = re.compile(r"^章节[：:]\s*")
_WHITESPACE = re.compile(r"\s")  # the same characters as str.isspace(), found in C
_CLASS_HOUR_ONLY = re.compile(r"^第\s*[一二三四五六七八九十\d]+\s*课时$")

Pairs = list[tuple[str | None, str]]  # (language, text)


# ---------------------------------------------------------------- shared helpers


def xml_text(value: str) -> str:
    """Drop what XML 1.0 cannot carry (C0 controls, lone surrogates, U+FFFE/F)
    so write() never fails on hostile text."""
    return _XML_ILLEGAL.sub("", value)


def text_of(element: etree._Element) -> str:
    """Cleaned text of an element, mixed content and CDATA included."""
    return clean("".join(element.itertext()) if len(element) else element.text)


def prefer_zh(pairs: Pairs) -> list[str]:
    """Texts in order, with the first zh-tagged one moved to the front."""
    texts = [t for _, t in pairs]
    for i, (lang, _) in enumerate(pairs):
        if lang and lang.lower().startswith("zh"):
            return [texts[i], *texts[:i], *texts[i + 1:]]
    return texts


def lang_tag(text: str, language: str | None) -> str | None:
    """Language attribute for a string: zh for Han text, else the record's
    language when it is a valid non-zh tag; None leaves the attribute off."""
    if _HAN.search(text):
        return "zh"
    if language and _LANG_TAG.match(language) and not language.lower().startswith("zh"):
        return language
    return None


def valid_lang(language: str | None) -> str | None:
    tag = (language or "").replace("_", "-")
    return tag if _LANG_TAG.match(tag) else None


def parse_date(text: str | None) -> datetime | None:
    """YYYY, YYYY-MM, ISO dates and datetimes as aware UTC; None otherwise."""
    text = (text or "").strip()
    try:
        m = _YEAR_MONTH.match(text)
        if m:
            return datetime(int(m.group(1)), int(m.group(2) or 1), 1, tzinfo=UTC)
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00"))) if text else None
    except ValueError:
        return None


def _isbn_checksum_ok(digits: str) -> bool:
    """Bare digit strings count as ISBNs only with a valid check digit."""
    if "X" in digits[:-1] or (len(digits) == 13 and "X" in digits):
        return False
    if len(digits) == 10:
        return sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits)) % 11 == 0
    return sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits)) % 10 == 0


def identifier_of(value: str) -> Identifier | None:
    """Classify one identifier string; None for prose (whitespace, no scheme)."""
    m = _ISBN.match(value)
    if m or _BARE_ISBN.match(value):
        digits = re.sub(r"[^0-9Xx]", "", m.group(1) if m else value).upper()
        if len(digits) in (10, 13) and (m or _isbn_checksum_ok(digits)):
            return Identifier("isbn", digits)
    m = _DOI.match(value)
    if m:
        return Identifier("doi", m.group(1))
    if _HTTP.match(value):
        return Identifier("url", value)
    if value.lower().startswith("oai:"):
        return Identifier("oai", value)
    scheme, sep, rest = value.partition(":")
    if sep and rest and scheme.lower() in _PREFIXED:
        return Identifier(scheme.lower(), rest)
    return None if any(c.isspace() for c in value) else Identifier("other", value)


def identifier_text(identifier: Identifier) -> str:
    """The string form identifier_of() reads back to the same Identifier."""
    if identifier.scheme == "isbn":
        return f"urn:isbn:{identifier.value}"
    if identifier.scheme == "doi":
        return f"doi:{identifier.value}"
    if identifier.scheme in _PREFIXED:
        return f"{identifier.scheme}:{identifier.value}"
    return identifier.value


def looks_like_identifier(value: str) -> bool:
    """URLs, URNs, DOIs, handles: values a relation can point at (not prose)."""
    return bool(_SCHEME.match(value) or _DOI.match(value))


def split_rights(values: Iterable[str]) -> tuple[str | None, str | None]:
    """(licence, rights text): the first value naming a licence gives the
    licence; prose (or an unknown licence) is kept as the rights statement."""
    licence = rights = None
    for value in values:
        code = norm.normalise_licence(value)
        licence = licence or code
        if rights is None and (code is None or _WHITESPACE.search(value)):
            rights = value
    return licence, rights


def licence_text(code: str) -> str:
    return norm.licence_url(code) or code


@lru_cache(maxsize=1 << 16)
def _classifiable(value: str) -> bool:
    return bool(norm.classify_terms((value,))[0])


def classify(values: list[str]) -> tuple[dict[str, str], list[str]]:
    """classify_terms() behind a memoised pre-filter: most subject strings of a
    harvest (English keywords, repeated labels) match no vocabulary at all,
    and skipping them keeps the per-record cost flat."""
    candidates = [v for v in values if _classifiable(v)]
    if len(candidates) == len(values):
        return norm.classify_terms(values)
    found, spare = norm.classify_terms(candidates)
    leftovers, position = [], 0
    for value in values:
        if not _classifiable(value):
            leftovers.append(value)
        elif position < len(spare) and spare[position] == value:
            leftovers.append(value)
            position += 1
    return found, leftovers


def add_unique(target: list, value: object) -> None:
    if value and value not in target:
        target.append(value)


def describe(element: etree._Element) -> str:
    """Name an element as '<name> in namespace ns', for one-line reasons."""
    tag = element.tag if isinstance(element.tag, str) else ""
    ns = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    return f"<{local_name(element)}> " + (f"in namespace {ns}" if ns else "(no namespace)")


def reject(reason: str, item: OaiItem, element: etree._Element, locator: str | None = None) -> Rejected:
    return Rejected(reason=reason, locator=locator or item.locator, raw=etree.tostring(element))


PayloadMapper = Callable[[etree._Element, OaiItem, str], Iterator[ReadResult]]


def walk(data: bytes, *, source: str, map_payload: PayloadMapper) -> Iterator[ReadResult]:
    """Parse, walk the OAI-PMH envelope (or take a bare document), turn
    deletions, protocol errors and record-less responses into Records or
    Rejecteds, and hand each metadata payload to map_payload."""
    try:
        root = parse_xml(data)
    except (CrosswalkError, ValueError, etree.LxmlError) as exc:
        reason = exc.reason if isinstance(exc, CrosswalkError) else f"malformed XML: {exc}"
        yield Rejected(reason=clean(reason), locator="document", raw=data, stage="parse")
        return
    if is_oai_response(root):
        errs = errors(root)
        verb = next((local_name(c) for c in root if local_name(c) not in ("", "responseDate", "request")), "")
        reason = None
        if errs:
            codes = "; ".join((e.code or "unknown") + (f" ({clean(e.message)[:160]})" if e.message else "")
                              for e in errs)
            reason = f"OAI-PMH error {codes}"
        elif verb not in ("GetRecord", "ListRecords"):
            reason = f"OAI-PMH {verb or 'empty'} response carries no metadata records"
        if reason:
            yield Rejected(reason=reason, locator="document", raw=data, stage="parse")
            return
    seen = False
    for item in items(root):
        seen = True
        if item.deleted and item.identifier:
            yield Record(source=source, source_record_id=item.identifier, title="", deleted=True,
                         modified=item.datestamp)
        elif item.deleted:
            yield Rejected(reason="deleted record has no identifier", locator=item.locator)
        elif item.metadata is None:
            yield Rejected(reason="record has no metadata", locator=item.locator)
        else:
            try:
                results = list(map_payload(item.metadata, item, source))
            except Exception as exc:  # noqa: BLE001 - one bad record must not abort a harvest
                results = [reject(f"mapping failed: {type(exc).__name__}: {clean(str(exc))[:200]}",
                                  item, item.metadata)]
            yield from results
    if not seen:
        yield Rejected(reason="OAI-PMH response holds no records", locator="document", raw=data,
                       stage="parse")


# ---------------------------------------------------------------- read


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """Records of an OAI-PMH oai_dc page or a bare (oai_)dc document."""
    return walk(data, source=source, map_payload=_map_payload)


def _map_payload(payload: etree._Element, item: OaiItem, source: str) -> Iterator[ReadResult]:
    ns = payload.tag[1:].split("}", 1)[0] if payload.tag.startswith("{") else ""
    if local_name(payload) not in ("dc", "qualifieddc") and ns not in (DC_NS, DCTERMS_NS):
        yield reject(f"metadata format is not Dublin Core: {describe(payload)}", item, payload)
        return
    fields: dict[str, Pairs] = {}
    for child in payload:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        field = _FIELDS.get(name)
        value = text_of(child) if field and ns in _DC_NAMESPACES else ""
        if value:
            fields.setdefault(field, []).append((child.get(XML_LANG) or child.get("lang"), value))
    yield _record(fields, item, source, payload)


def _record(fields: dict[str, Pairs], item: OaiItem, source: str, payload: etree._Element) -> ReadResult:
    def values(name: str) -> list[str]:
        return [v for _, v in fields.get(name, ())]

    raw_ids = values("identifier")
    record_id = item.identifier or next((v for v in raw_ids if not any(c.isspace() for c in v)),
                                        raw_ids[0] if raw_ids else None)
    if not record_id:
        return reject("no identifier (no OAI header identifier, no dc:identifier)", item, payload)
    titles = prefer_zh(fields.get("title", [])) + values("alt")
    if not titles:
        return reject("record has no title", item, payload, record_id)

    url = None
    identifiers: list[Identifier] = []
    for value in raw_ids:
        identifier = identifier_of(value)
        if url is None and _HTTP.match(value):
            url = value  # the landing page; a doi.org URL still counts as a DOI too
            identifier = identifier if identifier and identifier.scheme != "url" else None
        add_unique(identifiers, identifier)
    agents: list[Agent] = []
    for field, role, kind in _AGENT_FIELDS:
        for name in values(field):
            add_unique(agents, Agent(name=name, role=role, kind=kind))
    curriculum, unmapped, keywords, type_hint = _curriculum(values("subject"))
    licence, rights = split_rights(values("rights"))
    resource_type = next((t for t in map(norm.normalise_resource_type, values("type")) if t), None)
    return Record(
        source=source, source_record_id=record_id, url=url, identifiers=identifiers,
        is_based_on=list(dict.fromkeys(v for v in values("relation") if looks_like_identifier(v))),
        title=titles[0], alt_titles=[t for t in dict.fromkeys(titles[1:]) if t != titles[0]],
        description=next(iter(prefer_zh(fields.get("description", []))), None),
        keywords=keywords, language=next(iter(values("language")), None), curriculum=curriculum,
        resource_type=resource_type or (norm.normalise_resource_type(type_hint) if type_hint else None),
        format=next((f.lower() for f in values("format") if _MIME.match(f)), None),
        agents=agents, licence=licence, rights=rights,
        created=next((d for d in map(parse_date, values("date")) if d), None),
        modified=item.datestamp, unmapped=unmapped,
    )


@lru_cache(maxsize=1 << 16)
def _extra_dimension(value: str) -> str | None:
    """The curriculum key a subject classify_terms() leaves over still gives:
    a class hour, a grade band (一至二年级) or a bare school-system marker."""
    if _CLASS_HOUR_ONLY.match(value):
        return "class_hour"
    if norm.grade_band_stage(value):
        return "grade"
    stage, system = norm.normalise_stage(value)
    return "school_system" if system and stage is None else None


def _curriculum(subjects: list[str]) -> tuple[Curriculum, list, list[str], str | None]:
    """Curriculum, unmapped values, keywords and a resource-type hint from dc:subject."""
    chapter = [s[m.end():] for s in subjects if (m := _CHAPTER.match(s))]
    found, leftovers = classify([s for s in subjects if not _CHAPTER.match(s)])
    raw: dict[str, str | list[str]] = {k: v for k, v in found.items() if k in norm.CURRICULUM_KEYS}
    keywords: list[str] = []
    for value in leftovers:
        key = _extra_dimension(value)
        if key and key not in raw:
            raw[key] = value
        else:
            add_unique(keywords, value)
    if chapter:
        raw["chapter"] = chapter
    curriculum, unmapped = norm.build_curriculum(raw) if raw else (Curriculum(), [])
    return curriculum, unmapped, keywords, found.get("resource_type")


# ---------------------------------------------------------------- write

_T = {name: f"{{{DC_NS}}}{name}" for name in (
    "title", "creator", "contributor", "publisher", "subject", "description", "date", "type", "format",
    "identifier", "relation", "language", "rights")}
_NSMAP = {"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
_SCHEMA_LOCATION = f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd"


def school_system_marker(system: str) -> str:
    """The all-Han spelling of a school-system marker (五四学制), from the vocabulary."""
    markers = load_data("stages")["school_system_markers"].get(system, [system])
    return next((m for m in markers if all(_HAN.match(c) for c in m)), markers[0])


def edition_text(curriculum: Curriculum) -> str | None:
    """Edition label, with the chief editor in the form normalise_edition() parses."""
    edition = curriculum.edition
    if edition is None:
        return None
    return edition.label + (f"（主编：{edition.chief_editor}）" if edition.chief_editor else "")


def class_hour_label(hour: int) -> str:
    """第一课时 for 1: the spelling sources use and parse_class_hour() reads."""
    if not 0 < hour < 100:
        return f"第{hour}课时"
    digits = "零一二三四五六七八九"
    tens, units = divmod(hour, 10)
    text = (digits[tens] if tens > 1 else "") + ("十" if tens else "") + (digits[units] if units else "")
    return f"第{text}课时"


def curriculum_subjects(c: Curriculum) -> list[str]:
    """dc:subject labels that _curriculum() maps back onto the same curriculum."""
    system = f"（{school_system_marker(c.school_system)}）" if c.school_system else ""
    out = [c.stage.zh + system if c.stage else system.strip("（）"), c.grade_label or "",
           c.subject.zh if c.subject else "", edition_text(c) or "", c.volume.zh if c.volume else ""]
    out += [CHAPTER_PREFIX + entry for entry in c.chapter_path]
    out.append(class_hour_label(c.class_hour) if c.class_hour else "")
    return [s for s in out if s]


def dcmi_type(code: str) -> str | None:
    entry = vocabulary("resource_types").entries.get(code)
    return DCMI_TYPE.get(entry.get("media", "")) if entry else None


def write(record: Record) -> etree._Element:
    """<oai_dc:dc> for a record, valid against oai_dc.xsd."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap=_NSMAP)
    root.set(f"{{{XSI_NS}}}schemaLocation", _SCHEMA_LOCATION)

    def add(name: str, value: str | None, lang: str | None = None) -> None:
        if value:
            element = etree.SubElement(root, _T[name])
            element.text = xml_text(value)
            if lang:
                element.set(XML_LANG, lang)

    add("title", record.title, lang_tag(record.title, record.language))
    for alt in record.alt_titles:
        add("title", alt)  # untagged, so a zh-preferring reader keeps the main title first
    for agent in record.agents:
        add(_AGENT_ELEMENT.get(agent.role, "contributor"), agent.name)
    for subject in curriculum_subjects(record.curriculum) + record.keywords:
        add("subject", subject)
    if record.description:
        add("description", record.description, lang_tag(record.description, record.language))
    if record.created:
        add("date", utc(record.created).date().isoformat())
    if record.resource_type:
        add("type", record.resource_type.zh or record.resource_type.code)
        add("type", dcmi_type(record.resource_type.code))
    add("format", record.format)
    add("identifier", record.url)
    for identifier in record.identifiers:
        add("identifier", identifier_text(identifier))
    if not record.url and not record.identifiers:
        add("identifier", record.source_record_id)  # a bare document needs something to key on
    for target in record.is_based_on:
        add("relation", target)
    add("language", record.language)
    add("rights", licence_text(record.licence) if record.licence else None)
    add("rights", record.rights)
    return root


__all__ = ["read", "write"]
