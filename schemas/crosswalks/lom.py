"""IEEE LOM in and out.

Reads the IEEE LOM XML binding (http://ltsc.ieee.org/xsd/LOM), the older
IMS MD 1.2.x binding (<langstring>, <catalogentry>, <centity><vcard>) and
profiles of either (OBAA, the German HS-OER profile), bare, inside IMS/SCORM
content-package manifests (every <lom> becomes a record) or inside OAI-PMH.
Names are matched case-insensitively and namespace-agnostically because real
files mix lifeCycle/lifecycle and qualified/unqualified elements.

Writes LOM valid against lomLoose.xsd. The curriculum goes into
classification taxonPaths with source "Huiju curriculum" (stage, school
system, grade under purpose "educational level"; subject, edition, volume
under "discipline") and "Huiju chapter" (chapter path, then class hour).
Taxon ids are "<dimension>:<code>", so our own output reads back exactly;
other sources' taxon entries go through classify_terms(), and a taxonPath
whose source names chapters (chapter, 章节) gives the chapter path.
Values LOMv1.0 lacks (the teacher role, our resource-type label) use the
vocabulary source "Huiju" next to the nearest LOMv1.0 value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache

from lxml import etree

from schemas.crosswalks import ReadResult
from schemas.crosswalks import oai_dc as dc
from schemas.crosswalks.oai_envelope import OaiItem
from schemas.normalise import build_curriculum, normalise_resource_type, normalise_stage
from schemas.record import Agent, Curriculum, Identifier, Record, utc
from schemas.text import clean
from schemas.vocab import vocabulary

LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HUIJU = "Huiju"
CURRICULUM_SOURCE = "Huiju curriculum"
CHAPTER_SOURCE = "Huiju chapter"
DIMENSIONS = ("stage", "school_system", "grade", "subject", "edition", "volume", "class_hour")

_ROLE_IN = {
    "author": "author", "creator": "author", "作者": "author", "teacher": "teacher", "教师": "teacher",
    "publisher": "publisher", "出版者": "publisher", "出版社": "publisher", "content provider": "provider",
    "provider": "provider", "technical implementer": "producer", "producer": "producer",
}
_ROLE_OUT = {
    "author": ("LOMv1.0", "author"), "publisher": ("LOMv1.0", "publisher"),
    "provider": ("LOMv1.0", "content provider"), "producer": ("LOMv1.0", "technical implementer"),
    "contributor": ("LOMv1.0", "unknown"), "teacher": (HUIJU, "teacher"),
}
_CATALOG_SCHEME = {k: k for k in ("isbn", "doi", "oai", "smartedu", "md5", "local")}
_SCHEME_CATALOG = {"isbn": "ISBN", "doi": "DOI", "url": "URI"}
_MIME = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9.+_-]*$", re.I)
_HTTP = re.compile(r"^https?://", re.I)
_ISO_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")
_CHAPTER_SOURCE = re.compile(r"chapter|章节", re.I)
_VCARD_ESCAPE = re.compile(r"\\(.)")
_VCARD_SPLIT = re.compile(r"(?<!\\);")

Index = dict[str, list[etree._Element]]

# ---------------------------------------------------------------- element access

_NAMES: dict[object, str] = {}


def _name(element: etree._Element) -> str:
    """Lower-cased local name, memoised per tag (documents use few tags)."""
    tag = element.tag
    name = _NAMES.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""
        if len(_NAMES) < 4096:
            _NAMES[tag] = name
    return name


def _index(element: etree._Element | None) -> Index:
    """Children by lower-cased local name: one pass instead of one per field."""
    out: Index = {}
    known = _NAMES.get
    for child in element if element is not None else ():
        out.setdefault(known(child.tag) or _name(child), []).append(child)
    return out


def _first(index: Index, name: str) -> etree._Element | None:
    found = index.get(name)
    return found[0] if found else None


def _kids(element: etree._Element | None, *names: str) -> list[etree._Element]:
    if element is None:
        return []
    known = _NAMES.get
    return [c for c in element if (known(c.tag) or _name(c)) in names]


def _kid(element: etree._Element | None, *names: str) -> etree._Element | None:
    """The first child with one of the names (no list built: most lookups stop early)."""
    if element is not None:
        known = _NAMES.get
        for child in element:
            if (known(child.tag) or _name(child)) in names:
                return child
    return None


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return clean("".join(element.itertext()) if len(element) else element.text)


def _strings(element: etree._Element | None) -> dc.Pairs:
    """(language, text) of a LangString in either binding, or of plain text (one pass over the children)."""
    if element is None:
        return []
    pairs: dc.Pairs = []
    parts = False
    known = _NAMES.get
    for child in element:
        if (known(child.tag) or _name(child)) in ("string", "langstring"):
            parts = True
            text = clean("".join(child.itertext()) if len(child) else child.text)
            if text:
                pairs.append((child.get("language") or child.get(XML_LANG), text))
    if not parts:
        text = _text(element)
        return [(None, text)] if text else []
    return pairs


def _best(element: etree._Element | None) -> str:
    """The first zh-tagged string, else the first string: dc.prefer_zh(_strings(element))[0], in one pass."""
    first = ""
    for lang, text in _strings(element):
        if lang and lang.lower().startswith("zh"):
            return text
        first = first or text
    return first


def _vocab(element: etree._Element | None) -> tuple[str, str]:
    """(source, value) of a vocabulary element: <source>/<value> in either
    binding, HS-OER <entry>/<id>, or a bare text value."""
    if element is None:
        return "", ""
    value = source = ident = None
    for child in element:  # one pass for the first <value>/<entry>, <id> and <source>
        name = _NAMES.get(child.tag) or _name(child)
        if name in ("value", "entry"):
            value = child if value is None else value
        elif name == "id":
            ident = child if ident is None else ident
        elif name == "source":
            source = child if source is None else source
    if value is not None:
        text = _best(value)
    elif ident is not None:
        text = _text(ident)
    else:
        text = "" if len(element) else _text(element)
    return _best(source), text


def _identifier(element: etree._Element) -> tuple[str, str]:
    """(catalog, entry) of identifier/catalogentry, or ("", text) when plain."""
    entry = _kid(element, "entry")
    if entry is None:
        return "", _text(element)
    strings = _strings(entry)
    return _text(_kid(element, "catalog")), (strings[0][1] if strings else "")


# ---------------------------------------------------------------- read


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """Records of LOM / IMS MD documents, content-package manifests or OAI-PMH pages."""
    return dc.walk(data, source=source, map_payload=_map_payload)


def _map_payload(payload: etree._Element, item: OaiItem, source: str) -> Iterator[ReadResult]:
    if _name(payload) in ("lom", "obaa"):
        loms = [payload]
    else:
        loms = [e for e in payload.iter("{*}lom") if e is not payload]
    if not loms:
        yield dc.reject(f"no LOM record in payload {dc.describe(payload)}", item, payload)
    for number, lom in enumerate(loms, start=1):
        if len(loms) == 1:
            yield _record(lom, item, item.identifier, source, item.locator)
        else:  # one OAI identifier cannot name several records
            yield _record(lom, item, None, source, f"{item.locator}, lom {number}")


def _record(lom: etree._Element, item: OaiItem, oai_id: str | None, source: str, locator: str) -> ReadResult:
    alive = list(lom.iter())  # noqa: F841 - lxml reuses live proxies: each element's is made once, not per lookup
    top = _index(lom)
    gen, tech, edu = (_index(_first(top, n)) for n in ("general", "technical", "educational"))
    ids = [_identifier(c) for c in gen.get("identifier", []) + gen.get("catalogentry", [])]
    ids = [(catalog, entry) for catalog, entry in ids if entry]
    locations = [loc for loc in map(_text, tech.get("location", ())) if loc]
    record_id = oai_id
    if record_id is None and ids:
        record_id = ids[0][1]
        # The record's own id is not another identifier, unless it is a public one.
        ids = ids if _scheme(*ids[0]) in ("isbn", "doi", "url") else ids[1:]
    elif record_id is None and locations:
        record_id = locations[0]
    if not record_id:
        return dc.reject("no identifier (no OAI identifier, general.identifier or technical.location)",
                         item, lom, locator)
    titles = dc.prefer_zh([s for t in gen.get("title", ()) for s in _strings(t)])
    if not titles:
        return dc.reject("record has no title", item, lom, locator)

    identifiers: list[Identifier] = []
    for catalog, entry in ids:
        dc.add_unique(identifiers, Identifier(_scheme(catalog, entry), _entry_value(catalog, entry)))
    agents, created = _lifecycle(_first(top, "lifecycle"))
    types = sorted((_vocab(c) for c in edu.get("learningresourcetype", ())), key=lambda sv: sv[0] != HUIJU)
    contexts = [_vocab(c)[1] for c in edu.get("context", ())]
    classifications = top.get("classification", [])
    curriculum, unmapped, spare, type_hint = _classification(classifications, contexts)
    descriptions = [d for r in top.get("rights", ()) for d in _kids(r, "description")]
    licence, rights = dc.split_rights([t for d in descriptions for _, t in _strings(d)])
    keywords: list[str] = []
    for element in gen.get("keyword", []) + [k for c in classifications for k in _kids(c, "keyword")]:
        for _, text in _strings(element):
            dc.add_unique(keywords, text)
    for text in spare:
        dc.add_unique(keywords, text)
    resource_type = next((t for t in (normalise_resource_type(v) for _, v in types) if t), None)
    size = _text(_first(tech, "size"))
    return Record(
        source=source, source_record_id=record_id, url=next((u for u in locations if _HTTP.match(u)), None),
        identifiers=identifiers, is_based_on=_relations(top.get("relation", [])),
        title=titles[0], alt_titles=[t for t in dict.fromkeys(titles[1:]) if t != titles[0]],
        description=next((d for d in map(_best, gen.get("description", ())) if d), None),
        keywords=keywords, language=next((t for t in map(_text, gen.get("language", ())) if t), None),
        curriculum=curriculum,
        resource_type=resource_type or (normalise_resource_type(type_hint) if type_hint else None),
        format=next((f.lower() for f in map(_text, tech.get("format", ())) if _MIME.match(f)), None),
        size=int(size) if size.isascii() and size.isdigit() else None,
        duration=_duration(_first(tech, "duration")),
        agents=agents, licence=licence, rights=rights, created=created, modified=item.datestamp,
        unmapped=unmapped,
    )


def _scheme(catalog: str, entry: str) -> str:
    key = catalog.lower()
    if key in _CATALOG_SCHEME:
        return _CATALOG_SCHEME[key]
    if key in ("uri", "url") and _HTTP.match(entry):
        return "url"
    guessed = dc.identifier_of(entry) if not key else None  # IMS MD 1.2 plain identifiers
    return guessed.scheme if guessed and guessed.scheme in ("isbn", "doi") else "other"


def _entry_value(catalog: str, entry: str) -> str:
    """Entry in canonical form (ISBN digits, bare DOI) where the scheme has one."""
    guessed = dc.identifier_of(entry) if catalog.lower() in ("isbn", "doi", "") else None
    return guessed.value if guessed and guessed.scheme == _scheme(catalog, entry) else entry


def _lifecycle(lifecycle: etree._Element | None) -> tuple[list[Agent], datetime | None]:
    """Agents of lifeCycle.contribute, and the creation date: the first
    author's date, else the first date given. (metaMetadata contributors
    describe the metadata, not the resource, and are not read.)"""
    agents: list[Agent] = []
    author_date = any_date = None
    for contribute in _kids(lifecycle, "contribute"):
        parts = _index(contribute)
        role = _ROLE_IN.get(_vocab(_first(parts, "role"))[1].lower(), "contributor")
        vcards = [v for c in parts.get("centity", ()) for v in _kids(c, "vcard")]  # IMS MD 1.2
        for entity in parts.get("entity", []) + vcards:
            dc.add_unique(agents, _agent("".join(entity.itertext()), role))
        date_element = _first(parts, "date")
        inner = _kid(date_element, "datetime")
        date = dc.parse_date(_text(inner if inner is not None else date_element))
        any_date = any_date or date
        author_date = author_date or (date if role == "author" else None)
    return agents, author_date or any_date


@lru_cache(maxsize=4096)
def _agent(text: str, role: str) -> Agent | None:
    """Agent from a vCard (FN, N, ORG, TITLE, KIND) or from a plain name."""
    if "BEGIN:VCARD" not in text.upper():
        name = clean(text)
        kind = "organization" if role == "publisher" else "person"
        return Agent(name=name, role=role, kind=kind) if name else None
    props: dict[str, str] = {}
    last = ""
    for line in (raw.strip() for raw in text.splitlines()):
        key, sep, value = line.partition(":")
        if sep and " " not in key:
            last = key.split(";", 1)[0].rsplit(".", 1)[-1].upper()
            props.setdefault(last, value)
        elif last:  # folded continuation (profiles indent every line, so no leading-space test)
            props[last] += line

    def unescape(value: str) -> str:
        return clean(_VCARD_ESCAPE.sub(lambda m: " " if m.group(1) in "nN" else m.group(1), value))

    fn = unescape(props.get("FN", ""))
    org = unescape(_VCARD_SPLIT.split(props.get("ORG", ""), maxsplit=1)[0])
    if not fn and props.get("N"):
        family, given = ([*_VCARD_SPLIT.split(props["N"]), ""])[:2]
        fn = unescape(family + given if re.search("[\u3400-\u9fff]", family) else f"{given} {family}")
    if (props.get("KIND") or props.get("X-KIND") or "").strip().lower() in ("org", "organization") or (
            org and fn in ("", org)):
        return Agent(name=org or fn, role=role, kind="organization") if org or fn else None
    if not fn:
        return None
    return Agent(name=fn, role=role, kind="person", school=org, title=unescape(props.get("TITLE", "")))


def _duration(element: etree._Element | None) -> str | None:
    """ISO 8601 duration from <duration><duration>, or <datetime> hh:mm:ss."""
    if element is None:
        return None
    inner = _kid(element, "duration", "datetime")
    text = _text(inner if inner is not None else element).upper()
    if _ISO_DURATION.match(text):
        return text
    m = _CLOCK.match(text)
    if not m:
        return None
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return "PT" + (f"{h}H" if h else "") + (f"{mi}M" if mi else "") + (f"{s}S" if s or not (h or mi) else "")


def _relations(relations: list[etree._Element]) -> list[str]:
    """Targets of isbasedon / isversionof relations (derivations, not parts)."""
    targets: list[str] = []
    for relation in relations:
        if _vocab(_kid(relation, "kind"))[1].lower().replace(" ", "") in ("isbasedon", "isversionof"):
            for identifier in _kids(_kid(relation, "resource"), "identifier", "catalogentry"):
                dc.add_unique(targets, _identifier(identifier)[1])
    return targets


def _taxon(taxon: etree._Element) -> tuple[str, str]:
    """(id, best entry) of a taxon: its first <id> and first <entry>, found in one pass."""
    ident = entry = None
    for child in taxon:
        name = _NAMES.get(child.tag) or _name(child)
        if name == "id" and ident is None:
            ident = child
        elif name == "entry" and entry is None:
            entry = child
    return _text(ident), _best(entry)


def _classification(classifications: list[etree._Element],
                    contexts: list[str]) -> tuple[Curriculum, list, list[str], str | None]:
    """Curriculum from taxonPaths (ours by taxon id, chapter paths by source
    name, the rest through classify_terms), unmapped values, unclassified
    taxon labels (kept as keywords) and a resource-type hint."""
    raw: dict[str, str | list[str]] = {}
    chapter: list[str] = []
    loose: list[str] = []
    for path in (p for c in classifications for p in _kids(c, "taxonpath")):
        source = " ".join(t for _, t in _strings(_kid(path, "source")))
        for taxon in _kids(path, "taxon"):
            tid, entry = _taxon(taxon)
            dimension, _, code = tid.partition(":")
            if source.startswith(HUIJU) and dimension == "chapter":
                chapter.append(entry)
            elif source.startswith(HUIJU) and dimension in DIMENSIONS:
                raw.setdefault(dimension, entry or code)
            elif entry and _CHAPTER_SOURCE.search(source):
                chapter.append(entry)
            elif entry:
                loose.append(entry)
    found, spare = dc.classify(loose)
    for key, value in found.items():
        if key != "resource_type":
            raw.setdefault(key, value)
    stage = next((c for c in contexts if normalise_stage(c)[0]), None)
    if stage and "stage" not in raw:
        raw["stage"] = stage
    if chapter:
        raw["chapter"] = chapter
    curriculum, unmapped = build_curriculum(raw) if raw else (Curriculum(), [])
    return curriculum, unmapped, spare, found.get("resource_type")


# ---------------------------------------------------------------- write


def _el(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{LOM_NS}}}{name}")
    if text is not None:
        element.text = dc.xml_text(text)
    return element


def _langstring(parent: etree._Element, name: str, strings: list[tuple[str, str | None]]) -> None:
    strings = [(text, lang) for text, lang in strings if text]
    if strings:
        holder = _el(parent, name)
        for text, lang in strings:
            string = _el(holder, "string", text)
            if lang:
                string.set("language", lang)


def _vocab_el(parent: etree._Element, name: str, source: str, value: str) -> None:
    holder = _el(parent, name)
    _el(holder, "source", source)
    _el(holder, "value", value)


def _lom_date(value: datetime) -> str:
    """LOM DateTime; the binding's pattern allows a zone only after fractional seconds."""
    value = utc(value)
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    return value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond // 1000:03d}Z"


