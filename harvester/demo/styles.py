"""Each platform's house style: an Item becomes the Record that platform publishes.

Republications are perturbed the way real platforms perturb them: the city
decorates titles (【市级优课】) and spells editions and grades its own way
(部编版, 人民教育出版社, 初一), Haidian prefixes the textbook and cuts
descriptions short, the Greater Bay Area partner writes Traditional
characters, and each mints its own URLs; some keep the national id or an
is_based_on link, others keep nothing but the text. Planted defects
(placeholder description, sensitive advertising, missing fields, an edition
nobody knows, a dead link) give curators something to review.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import msgspec
import opencc

from harvester.demo.catalogue import MIME, PART_TYPES, Lesson, chance, description, digest, pick, stable_uuid, teacher
from harvester.demo.platforms import BY_NAME, Item, created, modified
from harvester.demo.state import DemoState
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Agent, Curriculum, Identifier, Record, Unmapped

_s2t = opencc.OpenCC("s2t").convert
JUNIOR_GRADES = {"七年级": "初一", "八年级": "初二", "九年级": "初三"}
ID_OFFSET = {"municipal": 100001, "haidian": 30001, "chaoyang": 50001, "chaoyang-archive": 7001,
             "library": 900001, "partner": 60001}
OAI_PREFIX = "oai:res.bjedu.cn:"
PLACEHOLDER = "暂无简介"
ADVERT = "全套课件及配套资料请扫码添加微信购买，另有代写教案、代做课件服务。"
UNKNOWN_EDITION = "校本自编"
REVISIONS = ("更正了课件中的笔误", "补充了课后练习参考答案", "更换了更清晰的视频版本", "调整了教学环节的顺序",
             "增加了分层作业", "修订了板书设计")
LICENCE = "CC-BY-NC-4.0"


def to_traditional(text: str) -> str:
    return _s2t(text)


def local_id(it: Item) -> int:
    """The number a platform shows in its URLs for an item."""
    return ID_OFFSET[it.platform] + it.index


def national_id(seed: int, index: int) -> str:
    return stable_uuid(seed, "national-item", index)


def respell_edition(edition: str) -> str:
    """How the city and the library spell editions: by publisher, or the old 部编版 name."""
    if edition == "统编版":
        return "部编版"
    if edition.startswith("人教版"):
        return "人民教育出版社" + edition.removeprefix("人教版")
    return edition


@lru_cache(maxsize=4096)
def _base(stage: str, grade: str, subject: str, edition: str, volume: str) -> tuple[Curriculum, tuple[Unmapped, ...]]:
    curriculum, unmapped = build_curriculum({"stage": stage, "grade": grade or None, "subject": subject,
                                             "edition": edition or None, "volume": volume or None})
    return curriculum, tuple(unmapped)


def chapter_path(lesson: Lesson) -> list[str]:
    section = lesson.section
    return [*section.units, f"{section.number} {section.name}".strip()]


def curriculum(lesson: Lesson, *, edition: str | None = None, grade: str | None = None, hour: bool = True,
               traditional: bool = False, missing: bool = False) -> tuple[Curriculum, list[Unmapped]]:
    """The lesson's curriculum as a platform labels it (its spellings survive in the labels, which
    the writers emit, so the harvester meets them and maps them back)."""
    book = lesson.book
    edition = book.edition if edition is None else edition
    grade = book.grade if grade is None else grade
    if missing:
        edition = grade = ""
    c, unmapped = _base(book.stage, grade, book.subject, edition, "" if missing else book.volume)
    path = chapter_path(lesson)
    values: dict[str, object] = {"chapter_path": path, "class_hour": lesson.hour if hour and lesson.hours > 1 else None}
    if c.grade_label and grade:
        values["grade_label"] = grade
    if c.edition is not None and edition and not edition.startswith(c.edition.label):
        values["edition"] = msgspec.structs.replace(c.edition, label=edition.split("（主编")[0])
    if traditional:
        values["chapter_path"] = [to_traditional(p) for p in path]
        values["grade_label"] = to_traditional(str(values.get("grade_label", c.grade_label or ""))) or None
        if c.volume and "必修" not in c.volume.zh:  # copied from the national tags as they are
            values["volume"] = msgspec.structs.replace(c.volume, zh=to_traditional(c.volume.zh))
        if c.subject:
            values["subject"] = msgspec.structs.replace(c.subject, zh=to_traditional(c.subject.zh))
    return msgspec.structs.replace(c, **values), list(unmapped)


def national_title(lesson: Lesson) -> str:
    """17.1 勾股定理（第1课时）, 1.春, 第1节 长度和时间的测量: the national platform's section titles."""
    number, name = lesson.section.number, lesson.section.name
    if number.isdigit():
        text = f"{number}.{name}"
    elif number and not number.startswith("课题"):
        text = f"{number} {name}"
    else:
        text = name
    return text + (f"（第{lesson.hour}课时）" if lesson.hours > 1 else "")


