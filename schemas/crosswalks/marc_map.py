"""pymarc.Record ⇄ Record: the one MARC 21 mapping behind the binary, JSON,
line-based and MARCXML crosswalks, so every MARC serialisation maps alike.

Reading is tolerant (ISBD punctuation, mojibake, missing 245 → fallbacks);
writing follows the local profile documented on `from_record`. Fields are
bucketed by tag once per record: lookups stay O(1) over millions of records.
"""

from __future__ import annotations

import re
from datetime import datetime

import pymarc
from pymarc import Field, Indicators, Subfield

from schemas.crosswalks.marc_codes import (
    ROLE_CODES,
    ROLE_OUT,
    ROLE_WORDS,
    SCHEMES,
    YEAR,
    Tags,
    bcp47,
    by_tag,
    duration_parts,
    first,
    isbn_of,
    marc_language,
    name_of,
    parse_005,
    parse_extent,
    strip_isbd,
    subs,
    text,
    title_of,
    values,
    vernacular,
    xml_text,
    year_datetime,
)
from schemas.normalise import (
    build_curriculum,
    classify_terms,
    grade_band_stage,
    licence_url,
    normalise_edition,
    normalise_grade,
    normalise_licence,
    normalise_resource_type,
    normalise_stage,
    normalise_volume,
    parse_class_hour,
)
from schemas.record import Agent, Curriculum, Identifier, Record, Unmapped
from schemas.vocab import vocabulary

# --- MARC → Record ------------------------------------------------------


def _agent(field: Field, kind: str, default_role: str) -> Agent | None:
    name = name_of(" ".join(subs(field, "ab"))) if kind == "organization" else name_of(first(field, "a"))
    if not name:
        return None
    role = next((ROLE_CODES[c] for c in subs(field, "4") if c in ROLE_CODES), None)
    role = role or next((r for e in subs(field, "e") if (r := ROLE_WORDS.get(e.strip(" .,").lower()))), None)
    school = first(field, "u").rstrip(" ,.") if kind == "person" else ""
    title = first(field, "c").rstrip(" ,") if kind == "person" else ""
    return Agent(name=name, role=role or default_role, kind=kind, school=school, title=title)


def _curriculum_raw(tags: Tags, unmapped: list[Unmapped]) -> dict[str, object]:
    """Explicit curriculum facts: 658 $a subject, $b edition/volume/chapters; 521 grade/stage."""
    raw: dict[str, object] = {}
    chapters: list[str] = []
    for field in tags.get("658", ()):
        if subject := strip_isbd(first(field, "a")):
            raw.setdefault("subject", subject)
        for value in subs(field, "b"):
            if not chapters and "edition" not in raw and normalise_edition(value):
                raw["edition"] = value
            elif not chapters and "volume" not in raw and normalise_volume(value):
                raw["volume"] = value
            elif re.fullmatch(r"第\s*\S+\s*课时", value) and parse_class_hour(value):
                raw["class_hour"] = value
            else:
                chapters.append(value)
    if chapters:
        raw["chapter"] = chapters
    for field in tags.get("521", ()):
        for value in subs(field, "a"):
            value = strip_isbd(value)
            if normalise_grade(value, "6-3") or grade_band_stage(value):
                raw.setdefault("grade", value)
            elif normalise_stage(value)[0]:
                raw.setdefault("stage", value)
            else:
                unmapped.append(Unmapped("audience", value))
    return {k: v for k, v in raw.items() if v}


def _terms(tags: Tags) -> tuple[list[str], str | None]:
    """Subject/index terms (650 $a + subdivisions, 653) and the first genre
    (655) that names a resource type; other genres stay terms."""
    terms: list[str] = []
    for field in tags.get("650", ()):
        terms += [strip_isbd(v) for v in subs(field, "axyzv")]
    for field in tags.get("653", ()):
        terms += [strip_isbd(v) for v in subs(field, "a")]
    genre = None
    for field in tags.get("655", ()):
        value = strip_isbd(first(field, "a"))
        if genre is None and normalise_resource_type(value):
            genre = value
        elif value:
            terms.append(value)
    return list(dict.fromkeys(t for t in terms if t)), genre


