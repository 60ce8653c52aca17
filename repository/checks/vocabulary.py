"""Vocabulary values valid: every coded value is a code of its vocabulary (schemas/vocab/*.json).

A code that is not in its vocabulary, or a grade that contradicts the stage,
fails; values the normaliser could not map (kept in ``unmapped``) and honours
or licences it cannot name warn, so a curator extends the vocabulary or the
crosswalk instead of guessing.
"""

from __future__ import annotations

from functools import cache

from repository.checks.base import WARN, Context, Finding, Result, Row
from schemas.record import SOURCE_LEVELS, Record
from schemas.vocab import grade_entries, vocabulary

CODES = ("vocabulary.unknown", "vocabulary.grade_stage", "vocabulary.unmapped", "vocabulary.unnamed")


@cache
def _edition_codes() -> frozenset[str]:
    return frozenset(vocabulary("editions").codes())


def edition_known(code: str) -> bool:
    """Edition codes are a vocabulary code, or ``<code>-<variant>`` (schemas.vocab.edition_term)."""
    if code in _edition_codes():
        return True
    parts = code.split("-")
    return any("-".join(parts[:n]) in _edition_codes() for n in range(1, len(parts)))


def volume_known(code: str) -> bool:
    """Simple volumes are codes; modules and 第N册 are ``compulsory-1``, ``book-2`` (schemas/normalise.py)."""
    base, _, number = code.rpartition("-")
    return code in vocabulary("volumes").entries or (
        number.isdigit() and (base in vocabulary("volumes").entries or base == "book"))


@cache
def _grades() -> dict[int, dict]:
    """schemas.vocab.grade_entries builds its dict on every call; the vocabulary files do not change."""
    return grade_entries()


def grade_fits(grade: int, stage: str | None, system: str | None) -> bool:
    entry = _grades().get(grade)
    if entry is None:
        return False
    if stage is None or entry.get("stage") == stage:
        return True
    return grade == 6 and stage in ("primary", "junior") and system != "6-3"  # 五四制: grade 6 is junior


def check(record: Record, row: Row, context: Context) -> Result:
    c = record.curriculum
    findings: list[Finding] = []
    coded = {"curriculum.stage": ("stages", c.stage), "curriculum.subject": ("subjects", c.subject),
             "resource_type": ("resource_types", record.resource_type)}
    for name, (vocab, term) in coded.items():
        if term is not None and term.code not in vocabulary(vocab).entries:
            findings.append(Finding("vocabulary.unknown", {"field": name, "value": term.code}))
    if c.volume is not None and not volume_known(c.volume.code):
        findings.append(Finding("vocabulary.unknown", {"field": "curriculum.volume", "value": c.volume.code}))
    if c.edition is not None and not edition_known(c.edition.code):
        findings.append(Finding("vocabulary.unknown", {"field": "curriculum.edition", "value": c.edition.code}))
    if record.source_level is not None and record.source_level not in SOURCE_LEVELS:
        findings.append(Finding("vocabulary.unknown", {"field": "source_level", "value": record.source_level}))
    if c.grade is not None and not grade_fits(c.grade, c.stage.code if c.stage else None, c.school_system):
        findings.append(Finding("vocabulary.grade_stage", {"grade": c.grade, "stage": c.stage.code if c.stage else ""}))
    unnamed = [h for h in record.honours if vocabulary("honours").lookup(h) is None]
    if record.licence and vocabulary("licences").lookup(record.licence) is None:
        unnamed.append(record.licence)
    if unnamed:
        findings.append(Finding("vocabulary.unnamed", {"values": unnamed[:5]}, WARN))
    if record.unmapped:
        fields = sorted({u.field for u in record.unmapped})
        findings.append(Finding("vocabulary.unmapped", {"fields": fields}, WARN))
    return Result.of(findings)
