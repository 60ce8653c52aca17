"""Title normalisation: the same lesson, decorated by three platforms, must
reduce to one key, while the words that tell lessons apart (第2课时, 课件 vs
教学设计, 人教版 vs 北师大版) are lifted out of the title into fields instead
of being thrown away, so the vetoes can still see them.

`parse_title` returns the key plus the curriculum hints found in the
decoration; hints fill only fields the record leaves empty.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import msgspec

from schemas.normalise import chinese_number, normalise_edition, normalise_grade, normalise_volume
from schemas.text import to_simplified
from schemas.vocab import grade_entries, load_data, vocabulary

# Badges platforms put on titles that say nothing about which lesson it is.
# (Honour names come from schemas/vocab/honours.json; these are the rest.)
# fmt: off
DECORATIONS = (
    "一师一优课", "优课", "精品课", "精品", "公开课", "优质课", "示范课", "获奖", "获奖作品", "原创",
    "新课标", "新教材", "最新", "推荐", "晒课", "名师", "名师课堂", "名师微课", "高清", "完整版",
    "国家课", "同步课", "免费", "含视频", "含教案", "附教案", "部级", "省级", "市级", "区级", "县级",
    "校级", "新授课", "探究课", "情境教学", "互动课堂", "展示课", "研讨课", "观摩课", "精品微课",
)

# Resource-type words we trust in a title. 练习/作业/视频 are left out on
# purpose: they are also ordinary words in lesson titles (口算练习).
TYPE_WORDS = {
    "微课": "micro-lecture", "微课视频": "micro-lecture", "微视频": "micro-lecture",
    "课件": "courseware", "教学课件": "courseware", "ppt": "courseware", "ppt课件": "courseware",
    "幻灯片": "courseware", "教学设计": "lesson-plan", "教案": "lesson-plan", "教学方案": "lesson-plan",
    "导学案": "task-sheet", "学案": "task-sheet", "学习任务单": "task-sheet", "任务单": "task-sheet",
    "课堂实录": "recorded-lesson", "录像课": "recorded-lesson", "试卷": "exam", "测试卷": "exam",
    "课后练习": "exercise", "同步练习": "exercise", "课时练习": "exercise", "作业练习": "exercise",
}
# Of those, the ones that may be glued to the end of a title (圆的面积课件).
GLUED_TYPE_WORDS = (
    "ppt课件", "教学课件", "课件", "ppt", "教学设计", "教案", "导学案", "学习任务单", "课堂实录", "微课",
)
# fmt: on

_SEP = " \t:：|｜-—–_/·•,，、~"
_CLASS_HOUR = re.compile(r"[(\[]?\s*第\s*([0-9一二三四五六七八九十]+)\s*课时\s*[)\]]?")
_BRACKET = re.compile(r"[【\[]([^】\]]*)[】\]]")
_PAREN = re.compile(r"\(([^()]*)\)")
_QUOTES = str.maketrans("", "", "《》〈〉「」『』“”\"'‘’")
_SECTION_NO = re.compile(
    r"^(?:\d+(?:\.\d+)+|\d+[.、]|[一二三四五六七八九十]+、|第[0-9一二三四五六七八九十]+[课节])\s*(?=\S)"
)
_ORDINAL = re.compile(r"第([一二三四五六七八九十]+)(单元|章|节|课|讲|部分|组|册)")
_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_BARE_NUMBER = re.compile(r"[0-9一二三四五六七八九十]+")
_EDITION_LIKE = re.compile(r"^[\u4e00-\u9fff]{1,6}[a-z]?版$", re.I)


class TitleParse(msgspec.Struct, frozen=True):
    """A title's comparison key and the curriculum hints its decoration gave."""

    key: str
    class_hour: int | None = None
    resource_type: str | None = None
    edition: str | None = None
    grade: int | None = None
    subject: str | None = None
    volume: str | None = None
    stage: str | None = None
    honour: str | None = None


