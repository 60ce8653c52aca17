"""One work → one engine-neutral search document (a plain, JSON-ready dict).

Text fields arrive pre-analysed (space-joined tokens from index.analysis), so
any engine indexes them with a plain whitespace tokenizer. Facets are keyword
values (vocabulary codes; grade as a number). Labels ride along for display.

Field reference (absent when unknown; lists never empty):
  id, title, description (first DESCRIPTION_CHARS), url, thumbnail
  title_tokens, chapter_tokens, text_tokens        analysed text, boosts title > chapter > text
  chars                                            every character of title | chapter | text, for
                                                   phrase matching where segmentation differs
  title_pinyin, title_initials                     pinyin edge prefixes of the title
  stage, grade (int), subject, edition, volume, resource_type   facet codes
  stage_label, grade_label, subject_label, edition_label, volume_label, resource_type_label
  source_level (best of the members), sources (list), honours (list, highest first),
  review_status, format (MIME), has_video (bool)
  chapter_path (list), chapter ("a / b"), class_hour, duration (seconds)
  datestamp (ISO 8601 UTC, "…Z"), quality (0-1), members_count
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from index.analysis import analyse_text, analyse_title
from schemas.record import SOURCE_LEVELS, Record, utc
from schemas.vocab import vocabulary

DESCRIPTION_CHARS = 300
"""Description kept in the document for snippets; all of it is analysed."""
MAX_ALT_TITLES = 5

QUALITY_WEIGHTS: dict[str, float] = {
    "description": 0.15,  # at least 20 characters
    "subject": 0.10,
    "grade": 0.10,  # a grade, or a grade band label
    "edition": 0.10,
    "chapter": 0.10,
    "stage": 0.05,
    "volume": 0.05,
    "resource_type": 0.05,
    "format": 0.05,
    "thumbnail": 0.05,
    "agents": 0.05,
    "licence": 0.05,
    "media": 0.05,  # duration or size known
    "keywords": 0.05,
}
"""Completeness of the canonical record: the share of these weights it fills.

It measures how well a work is described (what a teacher can judge from the
result page), not how good the lesson is; it orders "quality" sorts and
breaks relevance ties, never filters.
"""

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_LEVEL_RANK = {level: i for i, level in enumerate(SOURCE_LEVELS)}


def quality_score(record: Record) -> float:
    """Weighted completeness in [0, 1]; see QUALITY_WEIGHTS."""
    c = record.curriculum
    w = QUALITY_WEIGHTS
    score = (
        (w["description"] if len(record.description or "") >= 20 else 0.0)
        + (w["subject"] if c.subject else 0.0)
        + (w["grade"] if c.grade or c.grade_label else 0.0)
        + (w["edition"] if c.edition else 0.0)
        + (w["chapter"] if c.chapter_path else 0.0)
        + (w["stage"] if c.stage else 0.0)
        + (w["volume"] if c.volume else 0.0)
        + (w["resource_type"] if record.resource_type else 0.0)
        + (w["format"] if record.format else 0.0)
        + (w["thumbnail"] if record.thumbnails else 0.0)
        + (w["agents"] if record.agents else 0.0)
        + (w["licence"] if record.licence else 0.0)
        + (w["media"] if record.duration or record.size else 0.0)
        + (w["keywords"] if record.keywords else 0.0)
    )
    return round(score, 4)


@lru_cache(maxsize=16_384)
def duration_seconds(value: str | None) -> int | None:
    """ISO 8601 duration (PT10M23S) → seconds; None when absent or malformed."""
    m = _DURATION.match(value or "")
    if not m or not any(m.groups()):
        return None
    days, hours, minutes, seconds = m.groups()
    return int(int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0))


def iso_utc(value: datetime | str) -> str:
    """Datestamp as the one string form every engine parses: 2024-03-15T14:22:07Z."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not UTC:
        value = utc(value)
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


@cache
def _media(resource_type: str) -> str:
    return vocabulary("resource_types").entries.get(resource_type, {}).get("media", "")


@cache
def _honour_rank() -> dict[str, int]:
    return {entry["zh"]: i for i, entry in enumerate(vocabulary("honours").entries.values())}


def _is_video(record: Record) -> bool:
    if record.format and record.format.startswith("video/"):
        return True
    return record.resource_type is not None and _media(record.resource_type.code) == "video"


def _first(records: list[Record], attr: str) -> Any:
    for record in records:
        value = getattr(record, attr)
        if value:
            return value
    return None


def _labels(record: Record) -> list[str]:
    """Curriculum and type labels, so free text (七年级 数学) matches what facets hold."""
    c = record.curriculum
    labels = [
        c.stage.zh if c.stage else "",
        c.grade_label or "",
        c.subject.zh if c.subject else "",
        c.edition.label if c.edition else "",
        c.volume.zh if c.volume else "",
        record.resource_type.zh if record.resource_type else "",
        *record.honours,
    ]
    return [label for label in labels if label]