def _link(tags: Tags) -> tuple[str | None, str | None, int | None]:
    """URL, MIME type and size from the 856 that is the resource itself
    (ind2 2, "related resource", only when there is nothing else)."""
    links = [f for f in tags.get("856", ()) if first(f, "u").startswith(("http://", "https://"))]
    if not links:
        return None, None, None
    field = min(links, key=lambda f: f.indicators is not None and f.indicators.second == "2")
    fmt, size = first(field, "q").lower(), first(field, "s")
    mime = fmt if re.fullmatch(r"[\w.+-]+/[\w.+-]+", fmt) else None
    return first(field, "u"), mime, int(size) if size.isdigit() else None


def _titles(tags: Tags, isbd: bool) -> tuple[str, list[str]] | None:
    """Title and alternatives: a linked 880 (vernacular) before its 245, then
    246/240/130; a meeting name (111) only when there is no title at all."""
    titles = [t for f in tags.get("245", ()) if (t := title_of(f, isbd))]
    scripts = [v for f in tags.get("245", ()) if (x := vernacular(tags, f)) and (v := title_of(x, isbd))]
    titles = scripts[:1] + titles + [t for tag in ("246", "240", "130") for f in tags.get(tag, ())
                                        if (t := title_of(f, isbd))]
    titles = titles or [strip_isbd(v) for v in values(tags, ("111",), "a")]
    if not titles:
        return None
    return titles[0], [t for t in dict.fromkeys(titles[1:]) if t != titles[0]]


def _identifiers(tags: Tags, oai_identifier: str | None) -> list[Identifier]:
    found = [Identifier("isbn", i) for v in values(tags, ("020",), "a") if (i := isbn_of(v))]
    for field in tags.get("024", ()):
        value, scheme = first(field, "a"), first(field, "2").lower()
        doi = scheme == "doi" or (field.indicators.first == "7" and not scheme and value.startswith("10."))
        if value and doi:
            found.append(Identifier("doi", value))
        elif value and (scheme in SCHEMES or scheme == "uri"):
            found.append(Identifier("url" if scheme == "uri" else scheme, value))
    if oai_identifier:
        found.append(Identifier("oai", oai_identifier))
    return list(dict.fromkeys(found))


def _agents_and_year(tags: Tags, fixed: str) -> tuple[list[Agent], datetime | None]:
    """Names (1XX/7XX), publishers (260/264 #1 $b) and the year (their $c,
    else 008/07-10)."""
    agents: list[Agent] = []
    for tag, kind, role in (("100", "person", "author"), ("110", "organization", "author"),
                            ("700", "person", "contributor"), ("710", "organization", "contributor")):
        agents += [a for f in tags.get(tag, ()) if (a := _agent(f, kind, role))]
    created = None
    for field in tags.get("260", []) + [f for f in tags.get("264", ()) if f.indicators.second in "1 "]:
        agents += [Agent(name=name_of(b), role="publisher", kind="organization") for b in subs(field, "b")]
        years = [m.group(1) for c in subs(field, "c") if (m := YEAR.search(c))]
        created = created or (year_datetime(years[0]) if years else None)
    if created is None and fixed[6:7] in "sencmtqpr" and YEAR.fullmatch(fixed[7:11]):
        created = year_datetime(fixed[7:11])
    return list(dict.fromkeys(agents)), created


def _language(tags: Tags, fixed: str) -> str | None:
    """041 $a (old records run codes together: "engfre"), else 008/35-37."""
    codes = [c for v in values(tags, ("041",), "a") for c in re.findall(r"[a-z|]{3}", v.lower())]
    return (bcp47(codes[0]) if codes else None) or (bcp47(fixed[35:38]) if len(fixed) >= 38 else None)