def _fold_keep_spaces(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return to_simplified(text).lower()


@lru_cache(maxsize=4096)
def _classify(token: str) -> tuple[str, object] | None:
    """(dimension, value) for a decoration token, else None."""
    token = token.strip(_SEP)
    if not token:
        return ("empty", None)
    if token in TYPE_WORDS:
        return ("resource_type", TYPE_WORDS[token])
    honour = _vocab_index("honours").get(token)
    if honour:
        return ("honour", honour)
    if token in _DECORATION_SET:
        return ("decoration", token)
    grade = normalise_grade(token) if not _BARE_NUMBER.fullmatch(token) else None
    if grade:
        return ("grade", grade)
    subject = _vocab_index("subjects").get(token)
    if subject and not token.isascii():
        return ("subject", subject)
    stage = _vocab_index("stages").get(token)
    if stage and not token.isascii():
        return ("stage", stage)
    if _EDITION_LIKE.match(token) or token in _vocab_index("editions"):
        edition = normalise_edition(token.upper() if token[-2:-1].isascii() else token)
        if edition:
            return ("edition", edition.code)
    if not token.isascii() and len(token) <= 8:
        volume = normalise_volume(token)
        if volume:
            return ("volume", volume.code)
    return None


@lru_cache(maxsize=16)
def _vocab_index(name: str) -> dict[str, str]:
    """Folded label → code, keeping only labels a title could carry."""
    vocab = vocabulary(name)
    return {label: code for label, code in vocab.index.items() if label}


_DECORATION_SET = frozenset(DECORATIONS)


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """Every decoration token a title run may consist of."""
    words: set[str] = set(DECORATIONS) | set(TYPE_WORDS)
    for name in ("honours", "subjects", "stages", "editions"):
        words |= {w for w in _vocab_index(name) if not w.isascii()}
    for entry in grade_entries().values():
        words |= {_fold_keep_spaces(w) for w in (entry["zh"], *entry.get("synonyms", [])) if not w.isascii()}
    words |= {_fold_keep_spaces(w) for w in load_data("grades")["junior_relative"]["names"]}
    for entry in load_data("volumes")["terms"]:
        words |= {_fold_keep_spaces(w) for w in (entry["zh"], *entry.get("synonyms", [])) if not w.isascii()}
    return frozenset(w for w in words if len(w) > 1)


_VOLUME_LIKE = re.compile(r"(?:选择性必修|必修|选修)(?:第?[一二三四五六七八九十\d]+册?)?")
_MAX_TOKEN = 12


@lru_cache(maxsize=1)
def _end_chars() -> tuple[frozenset[str], frozenset[str]]:
    """Characters a decoration token can start / end with: most titles fail this at once."""
    words = _known_words()
    return frozenset(w[0] for w in words) | set("必选"), frozenset(w[-1] for w in words) | set(
        "版册修0123456789一二三四五六七八九十"
    )


def _token_at(text: str, from_start: bool) -> tuple[int, tuple[str, object]] | None:
    """Longest decoration token at one end of text: (length, classification)."""
    if not text:
        return None
    firsts, lasts = _end_chars()
    if from_start:
        if text[0] not in firsts and "版" not in text[1:_MAX_TOKEN]:
            return None
    elif text[-1] not in lasts:
        return None
    words = _known_words()
    for length in range(min(_MAX_TOKEN, len(text)), 1, -1):
        cand = text[:length] if from_start else text[-length:]
        if (
            cand in words
            or (cand[-1] == "版" and _EDITION_LIKE.match(cand))
            or (cand[0] in "必选" and _VOLUME_LIKE.fullmatch(cand))
        ):
            kind = _classify(cand)
            if kind is not None:
                return length, kind
    return None


def _take_hints(hints: dict[str, object], found: tuple[str, object]) -> None:
    dimension, value = found
    if dimension not in ("empty", "decoration"):
        hints.setdefault(dimension, value)


def _strip_run(text: str, hints: dict[str, object], from_start: bool) -> str:
    """Strip a run of decoration tokens from one end of the title.

    A run is only taken when it names an edition, grade, volume, honour or
    type, or is cut off by a separator: 数学广角 keeps its 数学, 人教版数学
    loses it.
    """
    rest = text
    found: list[tuple[str, object]] = []
    before: list[str] = []
    while True:
        stripped = rest.lstrip(_SEP) if from_start else rest.rstrip(_SEP)
        hit = _token_at(stripped, from_start)
        if hit is None:
            break
        length, kind = hit
        found.append(kind)
        before.append(rest)
        rest = stripped[length:] if from_start else stripped[:-length]
    # A subject glued to the title proper (人教版数学广角) belongs to the title.
    while (
        found and found[-1][0] in ("subject", "stage") and (rest[:1] if from_start else rest[-1:]) not in _SEP
    ):
        found.pop()
        rest = before.pop()
    if not found or not rest.strip(_SEP):
        return text
    boundary = rest[:1] if from_start else rest[-1:]
    strong = any(k[0] not in ("subject", "stage") for k in found)
    if strong or (boundary and boundary in _SEP):
        for kind in found:
            _take_hints(hints, kind)
        return rest
    return text


_GLUED = re.compile("(?:" + "|".join(GLUED_TYPE_WORDS) + ")$")


def _strip_glued_type(text: str, hints: dict[str, object]) -> str:
    trimmed = text.rstrip(_SEP)
    m = _GLUED.search(trimmed)
    if m and m.start() > 0:
        hints.setdefault("resource_type", TYPE_WORDS[m.group(0)])
        return trimmed[: m.start()]
    return text


def _ordinal(m: re.Match[str]) -> str:
    number = chinese_number(m.group(1))
    return f"第{number}{m.group(2)}" if number is not None else m.group(0)


@lru_cache(maxsize=65536)
def parse_title(title: str) -> TitleParse:
    """Reduce a decorated title to its comparison key plus hints.

    【市级优课】人教版八年级数学上册《三角形的边》（第1课时）课件 and
    三角形的边 第一课时 both give key 三角形的边 (class hour 1); the first
    also hints edition pep, grade 8, subject math, volume vol1, courseware.
    """
    hints: dict[str, object] = {}
    text = _fold_keep_spaces(title)
    m = _CLASS_HOUR.search(text)
    if m:
        hints["class_hour"] = chinese_number(m.group(1))
        text = text[: m.start()] + " " + text[m.end() :]
    for block in _BRACKET.findall(text):
        for part in re.split(r"[\s|/·,，、]+", block):
            kind = _classify(part)
            if kind:
                _take_hints(hints, kind)
    text = _BRACKET.sub(" ", text)

    def paren(m: re.Match[str]) -> str:
        parts = [p for p in re.split(r"[\s|/·,，、]+", m.group(1)) if p]
        kinds = [_classify(p) for p in parts]
        if parts and all(kinds):
            for kind in kinds:
                _take_hints(hints, kind)  # type: ignore[arg-type]
            return " "
        return " " + m.group(1) + " "

    text = _PAREN.sub(paren, text).translate(_QUOTES)
    for _ in range(3):
        before = text
        text = _strip_run(text.strip(_SEP), hints, from_start=True)
        text = _strip_glued_type(text, hints)
        text = _strip_run(text.strip(_SEP), hints, from_start=False)
        if text == before:
            break
    text = _SECTION_NO.sub("", text.strip(_SEP))
    key = _NON_WORD.sub("", _ORDINAL.sub(_ordinal, text))
    if not key:  # the whole title was decoration: keep it rather than key on ""
        key = _NON_WORD.sub("", _fold_keep_spaces(title))
    return TitleParse(key=key, **hints)  # type: ignore[arg-type]