def _vcard(agent: Agent) -> str:
    def esc(value: str) -> str:
        value = dc.xml_text(value).replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
        return value.replace("\r", " ").replace("\n", "\\n")

    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{esc(agent.name)}"]
    if agent.kind == "organization":
        lines += [f"ORG:{esc(agent.name)}", "X-KIND:org"]
    else:
        lines.append(f"N:{esc(agent.name)};;;;")
        lines += [f"ORG:{esc(agent.school)}"] if agent.school else []
        lines += [f"TITLE:{esc(agent.title)}"] if agent.title else []
    return "\n".join([*lines, "END:VCARD"])


def _write_curriculum(root: etree._Element, c: Curriculum) -> None:
    level = [("stage:" + c.stage.code, c.stage.zh)] if c.stage else []
    if c.school_system:
        level.append(("school_system:" + c.school_system, dc.school_system_marker(c.school_system)))
    if c.grade_label:
        level.append((f"grade:{c.grade or ''}", c.grade_label))
    discipline = [("subject:" + c.subject.code, c.subject.zh)] if c.subject else []
    if c.edition:
        discipline.append(("edition:" + c.edition.code, dc.edition_text(c) or c.edition.label))
    if c.volume:
        discipline.append(("volume:" + c.volume.code, c.volume.zh))
    chapter = [(f"chapter:{i}", entry) for i, entry in enumerate(c.chapter_path, start=1)]
    if c.class_hour:
        chapter.append((f"class_hour:{c.class_hour}", dc.class_hour_label(c.class_hour)))
    for purpose, paths in (("educational level", [(CURRICULUM_SOURCE, level)]),
                           ("discipline", [(CURRICULUM_SOURCE, discipline), (CHAPTER_SOURCE, chapter)])):
        paths = [(source, taxa) for source, taxa in paths if taxa]
        if not paths:
            continue
        classification = _el(root, "classification")
        _vocab_el(classification, "purpose", "LOMv1.0", purpose)
        for source, taxa in paths:
            path = _el(classification, "taxonPath")
            _langstring(path, "source", [(source, "en")])
            for tid, entry in taxa:
                taxon = _el(path, "taxon")
                _el(taxon, "id", tid)
                _langstring(taxon, "entry", [(entry, dc.lang_tag(entry, None))])