def hour_label(hour: int) -> str:
    return "第" + "一二三四五六七八九十"[hour - 1] + "课时" if 0 < hour <= 10 else f"第{hour}课时"


def _title(it: Item, lesson: Lesson) -> str:
    name, part = lesson.section.name, PART_TYPES[it.part][1]
    hour = lesson.hours > 1
    book = lesson.book
    republished = it.origin is not None
    match it.platform:
        case "national":
            return national_title(lesson)
        case "municipal":
            core = name + (f"（第{lesson.hour}课时）" if hour else "")
            return f"【市级优课】{core}" if republished else name + (f" {hour_label(lesson.hour)}" if hour else "")
        case "haidian":
            edition = book.edition.split("（")[0]
            return f"{edition}{book.grade}{book.subject}{book.volume.replace(' ', '')}《{name}》" + (
                f"第{lesson.hour}课时" if hour else "") + f" {part}"
        case "chaoyang":
            return name + (f"（{hour_label(lesson.hour)}）" if hour else "") + f"（{part}）"
        case "chaoyang-archive":
            return name + (hour_label(lesson.hour) if hour else "") + ("教案" if it.part == 2 else "导学案")
        case "library":
            return name + (f"（{hour_label(lesson.hour)}）" if hour else "") + part
        case _:
            return name + (f"（第{lesson.hour}课时）" if hour else "")


def _description(state: DemoState, it: Item) -> str:
    lesson = it.lesson
    text = description(state.seed, lesson, it.part, teacher(state.seed, lesson))
    if it.platform == "haidian" and it.origin is not None:
        text = text[: max(20, int(len(text) * 0.55))] + "…"
    elif it.platform == "chaoyang-archive" and it.origin is not None:
        text = text[: max(20, int(len(text) * 0.6))] + "……"
    if it.revision:
        note = pick(REVISIONS, state.seed, "revision", it.platform, it.index, it.revision)
        text += f"（第{it.revision}次修订：{note}）"
    return text


def url_of(it: Item, bases: dict[str, str], *, dead: bool = False) -> str | None:
    """The item's landing page on its platform's server (None for the national feed)."""
    server = BY_NAME[it.platform].server
    base, number = bases.get(server, ""), local_id(it) if it.platform != "national" else 0
    match it.platform:
        case "municipal":
            return f"{base}/resource/{number}.html"
        case "haidian":
            return f"{base}/course/lesson-{number}.html"
        case "chaoyang":
            return f"{base}/kc/{2023 + number % 3}/{number}.shtml"
        case "chaoyang-archive":
            return f"{base}/zyk/show_{number}.html"
        case "library":
            return f"{base}/opac/item/HD{number}" + ("-withdrawn" if dead else "")
        case "partner":
            return f"{base}/resource/gba-{number}"
    return None


