"""Map free text from sources onto the controlled vocabularies.

Every function returns None for a value it cannot map; `build_curriculum`
collects those as `Unmapped` entries so the record reports them instead of
the normaliser guessing. Pure functions: no I/O beyond the packaged data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache

from schemas.record import Curriculum, Edition, Term, Unmapped
from schemas.text import clean, fold, to_simplified
from schemas.vocab import grade_entries, load_data, vocabulary

CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


_memo = lru_cache(maxsize=8192)
"""For the pure normalisers of short strings below: vocabularies are fixed for the process, results are
immutable (frozen Terms, tuples, str), and a harvest asks for the same few hundred labels again and again."""


def chinese_number(text: str) -> int | None:
    """Parse 1-99 written as digits or Chinese numerals (十二, 二十一)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if text.isdigit():
        return int(text)
    if not text or any(c not in CN_DIGITS and c != "十" for c in text):
        return None
    if "十" in text:
        tens, _, units = text.partition("十")
        value = (CN_DIGITS[tens] if tens else 1) * 10
        return value + (CN_DIGITS[units] if units else 0)
    if len(text) == 1:
        return CN_DIGITS[text]
    return None


@_memo
def _term(vocab_name: str, text: str | None) -> Term | None:
    if not text or not clean(text):
        return None
    vocab = vocabulary(vocab_name)
    code = vocab.lookup(text)
    return vocab.term(code) if code else None


@_memo
def normalise_stage(text: str | None) -> tuple[Term | None, str | None]:
    """Stage term and school system ("5-4"/"6-3") if the label names one."""
    if not text:
        return None, None
    folded = fold(text)
    system = None
    for name, markers in load_data("stages")["school_system_markers"].items():
        for marker in markers:
            m = fold(marker)
            if m in folded:
                system = name
                folded = folded.replace(m, "")
    folded = re.sub(r"[()（）]", "", folded)
    code = vocabulary("stages").index.get(folded)
    return (vocabulary("stages").term(code) if code else None), system


@_memo
def normalise_grade(text: str | None, school_system: str | None = None) -> int | None:
    """Grade number 1-12. 初一 is 7 under 六三制 (the default) and 6 under 五四制."""
    if not text:
        return None
    folded = fold(text)
    absolute, relative_names = _grade_index()
    if folded in absolute:
        return absolute[folded]
    if folded in relative_names:
        relative = load_data("grades")["junior_relative"]
        n = relative_names[folded]
        system = school_system or "6-3"
        if n > relative["max"][system]:
            return None
        return relative["offset"][system] + n
    m = re.fullmatch(r"(?:grade)?([0-9一二三四五六七八九十]+)(?:年级)?", folded)
    if m:
        number = chinese_number(m.group(1))
        if number and 1 <= number <= 12:
            return number
    return None


@cache
def _grade_index() -> tuple[dict[str, int], dict[str, int]]:
    """Folded grade names → number, and folded 初N names → N (built once)."""
    absolute = {}
    for number, entry in grade_entries().items():
        for name in (entry["zh"], entry["en"], *entry.get("synonyms", [])):
            absolute[fold(name)] = number
    relative = {fold(k): v for k, v in load_data("grades")["junior_relative"]["names"].items()}
    return absolute, relative


@cache
def _bands() -> dict[str, str]:
    return {fold(k): v for k, v in load_data("grades")["bands"].items() if not k.startswith("_")}


@_memo
def grade_band_stage(text: str | None) -> str | None:
    """Stage code for grade bands such as 一至二年级 or 水平二 (no single grade)."""
    if not text:
        return None
    return _bands().get(fold(text))


@_memo
def grade_label(number: int) -> str:
    return grade_entries()[number]["zh"]


@_memo
def stage_of_grade(number: int, school_system: str | None) -> str:
    if number == 6 and school_system == "5-4":
        return "junior"
    return grade_entries()[number]["stage"]


def normalise_subject(text: str | None) -> Term | None:
    return _term("subjects", text)


_PAREN = re.compile(r"\(([^()]*)\)")
_CHIEF = re.compile(r"^主编[:：]\s*(.+)$")
_LETTER_VARIANT = re.compile(r"^(.+?)([A-Z])版$")
_START_GRADE = re.compile(r"^(.+版)((?:一|三)年级起点)$")


def _ascii_slug(text: str) -> str:
    if text.isascii():
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    from pypinyin import Style, lazy_pinyin

    return "".join(p[0] for p in lazy_pinyin(text, style=Style.NORMAL) if p and p[0].isalnum())


