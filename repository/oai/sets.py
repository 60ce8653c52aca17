"""OAI-PMH sets of a work, and their Chinese names and descriptions.

Seven dimensions, each a two-level hierarchy joined by ':' (the parent is the
dimension itself, so ``set=subject`` means "has a subject"):

    level:<national…school>   the level of any member record's source
    stage:<primary…>          学段 (from the grade when the record has none)
    subject:<math…>           学科
    grade:<1…12>              年级
    edition:<code>            教材版本 (Edition.code, e.g. pep or pep-a for 人教A版)
    type:<micro-lecture…>     资源类型
    source:<name>             a work is in the set of every member record's source

Codes are the vocabularies' ASCII codes. A source name with characters a
setSpec cannot hold is escaped as ``~`` + two hex digits per UTF-8 byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

from schemas.record import Record
from schemas.vocab import load_data, vocabulary

# dimension -> (name, what one of its sets holds: a template for the description)
DIMENSIONS: dict[str, tuple[str, str]] = {
    "level": ("来源层级", "由{name}平台收录的资源（作品中任一记录的来源层级）"),
    "stage": ("学段", "学段为{name}的资源"),
    "subject": ("学科", "学科为{name}的资源"),
    "grade": ("年级", "适用于{name}的资源"),
    "edition": ("教材版本", "配套{name}教材的资源"),
    "type": ("资源类型", "资源类型为{name}的资源"),
    "source": ("来源平台", "来源平台{name}收录的资源（作品中任一记录的来源）"),
}
_VOCABULARY = {"level": "source_levels", "stage": "stages", "subject": "subjects", "type": "resource_types",
               "edition": "editions"}
_SAFE = re.compile(r"[A-Za-z0-9\-_.!()*']")


@lru_cache(maxsize=4096)  # a few dozen codes and source names, escaped for every work of a refresh
def escape(segment: str) -> str:
    """A setSpec segment for any text: unsafe characters (and ``~``) become ~XX per UTF-8 byte."""
    return "".join(ch if _SAFE.fullmatch(ch) else "".join(f"~{b:02x}" for b in ch.encode()) for ch in segment)


def unescape(segment: str) -> str:
    return re.sub(r"(?:~[0-9a-f]{2})+", lambda m: bytes.fromhex(m.group().replace("~", "")).decode(), segment)


@cache
def _grades() -> dict[int, dict]:
    return {g["grade"]: g for g in load_data("grades")["grades"]}


def set_specs(record: Record, members: Iterable[tuple[str, str | None]]) -> list[str]:
    """Every set a work is in, parents included, sorted; members are (source name, source level)."""
    leaves: set[tuple[str, str]] = set()
    for source, level in members:
        leaves.add(("source", escape(source)))
        if level:
            leaves.add(("level", level))
    if record.source_level:
        leaves.add(("level", record.source_level))
    curriculum = record.curriculum
    grade = _grades().get(curriculum.grade or 0)
    stage = curriculum.stage.code if curriculum.stage else (grade or {}).get("stage")
    for dimension, code in (
        ("stage", stage),
        ("subject", curriculum.subject.code if curriculum.subject else None),
        ("grade", str(curriculum.grade) if grade else None),
        ("edition", curriculum.edition.code if curriculum.edition else None),
        ("type", record.resource_type.code if record.resource_type else None),
    ):
        if code:
            leaves.add((dimension, escape(code)))
    return sorted({f"{d}:{c}" for d, c in leaves} | {d for d, _ in leaves})


@dataclass(frozen=True)
class SetInfo:
    spec: str
    name: str
    description: str


def set_info(spec: str, labels: Mapping[str, str] | None = None) -> SetInfo:
    """Name and description of a set; ``labels`` can supply names the vocabularies lack
    (edition variants such as pep-a → 人教A版, taken from a work in the set)."""
    dimension, _, code = spec.partition(":")
    title, template = DIMENSIONS.get(dimension, (dimension, "{name}"))
    if not code:
        return SetInfo(spec, title, f"按{title}划分的资源")
    name = (labels or {}).get(spec) or _label(dimension, unescape(code))
    return SetInfo(spec, f"{title}：{name}", template.format(name=name))


def _label(dimension: str, code: str) -> str:
    if dimension == "grade" and code.isdigit() and int(code) in _grades():
        return _grades()[int(code)]["zh"]
    vocab = _VOCABULARY.get(dimension)
    if vocab:
        entries = vocabulary(vocab).entries
        base = code if code in entries else code.split("-")[0]
        if base in entries:
            label = vocabulary(vocab).term(base).zh
            return label if base == code else f"{label}（{code[len(base) + 1:]}）"
    return code
