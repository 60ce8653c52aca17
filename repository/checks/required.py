"""Required fields present: what a teacher needs to find and judge a resource.

Missing a required field fails (the record cannot be published usefully);
missing a recommended one (grade, edition) warns. Grade is recommended only
where every textbook has one (primary and junior school): the national tree has
no grade under 高中. Keywords are not asked for: the national platform, the
reference source, publishes none.
"""

from __future__ import annotations

from repository.checks.base import WARN, Context, Finding, Result, Row
from schemas.record import Record

GRADED_STAGES = ("primary", "junior")
CODES = ("required.missing", "required.recommended")


def missing_required(record: Record) -> list[str]:
    c = record.curriculum
    found = {
        "title": bool(record.title.strip()),
        "description": bool((record.description or "").strip()),
        "curriculum.stage": c.stage is not None,
        "curriculum.subject": c.subject is not None,
        "resource_type": record.resource_type is not None,
        "url": bool(record.url or record.identifiers),  # some way to reach the resource
    }
    return [name for name, present in found.items() if not present]


def missing_recommended(record: Record) -> list[str]:
    c = record.curriculum
    found = {
        "curriculum.grade_label": c.grade is not None or (c.stage is not None and c.stage.code not in GRADED_STAGES),
        "curriculum.edition": c.edition is not None,
    }
    return [name for name, present in found.items() if not present]


def check(record: Record, row: Row, context: Context) -> Result:
    findings = []
    if required := missing_required(record):
        findings.append(Finding("required.missing", {"fields": required}))
    if recommended := missing_recommended(record):
        findings.append(Finding("required.recommended", {"fields": recommended}, WARN))
    return Result.of(findings)