def _licence_and_rights(tags: Tags) -> tuple[str | None, str | None]:
    """540 $f/$u (or an $a naming a licence) → licence; other 540/506 $a → rights."""
    licence, rights = None, []
    for field in tags.get("540", ()):
        for value in subs(field, "fu"):
            licence = licence or normalise_licence(value)
        licence = licence or first(field, "u") or None
        for value in subs(field, "a"):
            if licence is None and (named := normalise_licence(value)):
                licence = named
            else:
                rights.append(value)
    rights += values(tags, ("506",), "a")
    return licence, "; ".join(dict.fromkeys(rights)) or None


def _curriculum(tags: Tags) -> tuple[Curriculum, list[str], str | None, list[Unmapped]]:
    """Curriculum from 658/521 plus whatever the index terms name;
    returns (curriculum, keywords, resource-type text, unmapped)."""
    unmapped: list[Unmapped] = []
    explicit = _curriculum_raw(tags, unmapped)
    terms, genre = _terms(tags)
    found, keywords = classify_terms(terms)
    for key, value in found.items():
        if key == "resource_type":
            genre = genre or value
        elif key in explicit and value != explicit[key]:
            keywords.append(value)  # an explicit 658/521 value wins; this one stays a keyword
        else:
            explicit.setdefault(key, value)
    curriculum, missed = build_curriculum(explicit)  # type: ignore[arg-type]
    return curriculum, list(dict.fromkeys(keywords)), genre, unmapped + missed


def to_record(
    rec: pymarc.Record,
    source: str,
    *,
    oai_identifier: str | None = None,
    oai_datestamp: datetime | None = None,
) -> Record | str:
    """Map one MARC record; a str return is the reason it cannot be mapped."""
    tags = by_tag(rec)
    control = {f.tag: f.data for f in rec.fields if f.control_field and f.data}  # positional: not cleaned
    record_id = text(control.get("001")) or next(iter(values(tags, ("035",), "a")), "")
    if not record_id:
        return "no record control number (001) or system number (035$a)"
    leader = str(rec.leader).ljust(24)
    titles = _titles(tags, isbd=leader[18] not in "cn")
    if titles is None:
        hint = "; a 200 field suggests UNIMARC" if "200" in tags else ""
        return f"no title (245, 246, 240, 130 or 111){hint}"
    fixed = control.get("008", "")
    agents, created = _agents_and_year(tags, fixed)
    curriculum, keywords, genre, unmapped = _curriculum(tags)
    url, fmt, size = _link(tags)
    licence, rights = _licence_and_rights(tags)
    extents = values(tags, ("306",), "a") + values(tags, ("300",), "a")
    description = "\n".join(" ".join(subs(f, "ab")) for f in tags.get("520", ()) if subs(f, "ab"))
    return Record(
        source=source,
        source_record_id=record_id,
        url=url,
        identifiers=_identifiers(tags, oai_identifier),
        is_based_on=list(dict.fromkeys(values(tags, ("776", "787"), "wo"))),
        title=titles[0],
        alt_titles=titles[1],
        description=description or None,
        keywords=keywords,
        language=_language(tags, fixed),
        curriculum=curriculum,
        resource_type=normalise_resource_type(genre) if genre else None,
        format=fmt,
        size=size,
        duration=next((d for v in extents if (d := parse_extent(v))), None),
        agents=agents,
        licence=licence,
        rights=rights,
        created=created,
        modified=parse_005(control.get("005", "")) or oai_datestamp,
        deleted=leader[5] == "d",
        unmapped=unmapped,
    )


# --- Record → MARC ------------------------------------------------------


def _field(tag: str, ind: str, *pairs: tuple[str, str | None]) -> Field | None:
    """A data field of the non-empty subfields, or None when all are empty."""
    subfields = [Subfield(code, xml_text(v)) for code, v in pairs if v and xml_text(v).strip()]
    return Field(tag, Indicators(ind[0], ind[1]), subfields) if subfields else None


def _media(record: Record) -> str:
    """document / audio / video from the resource type vocabulary ("" if unknown)."""
    code = record.resource_type.code if record.resource_type else ""
    return vocabulary("resource_types").entries.get(code, {}).get("media", "")


