"""schema.org / LRMI / Dublin Core nodes → Record, shared by the lrmi and rdf readers.

A *node* is a plain dict: "@id" (str or None), "@type" (schema.org local
names) and property local names → lists of `Lit` (a str with a language
tag) or nested nodes. The lrmi reader builds nodes from JSON-LD, extruct
output and LRMI-XML; the rdf reader from an rdflib graph. Mapping lives here
once so both formats agree on every field.

lrmi_jsonld.Reader turns JSON-LD into nodes by term names: nothing is fetched.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from schemas.crosswalks import Rejected
from schemas.normalise import build_curriculum, classify_terms, normalise_licence, normalise_resource_type
from schemas.record import Agent, Identifier, Record, Unmapped, utc
from schemas.text import clean, fold

Node = dict[str, Any]

SCHEMA_NS = ("http://schema.org/", "https://schema.org/")
LOCAL_NS = SCHEMA_NS + (
    "http://purl.org/dcx/lrmi-terms/",
    "http://lrmi.net/the-specification#",
    "http://www.w3.org/2004/02/skos/core#",
    "http://purl.org/dc/dcmitype/",
)
DC_NS = ("http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/")
DC_TERMS = {
    "title": "name",
    "alternative": "alternateName",
    "description": "description",
    "abstract": "description",
    "subject": "about",
    "creator": "creator",
    "publisher": "publisher",
    "contributor": "contributor",
    "date": "date",
    "created": "dateCreated",
    "issued": "datePublished",
    "modified": "dateModified",
    "language": "inLanguage",
    "rights": "copyrightNotice",
    "license": "license",
    "identifier": "identifier",
    "source": "isBasedOn",
    "relation": "isBasedOn",
    "isVersionOf": "isBasedOn",
    "educationLevel": "educationalLevel",
    "audience": "audience",
    "type": "learningResourceType",
    "format": "encodingFormat",
}
OTHER_TERMS = {"http://xmlns.com/foaf/0.1/name": "name", "http://www.w3.org/2000/01/rdf-schema#label": "name"}

RESOURCE_TYPES = frozenset(
    """LearningResource CreativeWork Course Quiz Syllabus VideoObject AudioObject MediaObject ImageObject
    Book Chapter Article DigitalDocument PresentationDigitalDocument TextDigitalDocument
    SpreadsheetDigitalDocument Clip Movie SoftwareApplication HowTo Guide
    Text MovingImage Sound InteractiveResource Image StillImage""".split()
)
EDU_PROPS = frozenset(
    """learningResourceType educationalAlignment educationalLevel teaches assesses typicalAgeRange
    educationalUse timeRequired interactivityType competencyRequired educationalRole""".split()
)
ORG_TYPES = frozenset(
    """Organization EducationalOrganization School CollegeOrUniversity HighSchool MiddleSchool
    ElementarySchool Preschool GovernmentOrganization Corporation NGO Library""".split()
)
IDENTIFIER_SCHEMES = frozenset({"smartedu", "oai", "isbn", "url", "doi", "md5", "local", "other"})
TITLE_MAX, DESCRIPTION_MAX, TEXT_MAX = 1_000, 20_000, 1_000
MAX_DEPTH = 6
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b|bytes?)?\s*$", re.I)
_KEYWORD_SPLIT = re.compile(r"[,，;；]")
_FRAMEWORKS = {
    "学段": "stage",
    "年级": "grade",
    "学科": "subject",
    "教材版本": "edition",
    "册次": "volume",
    "课时": "class_hour",
}
_ALIGNMENT_TYPES = {"textbookedition": "edition", "textbookvolume": "volume", "classhour": "class_hour"}
_ROLES = (
    ("author", "author"),
    ("creator", "author"),
    ("contributor", "contributor"),
    ("publisher", "publisher"),
    ("provider", "provider"),
    ("producer", "producer"),
)


class Lit(str):
    """A literal with its language tag (None when untagged)."""

    lang: str | None = None


def lit(value: str, lang: str | None = None) -> Lit:
    out = Lit(value)
    out.lang = lang if isinstance(lang, str) else None
    return out


def term_key(iri: str) -> str | None:
    """Local schema.org name for a property or class IRI we map, else None."""
    for ns in LOCAL_NS:
        if iri.startswith(ns):
            return iri[len(ns) :] or None
    for ns in DC_NS:
        if iri.startswith(ns):
            return DC_TERMS.get(iri[len(ns) :])
    return OTHER_TERMS.get(iri)


def is_blank(ident: str | None) -> bool:
    return not ident or ident.startswith("_:")


# ---------------------------------------------------------------- mapping


def _rank(value: Lit) -> int:
    lang = (value.lang or "").lower()
    return 0 if lang.startswith("zh") else 1 if not lang else 2 if lang.startswith("en") else 3


def _prefer(values: list[Lit]) -> list[Lit]:
    return sorted(values, key=_rank)


def node_label(value: Any) -> Lit | None:
    """Text of a literal, or the best label of a node (name, prefLabel, targetName …).

    A node with only an IRI has no label: an IRI is not a keyword or a subject."""
    if isinstance(value, Lit):
        return value
    for key in ("name", "prefLabel", "targetName", "termCode", "alternateName", "value"):
        found = [v for v in value.get(key, ()) if isinstance(v, Lit) and v.strip()]
        if found:
            return _prefer(found)[0]
    return None


def _texts(node: Node, *keys: str, limit: int | None = TEXT_MAX) -> list[Lit]:
    """Cleaned labels of the values, cut at limit (the title cut is noted by the caller)."""
    out = []
    for key in keys:
        for value in node.get(key, ()):
            text = node_label(value)
            if text is not None and clean(text):
                out.append(lit(clean(text)[:limit], text.lang))
    return out


def _iri(value: Any) -> str | None:
    if isinstance(value, Lit):
        return clean(value) or None
    if not is_blank(value.get("@id")):
        return value["@id"]
    for key in ("url", "contentUrl"):
        for v in value.get(key, ()):
            found = _iri(v)
            if found:
                return found
    return None


def _iris(node: Node, *keys: str) -> list[str]:
    out: list[str] = []
    for key in keys:
        for value in node.get(key, ()):
            found = _iri(value) or (node_label(value) if not isinstance(value, Lit) else None)
            if found and found not in out:
                out.append(clean(found)[:TEXT_MAX])
    return out


def _cap(text: str, limit: int, field: str, unmapped: list[Unmapped]) -> str:
    if len(text) <= limit:
        return text
    unmapped.append(Unmapped(field, f"truncated from {len(text)} to {limit} characters"))
    return text[: limit - 1] + "…"


def parse_date(text: str) -> datetime | None:
    """ISO 8601 date or date-time (YYYY, YYYY-MM allowed) as aware UTC."""
    t = text.strip()
    if re.fullmatch(r"\d{4}", t):
        t += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", t):
        t += "-01"
    try:
        return utc(datetime.fromisoformat(t[:-1] + "+00:00" if t.endswith(("Z", "z")) else t))
    except ValueError:
        return None


def _scheme(value: str) -> str:
    low = value.lower()
    if low.startswith(("http://", "https://")):
        return "url"
    if low.startswith("doi:") or re.match(r"10\.\d{4,}/", low):
        return "doi"
    if low.startswith("oai:"):
        return "oai"
    if low.startswith("urn:isbn:") or re.fullmatch(r"(97[89])?\d{9}[\dx]", low.replace("-", "")):
        return "isbn"
    return "local"


def _identifiers(node: Node) -> list[Identifier]:
    out: list[Identifier] = []
    for value in node.get("identifier", ()):
        if isinstance(value, Lit):
            ident = Identifier(scheme=_scheme(value), value=clean(value)) if clean(value) else None
        else:
            raw = next((clean(v) for v in value.get("value", ()) if isinstance(v, Lit) and clean(v)), None)
            scheme = fold(next((v for v in value.get("propertyID", ()) if isinstance(v, Lit)), ""))
            ident = (
                Identifier(scheme=scheme if scheme in IDENTIFIER_SCHEMES else "other", value=raw)
                if raw
                else None
            )
        if ident and ident not in out:
            out.append(ident)
    return out


def _agents(node: Node) -> list[Agent]:
    out: list[Agent] = []
    for prop, role in _ROLES:
        for value in node.get(prop, ()):
            default_kind = "organization" if prop in ("publisher", "provider") else "person"
            if isinstance(value, Lit):
                agent = Agent(name=clean(value)[:TEXT_MAX], role=role, kind=default_kind)
            else:
                name = node_label(value) if value.get("name") or value.get("prefLabel") else None
                if not name:
                    parts = [
                        clean(v)
                        for k in ("givenName", "familyName")
                        for v in value.get(k, ())
                        if isinstance(v, Lit)
                    ]
                    name = lit(" ".join(p for p in parts if p))
                types = set(value["@type"])
                kind = (
                    "organization" if types & ORG_TYPES else "person" if "Person" in types else default_kind
                )
                jobs = {fold(t) for t in _texts(value, "hasOccupation")}
                school = next(iter(_texts(value, "affiliation", "worksFor")), "")
                title = next(iter(_texts(value, "jobTitle")), "")
                agent = Agent(
                    name=clean(name)[:TEXT_MAX],
                    role="teacher" if jobs & {"教师", "teacher"} else role,
                    kind=kind,
                    school=str(school),
                    title=str(title),
                )
            if agent.name and agent not in out:
                out.append(agent)
    return out


def _curriculum(node: Node, keywords: list[str], unmapped: list[Unmapped]) -> tuple[Any, Any]:
    explicit: dict[str, Any] = {}
    levels, subjects = _texts(node, "educationalLevel"), []
    for value in node.get("educationalAlignment", ()):
        if isinstance(value, Lit):
            continue
        target = next(iter(_texts(value, "targetName", "name")), None)
        kind = fold(next(iter(_texts(value, "alignmentType")), "")).replace("_", "")
        frame = _FRAMEWORKS.get(clean(next(iter(_texts(value, "educationalFramework")), "")))
        subjects += _texts(value, "educationalSubject")  # LRMI-XML (aoe.fi) puts the subject inside
        if not target:
            continue
        dimension = frame or _ALIGNMENT_TYPES.get(kind)
        if dimension:
            explicit.setdefault(dimension, target)
        elif kind == "educationallevel":
            levels.append(target)
        elif kind == "educationalsubject":
            subjects.append(target)
    audience = [
        t
        for v in node.get("audience", ())
        for t in ([v] if isinstance(v, Lit) else _texts(v, "educationalLevel", "audienceType", "name"))
    ]
    levels = [t for t in levels if t not in explicit.values()]
    raw: dict[str, Any] = dict(explicit)
    found_level, left_level = classify_terms(levels)
    found_subject, left_subject = classify_terms(subjects)
    found_about, left_about = classify_terms(_texts(node, "about"))
    found_audience, _ = classify_terms(audience)
    for found in (found_level, found_subject, found_about, found_audience):
        for key, value in found.items():
            raw.setdefault(key, value)
    unmapped += [Unmapped("educationalLevel", v) for v in left_level]
    unmapped += [Unmapped("educationalSubject", v) for v in left_subject]
    keywords += [v for v in left_about if v not in keywords]
    resource_type = raw.pop("resource_type", None)
    chapters = [str(t) for t in _texts(node, "teaches")]
    if chapters:
        raw["chapter"] = chapters
    curriculum, missing = build_curriculum(raw)
    unmapped += missing
    return curriculum, resource_type


def _resource_type(node: Node, fallback: str | None, unmapped: list[Unmapped]) -> Any:
    candidates: list[str] = []
    for value in node.get("learningResourceType", ()):
        if isinstance(value, Lit):
            candidates.append(value)
        else:
            candidates += [str(t) for t in _texts(value, "name", "prefLabel", "termCode")]
            if not is_blank(value.get("@id")):
                candidates.append(re.split(r"[/#]", value["@id"].rstrip("/"))[-1])
    for text in candidates + [t for t in node["@type"] if t not in ("LearningResource", "CreativeWork")]:
        term = normalise_resource_type(text)
        if term:
            return term
    if fallback:
        return normalise_resource_type(fallback)
    if candidates:
        unmapped.append(Unmapped("learningResourceType", clean(candidates[0])[:TEXT_MAX]))
    return None


def _size(text: str) -> int | None:
    m = _SIZE.match(text)
    if not m:
        return None
    unit = (m.group(2) or "b").lower().rstrip("s").replace("byte", "b")
    factor = {
        "b": 1,
        "kb": 1000,
        "mb": 1000**2,
        "gb": 1000**3,
        "tb": 1000**4,
        "kib": 1024,
        "mib": 1024**2,
        "gib": 1024**3,
        "tib": 1024**4,
    }.get(unit, 1)
    return int(float(m.group(1)) * factor)


def record_from_node(node: Node, *, source: str, locator: str) -> Record | Rejected:
    """Map one schema.org / LRMI / DC node; Rejected when it has no title or identifier."""
    unmapped: list[Unmapped] = []
    names = _prefer(_texts(node, "name", "headline", limit=None))
    if not names:
        return Rejected(reason="no name/title", locator=locator)
    ident = node.get("@id") if not is_blank(node.get("@id")) else None
    urls = _iris(node, "url")
    url = urls[0] if urls else ident if ident and ident.startswith(("http://", "https://")) else None
    identifiers = _identifiers(node)
    source_record_id = ident or url or (identifiers[0].value if identifiers else None)
    if not source_record_id:
        return Rejected(reason="no identifier", locator=locator)

    title = _cap(str(names[0]), TITLE_MAX, "title", unmapped)
    alt_titles: list[str] = []
    for name in names[1:] + _texts(node, "alternateName"):
        alt = _cap(str(name), TITLE_MAX, "alt_titles", unmapped)
        if alt != title and alt not in alt_titles:
            alt_titles.append(alt)
    descriptions = _prefer(
        [lit(clean(v), v.lang) for v in node.get("description", ()) if isinstance(v, Lit) and clean(v)]
    )
    description = (
        _cap(str(descriptions[0]), DESCRIPTION_MAX, "description", unmapped) if descriptions else None
    )
    keywords: list[str] = []
    for value in node.get("keywords", ()):
        text = node_label(value)
        parts = (
            _KEYWORD_SPLIT.split(text)
            if isinstance(value, Lit) and len(node["keywords"]) == 1
            else [text or ""]
        )
        keywords += [clean(p)[:TEXT_MAX] for p in parts if clean(p) and clean(p)[:TEXT_MAX] not in keywords]
    languages = _texts(node, "inLanguage")
    language = str(languages[0]) if languages else names[0].lang

    curriculum, type_text = _curriculum(node, keywords, unmapped)
    resource_type = _resource_type(node, type_text, unmapped)

    licence, rights = None, None
    for value in node.get("license", []) + node.get("useRightsUrl", []):
        raw = _iri(value) if not isinstance(value, Lit) else clean(value)
        code = normalise_licence(raw)
        if code or (raw and raw.startswith(("http://", "https://"))):
            licence = licence or code or raw
        elif raw:
            rights = rights or raw[:TEXT_MAX]
    notices = _texts(node, "copyrightNotice")
    rights = str(notices[0]) if notices else rights

    dates: dict[str, datetime | None] = {}
    for key in ("dateCreated", "datePublished", "date", "dateModified"):
        for text in _texts(node, key)[:1]:
            dates[key] = parse_date(text)
            if dates[key] is None:
                unmapped.append(Unmapped(key, str(text)))
    created = dates.get("dateCreated") or dates.get("datePublished") or dates.get("date")

    duration = None
    for text in _texts(node, "duration", "timeRequired")[:1]:
        if _ISO_DURATION.match(text):
            duration = str(text)
        else:
            unmapped.append(Unmapped("timeRequired", str(text)))
    encodings = [
        v for v in node.get("encoding", []) + node.get("associatedMedia", []) if not isinstance(v, Lit)
    ]
    formats = [t for t in _texts(node, "encodingFormat") if "/" in t] or [
        t for e in encodings for t in _texts(e, "encodingFormat") if "/" in t
    ]
    sizes = [
        s
        for t in _texts(node, "contentSize") + [t for e in encodings for t in _texts(e, "contentSize")]
        if (s := _size(t)) is not None
    ]

    return Record(
        source=source,
        source_record_id=source_record_id[:TEXT_MAX],
        url=url,
        identifiers=identifiers,
        is_based_on=_iris(node, "isBasedOn", "isBasedOnUrl"),
        title=title,
        alt_titles=alt_titles,
        description=description,
        keywords=keywords,
        language=language,
        curriculum=curriculum,
        resource_type=resource_type,
        format=str(formats[0]) if formats else None,
        size=sizes[0] if sizes else None,
        duration=duration,
        thumbnails=_iris(node, "thumbnailUrl", "image"),
        agents=_agents(node),
        licence=licence,
        rights=rights,
        created=created,
        modified=dates.get("dateModified"),
        unmapped=unmapped,
    )
