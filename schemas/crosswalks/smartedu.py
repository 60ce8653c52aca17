"""The national platform's (国家中小学智慧教育平台, basic.smartedu.cn) resource JSON.

A part/chunk file (``part_100.json`` …) is a JSON array of resource objects;
a detail file is one such object. The version file (``data_version.json``,
lists the chunk URLs) and the tag-tree files (``*_tag.json``) are not
records: each gives a single Rejected saying what it is.

This reader feeds the million-record benchmark, so it decodes straight into
typed msgspec Structs (only the fields we map) and normalises each distinct
tag combination once: a chunk of 400 textbooks has a few dozen.

Mapping notes: tag_list dimension ids zxxxd/zxxnj/zxxxk/zxxbb/zxxcc are
学段/年级/学科/版本/册次; ``小学（五•四学制）`` gives school_system 5-4.
chapter_paths hold chapter *ids* (the list files carry no chapter names), so
the first path, split on "/", becomes chapter_path. Times carry "+0800" and
are stored as aware UTC. Landing URLs follow the page patterns documented
in ../shared/vocab/smartedu_api_endpoints.json; codes without a documented
page (e.g. teachingmaterials) get no url.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec

from schemas.crosswalks import ReadResult, Rejected
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Agent, Curriculum, Identifier, Record, Term, Unmapped

SOURCE_LEVEL = "national"
CHINA_TIME = timezone(timedelta(hours=8), "CST")
DIMENSIONS = {"zxxxd": 0, "zxxnj": 1, "zxxxk": 2, "zxxbb": 3, "zxxcc": 4}
_KEYS = ("stage", "grade", "subject", "edition", "volume")

PAGE_URLS = {
    "assets_document": "https://basic.smartedu.cn/tchMaterial/detail?contentType=assets_document&contentId={id}",
    "national_lesson": "https://basic.smartedu.cn/syncClassroom/classActivity?activityId={id}",
    "examinationpapers": "https://basic.smartedu.cn/syncClassroom/examinationpapers?resourceId={id}",
    "elite_lesson": "https://basic.smartedu.cn/qualityCourse?courseId={id}",
}
"""Landing-page patterns by resource_type_code (smartedu_api_endpoints.json page_urls)."""

_MIME = {
    "pdf": "application/pdf",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "m3u8": "application/vnd.apple.mpegurl",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "jpg": "image/jpeg",
    "png": "image/png",
}


class Tag(msgspec.Struct):
    tag_dimension_id: str | None = None
    tag_name: str | None = None


class TiItem(msgspec.Struct):
    ti_md5: str | None = None
    ti_file_flag: str | None = None
    ti_is_source_file: bool | None = None


class Props(msgspec.Struct):
    size: int | float | str | None = None
    global_resource_id: str | None = None
    thumbnails: list[str] | None = None
    format: str | None = None
    duration: str | None = None


class Person(msgspec.Struct):
    name: str | None = None


class Item(msgspec.Struct):
    """The subset of a platform resource object that we map."""

    id: str | None = None
    title: str | None = None
    global_title: dict[str, str] | None = None
    description: str | None = None
    global_description: dict[str, Any] | None = None
    language: str | None = None
    resource_type_code: str | None = None
    resource_type_code_name: str | None = None
    tag_list: list[Tag] | None = None
    chapter_paths: list[str] | None = None
    create_time: str | None = None
    update_time: str | None = None
    status: str | None = None
    custom_properties: Props | None = None
    ti_items: list[TiItem] | None = None
    teacher_list: list[Person] | None = None
    provider_list: list[Person] | None = None


class Head(msgspec.Struct):
    """Enough of a top-level JSON object to tell what kind of file it is."""

    module: str | None = None
    urls: list[str] | str | None = None
    hierarchies: msgspec.Raw = msgspec.Raw(b"")
    tag_path: str | None = None
    id: str | None = None


_list_decoder = msgspec.json.Decoder(list[Item])
_raw_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_item_decoder = msgspec.json.Decoder(Item)
_head_decoder = msgspec.json.Decoder(Head)

_curricula: dict[tuple[str | None, ...], tuple[Curriculum, tuple[Unmapped, ...]]] = {}
_types: dict[tuple[str | None, str | None], tuple[Term | None, tuple[Unmapped, ...]]] = {}


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """Records of a chunk file (or one detail object); Rejected for anything else."""
    start = data.lstrip()[:1]
    try:
        if start == b"[":
            yield from _read_list(data, source)
        elif start == b"{":
            yield from _read_object(data, source)
        else:
            yield Rejected(reason="not JSON: a smartedu file is a JSON array or object", stage="parse")
    except RecursionError:
        yield Rejected(reason="JSON nested too deeply", stage="parse")


def _read_list(data: bytes, source: str) -> Iterator[ReadResult]:
    try:
        items = _list_decoder.decode(data)
    except msgspec.ValidationError:
        yield from _read_one_by_one(data, source)  # one odd record must not sink the chunk
        return
    except msgspec.DecodeError as exc:
        yield Rejected(reason=f"invalid JSON: {exc}", stage="parse")
        return
    for number, item in enumerate(items, start=1):
        yield _map(item, source, number)


def _read_one_by_one(data: bytes, source: str) -> Iterator[ReadResult]:
    try:
        raws = _raw_list_decoder.decode(data)
    except msgspec.DecodeError as exc:
        yield Rejected(reason=f"invalid JSON: {exc}", stage="parse")
        return
    for number, raw in enumerate(raws, start=1):
        try:
            item = _item_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            yield Rejected(
                reason=f"not a smartedu resource object: {exc}",
                locator=f"record {number}",
                raw=bytes(raw),
                stage="parse",
            )
            continue
        yield _map(item, source, number)


def _read_object(data: bytes, source: str) -> Iterator[ReadResult]:
    try:
        head = _head_decoder.decode(data)
    except msgspec.ValidationError as exc:
        yield Rejected(
            reason=f"JSON object is neither a smartedu record, version file nor tag tree: {exc}",
            stage="parse",
        )
        return
    except msgspec.DecodeError as exc:
        yield Rejected(reason=f"invalid JSON: {exc}", stage="parse")
        return
    if head.urls is not None:
        urls = head.urls.split(",") if isinstance(head.urls, str) else head.urls
        count = sum(1 for u in urls if u.strip())
        yield Rejected(reason=f"version file: lists {count} chunk URLs (module {head.module})")
    elif len(head.hierarchies):
        yield Rejected(reason="tag tree, not records")
    elif head.id:
        yield from _read_one_by_one(b"[" + data + b"]", source)
    else:
        yield Rejected(
            reason="JSON object is neither a smartedu record, version file nor tag tree", stage="parse"
        )


def _map(item: Item, source: str, number: int) -> ReadResult:
    locator = item.id or f"record {number}"
    title = item.title or (item.global_title or {}).get("zh-CN")
    if not item.id:
        return Rejected(reason="record has no id", locator=locator)
    if not title or not title.strip():
        return Rejected(reason="record has no title", locator=locator)
    unmapped: list[Unmapped] = []

    curriculum, cur_unmapped = _curriculum(item.tag_list)
    if item.chapter_paths:
        curriculum = msgspec.structs.replace(
            curriculum, chapter_path=[p for p in item.chapter_paths[0].split("/") if p]
        )
    else:
        curriculum = msgspec.structs.replace(curriculum, chapter_path=[])
    unmapped.extend(cur_unmapped)

    resource_type, type_unmapped = _resource_type(item.resource_type_code, item.resource_type_code_name)
    unmapped.extend(type_unmapped)

    created = _utc(item.create_time, "create_time", unmapped)
    modified = _utc(item.update_time, "update_time", unmapped)

    props = item.custom_properties or Props()
    identifiers = (
        [Identifier(scheme="smartedu", value=props.global_resource_id)] if props.global_resource_id else []
    )
    size = props.size if isinstance(props.size, int) and props.size > 0 else None
    description = item.description
    if not description and item.global_description:
        zh = item.global_description.get("zh-CN")
        description = zh if isinstance(zh, str) else None
    pattern = PAGE_URLS.get(item.resource_type_code or "")
    agents = [Agent(name=p.name, role="teacher") for p in item.teacher_list or () if p.name]
    agents += [
        Agent(name=p.name, role="provider", kind="organization") for p in item.provider_list or () if p.name
    ]
    md5 = next((t.ti_md5 for t in item.ti_items or () if t.ti_is_source_file and t.ti_md5), None)

    return Record(
        source=source,
        source_record_id=item.id,
        url=pattern.format(id=item.id) if pattern else None,
        identifiers=identifiers,
        title=title.strip(),
        description=(description.strip() or None) if description else None,
        language=item.language or None,
        curriculum=curriculum,
        resource_type=resource_type,
        format=_MIME.get((props.format or "").lower()) if props.format else None,
        size=size,
        duration=props.duration or None,
        thumbnails=list(props.thumbnails or ()),
        file_md5=md5,
        agents=agents,
        source_level=SOURCE_LEVEL,
        created=created,
        modified=modified,
        deleted=item.status is not None and item.status != "ONLINE",
        unmapped=unmapped,
    )


def _curriculum(tags: list[Tag] | None) -> tuple[Curriculum, tuple[Unmapped, ...]]:
    """Normalise the five curriculum tag dimensions, once per distinct combination."""
    names: list[str | None] = [None] * 5
    for tag in tags or ():
        slot = DIMENSIONS.get(tag.tag_dimension_id or "")
        if slot is not None and names[slot] is None:
            names[slot] = tag.tag_name
    key = tuple(names)
    cached = _curricula.get(key)
    if cached is None:
        if len(_curricula) > 50_000:
            _curricula.clear()
        curriculum, unmapped = build_curriculum(dict(zip(_KEYS, names, strict=True)))
        cached = _curricula[key] = (curriculum, tuple(unmapped))
    return cached


def _resource_type(code: str | None, name: str | None) -> tuple[Term | None, tuple[Unmapped, ...]]:
    key = (code, name)
    cached = _types.get(key)
    if cached is None:
        term = normalise_resource_type(code) or normalise_resource_type(name)
        missing = (Unmapped("resource_type", code or name or ""),) if term is None and (code or name) else ()
        cached = _types[key] = (term, missing)
    return cached


def _utc(text: str | None, field: str, unmapped: list[Unmapped]) -> datetime | None:
    """Platform times such as 2022-10-29T08:57:12.947+0800 as aware UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        unmapped.append(Unmapped(field, text))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA_TIME)  # naive times are the platform's local time
    return value.astimezone(UTC)