def is_video(record: Record) -> bool:
    return _media(record) == "video" or (record.format or "").startswith("video/")


def _audience(record: Record) -> str:
    """008 target audience: grades 1-3 b, 4-8 c, 9-12 d; else by stage."""
    grade, stage = record.curriculum.grade, record.curriculum.stage
    if grade:
        return "b" if grade <= 3 else "c" if grade <= 8 else "d"
    by_stage = {"preschool": "a", "primary": "j", "junior": "c", "senior": "d"}
    return by_stage.get(stage.code if stage else "", " ")


def _fixed_008(record: Record, video: bool, minutes: int | None) -> str:
    """40-character 008: entry date, single date, no place, material block, language."""
    entered = record.datestamp or record.modified or record.created
    dates = (entered.strftime("%y%m%d") if entered else " " * 6) + (
        f"s{record.created.year:04d}" if record.created else "n    ")
    if video:  # 18-20 running time, 22 audience, 29 form online, 33 videorecording, 34 technique unknown
        running = "---" if minutes is None else f"{minutes:03d}" if minutes <= 999 else "000"
        block = f"{running} {_audience(record)}      o   vu"
    else:  # 22 audience, 23 form online, 26 type of file
        kind = {"document": "d", "audio": "h"}.get(_media(record), "u")
        block = f"    {_audience(record)}o  {kind}        "
    return f"{dates}    xx {block}{marc_language(record.language)} d"


def _control_fields(record: Record, video: bool, duration: tuple[int, int, int] | None) -> list[Field]:
    stamp = record.datestamp or record.modified
    minutes = duration[0] * 60 + duration[1] + (duration[2] >= 30) if duration else None
    control = [("001", record.source_record_id), ("003", record.source),
               ("005", stamp.strftime("%Y%m%d%H%M%S.0") if stamp else None),
               ("008", _fixed_008(record, video, minutes))]
    return [Field(tag, data=xml_text(v)) for tag, v in control if v]


def _agent_fields(record: Record) -> list[Field | None]:
    """First person 100, other people 700, bodies 710; publishers go to 264."""
    fields: list[Field | None] = []
    for n, agent in enumerate(a for a in record.agents if a.kind == "person"):
        term, code = ROLE_OUT.get(agent.role, ("", ""))
        fields.append(_field("100" if n == 0 else "700", "0 ", ("a", agent.name), ("c", agent.title),
                             ("u", agent.school), ("e", term), ("4", code)))
    fields += [_field("710", "2 ", ("a", a.name), *zip("e4", ROLE_OUT.get(a.role, ("", "")), strict=False))
               for a in record.agents if a.kind != "person" and a.role != "publisher"]
    return fields


def _curriculum_fields(record: Record) -> list[Field | None]:
    """521 2# stage and grade label, 650 #4 subject, 658 curriculum path."""
    cur = record.curriculum
    fields: list[Field | None] = []
    if cur.stage:
        marker = {"5-4": "（五四制）", "6-3": "（六三制）"}.get(cur.school_system or "", "")
        fields.append(_field("521", "2 ", ("a", cur.stage.zh + marker)))
    fields.append(_field("521", "2 ", ("a", cur.grade_label)))
    subject = cur.subject.zh if cur.subject else None
    fields.append(_field("650", " 4", ("a", subject)))
    edition = cur.edition.label if cur.edition else None
    if cur.edition and cur.edition.chief_editor:
        edition = f"{edition}（主编：{cur.edition.chief_editor}）"
    path = [edition, cur.volume.zh if cur.volume else None, *cur.chapter_path,
            f"第{cur.class_hour}课时" if cur.class_hour else None]
    if subject or any(path):
        fields.append(_field("658", "  ", ("a", subject), *(("b", p) for p in path), ("2", "local")))
    return fields


