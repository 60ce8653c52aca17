"""Checks a mapped record must pass before it is stored.

Only what makes a record unusable rejects it here; quality problems (placeholder
descriptions, dead links…) are review flags, not rejections.
"""

from __future__ import annotations

from schemas.record import SOURCE_LEVELS, Record

MAX_TITLE = 1000
MAX_DESCRIPTION = 20000


def problems(record: Record) -> list[str]:
    """Reasons the record cannot be stored; [] when it can."""
    found = []
    if not record.source_record_id.strip():
        found.append("no source record id")
    if not record.deleted and not record.title.strip():
        found.append("no title")
    if len(record.title) > MAX_TITLE:
        found.append(f"title longer than {MAX_TITLE} characters")
    if record.description and len(record.description) > MAX_DESCRIPTION:
        found.append(f"description longer than {MAX_DESCRIPTION} characters")
    if record.source_level and record.source_level not in SOURCE_LEVELS:
        found.append(f"unknown source level {record.source_level!r}")
    grade = record.curriculum.grade
    if grade is not None and not 1 <= grade <= 12:
        found.append(f"grade {grade} outside 1-12")
    return found