def record(state: DemoState, it: Item, bases: dict[str, str]) -> Record:
    """The Record this platform publishes for the item (its payloads are written from it)."""
    seed, lesson, platform = state.seed, it.lesson, it.platform
    code, type_name, ext = PART_TYPES[it.part]
    person = teacher(seed, lesson)
    trad = platform == "partner" or (platform == "chaoyang" and chance(seed, "traditional", it.index) < 0.1)
    edition = grade = None
    if platform in ("municipal", "chaoyang-archive", "library"):
        edition = respell_edition(lesson.book.edition)
    if platform in ("municipal", "chaoyang-archive"):
        grade = JUNIOR_GRADES.get(lesson.book.grade)
    if platform == "national" and lesson.book.stage == "高中":
        grade = ""  # the national tree has no grade level under 高中
    if it.defect == "unmapped":
        edition = UNKNOWN_EDITION
    cur, unmapped = curriculum(lesson, edition=edition, grade=grade, hour=platform != "national",
                               traditional=trad, missing=it.defect == "missing")
    title, text = _title(it, lesson), _description(state, it)
    if it.defect == "placeholder":
        text = PLACEHOLDER
    elif it.defect == "sensitive":
        text += ADVERT
    elif it.defect == "missing":
        text = ""
    if trad:
        title, text = to_traditional(title), to_traditional(text)
    identifiers: list[Identifier] = []
    based_on: list[str] = []
    u = chance(seed, "links", platform, it.index)
    origin_id = national_id(seed, it.national) if it.national is not None else None
    if platform == "national":
        identifiers = [Identifier("smartedu", national_id(seed, it.index))]
    elif it.origin and it.origin[0] == "municipal" and u < 0.5:
        based_on = [url_of(_stub(it.origin), bases) or ""]
    elif origin_id and it.origin and it.origin[0] == "national":
        keep, link = {"municipal": (0.45, 0.7), "haidian": (0.3, 0.3), "chaoyang": (0.0, 0.3),
                      "library": (0.4, 0.7), "partner": (0.0, 0.6)}.get(platform, (0.0, 0.0))
        if u < keep:
            identifiers = [Identifier("smartedu", origin_id)]
        elif u < link:
            based_on = [f"smartedu:{origin_id}"]
    label = BY_NAME[platform].label
    people = [Agent(name=person.name, role="teacher", school=to_traditional(person.school) if trad else person.school,
                    title=person.title)]
    if platform == "national":
        people.append(Agent(name=cur.edition.publisher if cur.edition and cur.edition.publisher else label,
                            role="provider", kind="organization"))
    else:
        people.append(Agent(name=label, role="provider", kind="organization"))
    video = code == "micro_lesson_video"
    key = (platform, it.index)
    return Record(
        source=platform,
        source_record_id=_record_id(seed, it, bases),
        url=url_of(it, bases, dead=it.defect == "dead-link"),
        identifiers=identifiers,
        is_based_on=based_on,
        title=title,
        description=text or None,
        keywords=[] if it.defect == "missing" else [lesson.book.subject, lesson.section.name],
        language="zh-HK" if trad else "zh",
        curriculum=cur,
        resource_type=normalise_resource_type(code),
        format=MIME[ext],
        size=(40 if video else 1) * 1_000_000 + digest(seed, "size", *key) % 900_000,
        duration=f"PT{8 + digest(seed, 'minutes', *key) % 8}M{digest(seed, 'seconds', *key) % 60}S" if video else None,
        file_md5=f"{digest(seed, 'md5', *key):016x}{digest(seed, 'md5b', *key):016x}" if platform == "national"
        else None,
        agents=people,
        source_level=BY_NAME[platform].level,
        honours=["市优"] if platform == "municipal" and it.origin else [],
        licence=None if platform == "national" else LICENCE,
        rights=f"版权所有 {label}" if platform == "national" else None,
        created=_second(created(state, it)),
        modified=_second(modified(state, it)),
        deleted=it.deleted,
        unmapped=unmapped,
    )


def _second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _stub(origin: tuple[str, int]) -> Item:
    """Enough of an item to name its URL."""
    return Item(origin[0], origin[1], None, 0, None, None, 0, 0, 0, False, None)  # type: ignore[arg-type]


def _record_id(seed: int, it: Item, bases: dict[str, str]) -> str:
    """The id Huiju will see: feed id, OAI identifier, MARC 001, or the page / resource URL."""
    if it.platform == "national":
        return national_id(seed, it.index)
    if it.platform == "municipal":
        return f"{OAI_PREFIX}{local_id(it)}"
    if it.platform == "library":
        return f"HD{local_id(it)}"
    return url_of(it, bases) or str(local_id(it))