@_memo
def normalise_edition(text: str | None) -> Edition | None:
    """Parse 人教A版, 人教版（PEP）（主编：吴欣）, 部编版 … into an Edition."""
    if not text or not clean(text):
        return None
    work = unicodedata.normalize("NFKC", clean(text)).replace(" ", "")
    chief, variants = "", []
    for inner in _PAREN.findall(work):
        m = _CHIEF.match(inner)
        if m:
            chief = m.group(1).replace("&", "、").replace(",", "、")
        elif inner:
            variants.append(inner.removesuffix("版"))
    base = _PAREN.sub("", work)
    if base.startswith("配套"):
        base, variants = base[2:], ["配套", *variants]
    m = _START_GRADE.match(base)
    if m:
        base, variants = m.group(1), [*variants, m.group(2)]
    m = _LETTER_VARIANT.match(base)
    vocab = vocabulary("editions")
    if m and not vocab.lookup(base):
        base, variants = m.group(1) + "版", [m.group(2), *variants]
    code = vocab.lookup(base) or vocab.lookup(base + "版") or vocab.lookup(base.removesuffix("版"))
    if not code:
        return None
    entry = vocab.entries[code]
    variant = "·".join(variants)
    if variant and len(variant) == 1 and variant.isalpha():
        label = entry["label"].removesuffix("版") + variant + "版"  # 人教A版
    else:
        label = entry["label"] + "".join(f"（{v}）" for v in variants)
    return Edition(
        code=code + (f"-{_ascii_slug(variant)}" if variant else ""),
        label=label,
        publisher=entry.get("publisher", ""),
        variant=variant,
        chief_editor=chief,
    )


_VOLUME_MODULE = re.compile(
    r"^(选择性必修|必修|选修)(\d+|第[一二三四五六七八九十]+册|[一二三四五六七八九十]+$|[上中下]册|[上中下]$)?(.*)$"
)
_VOLUME_BOOK = re.compile(r"^第([一二三四五六七八九十\d]+)册$")
_VOLUME_SIDE = re.compile(r"(上|下)册?$")


@_memo
def normalise_volume(text: str | None) -> Term | None:
    """上册/下册/全一册, 必修 第一册, 选择性必修2 区域发展, 第三册 …"""
    if not text or not clean(text):
        return None
    simple = _term("volumes", text)
    if simple:
        return simple
    label = clean(text)
    work = to_simplified(unicodedata.normalize("NFKC", label)).replace(" ", "")  # 必修 第一冊 → 第一册
    m = _VOLUME_MODULE.match(work)
    if m:
        kind = {"选择性必修": "selective", "必修": "compulsory", "选修": "elective"}[m.group(1)]
        part = (m.group(2) or "").strip("第册")
        number = ({"上": 1, "中": 2, "下": 3}.get(part) or chinese_number(part)) if part else None
        code = kind if number is None else f"{kind}-{number}"
        module = m.group(3)
        if module and number is None:
            code = f"{kind}-{_ascii_slug(module)}"
        return Term(code=code, zh=label, en=vocabulary("volumes").term(kind).en + (f" {number}" if number else ""))
    m = _VOLUME_BOOK.match(work)
    if m and chinese_number(m.group(1)):
        n = chinese_number(m.group(1))
        return Term(code=f"book-{n}", zh=label, en=f"Book {n}")
    m = _VOLUME_SIDE.search(work)
    if m and len(work) <= 5:  # 高二上册, 高三下
        return vocabulary("volumes").term("vol1" if m.group(1) == "上" else "vol2")
    return None


_CLASS_HOUR = re.compile(r"第\s*([一二三四五六七八九十\d]+)\s*课时")


@_memo
def parse_class_hour(text: str | None) -> int | None:
    """第一课时 / 第2课时 → 1 / 2."""
    if not text:
        return None
    m = _CLASS_HOUR.search(unicodedata.normalize("NFKC", text))
    return chinese_number(m.group(1)) if m else None


def normalise_resource_type(text: str | None) -> Term | None:
    return _term("resource_types", text)


def normalise_source_level(text: str | None) -> str | None:
    term = _term("source_levels", text)
    return term.code if term else None


def normalise_honour(text: str | None) -> str | None:
    """Honour as its zh label (部优, 省优, 市优, 县优)."""
    term = _term("honours", text)
    return term.zh if term else None


_CC = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)")
_CC_TEXT = re.compile(r"^cc[\s_-]*(by(?:[\s_-]+(?:nc|sa|nd))*)(?:[\s_-]*(\d\.\d))?$")