@lru_cache(maxsize=65_536)
def _cached_analysis(text: str) -> tuple[str, str]:
    """Analysed text that recurs endlessly (chapter paths, curriculum labels)."""
    return analyse_text(text)


def work_document(
    work_id: str, canonical: Record, members: list[Record], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The search document of one work.

    members: the work's records (the canonical one may or may not be among
    them; deleted ones are ignored). extra: work-level values the records do
    not hold: review_status (default "unreviewed") and datestamp (default: the
    newest member datestamp).
    """
    extra = extra or {}
    # A merged view (repository.search.work_view) carries the work id and is no member itself.
    seen: dict[str, Record] = {} if canonical.id == work_id else {canonical.id: canonical}
    for record in members:
        if not record.deleted:
            seen.setdefault(record.id, record)
    records = list(seen.values()) or [canonical]
    c = canonical.curriculum

    title = canonical.title.strip()  # records arrive clean()ed by the normaliser
    description = (canonical.description or "").strip()
    chapter_path = [p.strip() for p in c.chapter_path if p.strip()]
    alt_titles = list(dict.fromkeys([*canonical.alt_titles, *(r.title for r in records if r.id != canonical.id)]))
    alt_titles = [t for t in alt_titles if t and t != canonical.title][:MAX_ALT_TITLES]
    agents = [a.name for a in canonical.agents]

    text = " ".join([description, *canonical.keywords, *alt_titles, *agents])
    title_tokens, title_chars, full_pinyin, initials = analyse_title(title)
    chapter_tokens, chapter_chars = _cached_analysis(" ".join(chapter_path))
    text_tokens, text_chars = analyse_text(text)
    text_tokens = f"{text_tokens} {_cached_analysis(' '.join(_labels(canonical)))[0]}".strip()

    doc: dict[str, Any] = {
        "id": work_id,
        "title": title,
        "title_tokens": title_tokens,
        "text_tokens": text_tokens,
        "chars": " | ".join(part for part in (title_chars, chapter_chars, text_chars) if part),
        "members_count": len(records),
        "quality": quality_score(canonical),
        "review_status": str(extra.get("review_status") or "unreviewed"),
        "has_video": any(map(_is_video, records)),
        "sources": sorted({r.source for r in records}),
    }
    if description:
        doc["description"] = description[:DESCRIPTION_CHARS]
    if chapter_path:
        doc["chapter_path"] = chapter_path
        doc["chapter"] = " / ".join(chapter_path)
        doc["chapter_tokens"] = chapter_tokens
    if full_pinyin:
        doc["title_pinyin"] = full_pinyin
        doc["title_initials"] = initials
    if c.stage:
        doc["stage"], doc["stage_label"] = c.stage.code, c.stage.zh
    if c.grade:
        doc["grade"] = c.grade
    if c.grade_label:
        doc["grade_label"] = c.grade_label
    if c.subject:
        doc["subject"], doc["subject_label"] = c.subject.code, c.subject.zh
    if c.edition:
        doc["edition"], doc["edition_label"] = c.edition.code, c.edition.label
    if c.volume:
        doc["volume"], doc["volume_label"] = c.volume.code, c.volume.zh
    if c.class_hour:
        doc["class_hour"] = c.class_hour
    if canonical.resource_type:
        doc["resource_type"] = canonical.resource_type.code
        doc["resource_type_label"] = canonical.resource_type.zh
    levels = [r.source_level for r in records if r.source_level in _LEVEL_RANK]
    if levels:
        doc["source_level"] = min(levels, key=_LEVEL_RANK.__getitem__)
    honours = {h for r in records for h in r.honours}
    if honours:
        rank = _honour_rank()
        doc["honours"] = sorted(honours, key=lambda h: (rank.get(h, len(rank)), h))
    fmt = canonical.format or _first(records, "format")
    if fmt:
        doc["format"] = fmt
    seconds = duration_seconds(canonical.duration or _first(records, "duration"))
    if seconds is not None:
        doc["duration"] = seconds
    stamp = extra.get("datestamp")
    if not stamp:
        stamps = [s for s in (r.datestamp or r.modified or r.harvested for r in records) if s]
        stamp = (max(stamps, key=utc) if len(stamps) > 1 else stamps[0]) if stamps else None
    if stamp:
        doc["datestamp"] = iso_utc(stamp)
    url = canonical.url or _first(records, "url")
    if url:
        doc["url"] = url
    thumbnails = canonical.thumbnails or _first(records, "thumbnails")
    if thumbnails:
        doc["thumbnail"] = thumbnails[0]
    return doc