def write(record: Record) -> etree._Element:
    """<lom> for a record, valid against lomLoose.xsd."""
    root = etree.Element(f"{{{LOM_NS}}}lom", nsmap={None: LOM_NS})
    lang = record.language
    general = _el(root, "general")
    for catalog, entry in [(record.source, record.source_record_id)] + [
            (_SCHEME_CATALOG.get(i.scheme, i.scheme), i.value) for i in record.identifiers]:
        identifier = _el(general, "identifier")
        _el(identifier, "catalog", catalog)
        _el(identifier, "entry", entry)
    # Alt titles go untagged, so a zh-preferring reader keeps the main title first.
    titles = [(record.title, dc.lang_tag(record.title, lang))] + [(t, None) for t in record.alt_titles]
    _langstring(general, "title", titles)
    if dc.valid_lang(lang):
        _el(general, "language", dc.valid_lang(lang))
    if record.description:
        _langstring(general, "description", [(record.description, dc.lang_tag(record.description, lang))])
    for keyword in record.keywords:
        _langstring(general, "keyword", [(keyword, dc.lang_tag(keyword, lang))])

    if record.agents or record.created:
        lifecycle = _el(root, "lifeCycle")
        dated = next((i for i, a in enumerate(record.agents) if a.role == "author"), 0)
        for i, agent in enumerate(record.agents or [None]):
            contribute = _el(lifecycle, "contribute")
            if agent is not None:
                _vocab_el(contribute, "role", *_ROLE_OUT.get(agent.role, _ROLE_OUT["contributor"]))
                _el(contribute, "entity", _vcard(agent))
            if record.created and i == dated:
                _el(_el(contribute, "date"), "dateTime", _lom_date(record.created))
    _el(_el(root, "metaMetadata"), "metadataSchema", "LOMv1.0")

    if record.format or record.size is not None or record.url or record.duration:
        technical = _el(root, "technical")
        if record.format:
            _el(technical, "format", record.format)
        if record.size is not None and record.size >= 0:
            _el(technical, "size", str(record.size))
        if record.url:
            _el(technical, "location", record.url)
        if record.duration and _ISO_DURATION.match(record.duration):
            _el(_el(technical, "duration"), "duration", record.duration)

    if record.resource_type or record.curriculum.stage:
        educational = _el(root, "educational")
        if record.resource_type:
            entry = vocabulary("resource_types").entries.get(record.resource_type.code, {})
            label = record.resource_type.zh or record.resource_type.code
            _vocab_el(educational, "learningResourceType", HUIJU, label)
            if entry.get("lom"):
                _vocab_el(educational, "learningResourceType", "LOMv1.0", entry["lom"])
        if record.curriculum.stage:
            _vocab_el(educational, "context", "LOMv1.0", "school")

    if record.licence or record.rights:
        rights = _el(root, "rights")
        free = record.licence in ("CC0-1.0", "public-domain") and not record.rights
        _vocab_el(rights, "copyrightAndOtherRestrictions", "LOMv1.0", "no" if free else "yes")
        strings = [(dc.licence_text(record.licence), None)] if record.licence else []
        if record.rights:
            strings.append((record.rights, dc.lang_tag(record.rights, lang)))
        _langstring(rights, "description", strings)

    for target in record.is_based_on:
        relation = _el(root, "relation")
        _vocab_el(relation, "kind", "LOMv1.0", "isbasedon")
        resource_id = _el(_el(relation, "resource"), "identifier")
        _el(resource_id, "catalog", "URI" if _HTTP.match(target) else "other")
        _el(resource_id, "entry", target)

    _write_curriculum(root, record.curriculum)
    return root


__all__ = ["read", "write"]