@_memo
def normalise_licence(text: str | None) -> str | None:
    """A licence id such as CC-BY-4.0, or None when the text is not a known licence."""
    if not text:
        return None
    m = _CC.search(text.lower())
    if m:
        kind, name, version = m.groups()
        if kind == "publicdomain":
            return f"CC0-{version}" if name == "zero" else "public-domain"
        return f"CC-{name.upper()}-{version}"
    m = _CC_TEXT.match(clean(text).lower())
    if m:
        parts = "-".join(re.split(r"[\s_-]+", m.group(1))).upper()
        return f"CC-{parts}-{m.group(2)}" if m.group(2) else f"CC-{parts}"  # no version: none guessed
    folded = fold(text)
    for entry in vocabulary("licences").entries.values():
        if folded == fold(entry["code"]) or any(fold(s) == folded for s in entry.get("synonyms", [])):
            return entry["code"]
    return None


def licence_url(code: str) -> str | None:
    entry = vocabulary("licences").entries.get(code)
    if entry:
        return entry.get("url") or None
    m = re.fullmatch(r"CC-([A-Z-]+)-(\d\.\d)", code)
    if m:
        return f"https://creativecommons.org/licenses/{m.group(1).lower()}/{m.group(2)}/"
    return None


RawCurriculum = Mapping[str, "str | Iterable[str] | None"]
CURRICULUM_KEYS = ("stage", "school_system", "grade", "subject", "edition", "volume", "chapter", "class_hour")


def build_curriculum(raw: RawCurriculum) -> tuple[Curriculum, list[Unmapped]]:
    """Normalise the curriculum strings a crosswalk found.

    raw keys: stage, school_system, grade, subject, edition, volume,
    chapter (a string or a list, outermost first), class_hour.
    """
    unmapped: list[Unmapped] = []

    def text(key: str) -> str | None:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return clean(value) or None
        joined = " ".join(clean(v) for v in value if v)
        return joined or None

    stage_text = text("stage")
    stage, system = normalise_stage(stage_text)
    if stage_text and stage is None:
        unmapped.append(Unmapped("stage", stage_text))
    system_text = text("school_system")
    if system_text:
        _, named = normalise_stage(system_text)
        system = named or system
        if not named:
            unmapped.append(Unmapped("school_system", system_text))

    grade_text = text("grade")
    grade = normalise_grade(grade_text, system)
    label = grade_label(grade) if grade else None
    if grade_text and grade is None:
        band_stage = grade_band_stage(grade_text)
        if band_stage:
            label = clean(grade_text)
            if stage is None:
                stage = vocabulary("stages").term(band_stage)
        else:
            unmapped.append(Unmapped("grade", grade_text))
    if grade and stage is None:
        stage = vocabulary("stages").term(stage_of_grade(grade, system))
    elif grade and stage and stage.code != stage_of_grade(grade, system):
        if not (stage.code == "special"):
            unmapped.append(Unmapped("grade", f"{grade_text} (conflicts with stage {stage.zh})"))
            grade, label = None, None

    subject_text = text("subject")
    subject = normalise_subject(subject_text)
    if subject_text and subject is None:
        unmapped.append(Unmapped("subject", subject_text))

    edition_text = text("edition")
    edition = normalise_edition(edition_text)
    if edition_text and edition is None:
        unmapped.append(Unmapped("edition", edition_text))

    volume_text = text("volume")
    volume = normalise_volume(volume_text)
    if volume_text and volume is None:
        unmapped.append(Unmapped("volume", volume_text))

    chapter = raw.get("chapter")
    if isinstance(chapter, str):
        chapter_path = [clean(chapter)] if clean(chapter) else []
    else:
        chapter_path = [clean(c) for c in chapter or [] if clean(c)]

    hour_text = text("class_hour")
    class_hour = parse_class_hour(hour_text) if hour_text else None
    if hour_text and class_hour is None:
        number = chinese_number(hour_text)
        class_hour = number if number and number < 20 else None
        if class_hour is None:
            unmapped.append(Unmapped("class_hour", hour_text))

    curriculum = Curriculum(
        stage=stage,
        school_system=system,
        grade=grade,
        grade_label=label,
        subject=subject,
        edition=edition,
        volume=volume,
        chapter_path=chapter_path,
        class_hour=class_hour,
    )
    return curriculum, unmapped


_CLASSIFIERS = (
    ("stage", lambda v: normalise_stage(v)[0]),
    ("grade", normalise_grade),
    ("subject", normalise_subject),
    ("edition", normalise_edition),
    ("volume", normalise_volume),
    ("resource_type", normalise_resource_type),
)


def classify_terms(values: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Sort loose subject/keyword strings (as in dc:subject or LOM
    classification) into curriculum dimensions; the rest stay keywords.

    Returns ({dimension: value}, leftovers). The first value per dimension wins.
    """
    found: dict[str, str] = {}
    leftovers: list[str] = []
    for value in values:
        value = clean(value)
        if not value:
            continue
        for key, classify in _CLASSIFIERS:
            if key not in found and classify(value):
                found[key] = value
                break
        else:
            leftovers.append(value)
    return found, leftovers