def _licence_fields(record: Record) -> list[Field | None]:
    """540: licence as $f id + $u URL ($2 cc for Creative Commons); rights as $a."""
    fields = [_field("540", "  ", ("a", record.rights))]
    if record.licence:
        is_url = "://" in record.licence
        code = None if is_url else record.licence
        url = record.licence if is_url else licence_url(record.licence)
        source = "cc" if (code or "").startswith("CC") else None
        fields.insert(0, _field("540", "  ", ("f", code), ("u", url), ("2", source)))
    return fields


def from_record(record: Record) -> pymarc.Record:
    """Record → MARC 21 in Huiju's local profile (what our MARCXML says):

    leader/06 'g' (projected medium) for video resources, else 'm' (computer
    file); leader/09 'a' (UTF-8), /17 'u', /18 'c' (ISBD punctuation omitted,
    so readers keep our titles verbatim). 001 id, 003 source, 005 datestamp,
    008 date/audience/language, 020 ISBN, 024 7# other identifiers ($2 scheme),
    041 language, 100/700 people and 710 bodies ($e term, $4 relator code,
    $u school, $c professional title), 245 title, 246 alt titles, 264 #1
    publisher/year, 300 + 306 duration, 520 one per description line,
    521 2# (interest grade level) stage then grade label, 540 licence ($f id,
    $u URL) and rights ($a), 650 #4 subject, 653 keywords, 655 #7 resource
    type (zh label, $2 local), 658 curriculum ($a subject, $b edition, volume,
    chapters outermost first, 第N课时; $2 local), 787 #8 based-on ($o), 856 40
    url ($q MIME, $s bytes).
    """
    video = is_video(record)
    duration = duration_parts(record.duration)
    status, kind = "d" if record.deleted else "n", "g" if video else "m"
    rec = pymarc.Record(leader=f"00000{status}{kind}m a2200000uc 4500")
    rec.add_field(*_control_fields(record, video, duration))
    fields = [_field("020", "  ", ("a", i.value)) for i in record.identifiers if i.scheme == "isbn"]
    fields += [_field("024", "7 ", ("a", i.value), ("2", "uri" if i.scheme == "url" else i.scheme))
               for i in record.identifiers if i.scheme != "isbn"]
    fields.append(_field("041", "0 ", ("a", record.language and marc_language(record.language))))
    fields += _agent_fields(record)
    main_entry = any(a.kind == "person" for a in record.agents)  # a 100 exists
    fields.append(_field("245", ("1" if main_entry else "0") + "0", ("a", record.title)))
    fields += [_field("246", "3 ", ("a", alt)) for alt in record.alt_titles]
    publishers = [("b", a.name) for a in record.agents if a.kind != "person" and a.role == "publisher"]
    fields.append(_field("264", " 1", *publishers, ("c", record.created and str(record.created.year))))
    if duration:
        h, m, sec = duration
        extent = " ".join(f"{n} {unit}" for n, unit in ((h, "hr"), (m, "min"), (sec, "sec")) if n)
        carrier = "video file" if video else "online resource"
        fields.append(_field("300", "  ", ("a", f"1 {carrier} ({extent})")))
        fields.append(_field("306", "  ", ("a", f"{min(h, 99):02d}{m:02d}{sec:02d}")))
    fields += [_field("520", "  ", ("a", line)) for line in (record.description or "").splitlines()]
    fields += _curriculum_fields(record) + _licence_fields(record)
    fields += [_field("653", "  ", ("a", kw)) for kw in record.keywords]
    if record.resource_type:
        fields.append(_field("655", " 7", ("a", record.resource_type.zh), ("2", "local")))
    fields += [_field("787", " 8", ("i", "Based on"), ("o", src)) for src in record.is_based_on]
    size = str(record.size) if record.size is not None else None
    fields.append(_field("856", "40", ("u", record.url), ("q", record.format), ("s", size)))
    kept = [f for f in fields if f is not None and any(s.code not in "2i" for s in f.subfields)]
    rec.add_field(*sorted(kept, key=lambda f: f.tag))  # stable: repeated tags keep their order
    return rec
