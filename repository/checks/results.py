"""Stored check results, read back for the review pages (queue priority, flags, the record page),
and the queue's filters that look into records (subject, age)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from repository.checks.base import SEVERITY, parse_detail
from repository.checks.registry import NAMES
from repository.db import utcnow
from repository.models import RecordCheck, RecordRow
from schemas.vocab import vocabulary

FLAGGED = ("fail", "warn")


@dataclass(frozen=True)
class StoredResult:
    name: str
    outcome: str
    findings: list[tuple[str, dict[str, Any]]]
    checked: datetime


def _order(name: str) -> int:
    return NAMES.index(name) if name in NAMES else len(NAMES)


def results_for(session: Session, record_ids: list[str]) -> dict[str, list[StoredResult]]:
    """Every stored result of the records, in registry order."""
    found: dict[str, list[StoredResult]] = {rid: [] for rid in record_ids}
    if not record_ids:
        return found
    for row in session.scalars(select(RecordCheck).where(RecordCheck.record_id.in_(record_ids))):
        found[row.record_id].append(StoredResult(row.name, row.outcome, parse_detail(row.detail), row.checked))
    for results in found.values():
        results.sort(key=lambda r: _order(r.name))
    return found


@dataclass(frozen=True)
class CheckTable:
    """Results of several records side by side: check names (rows) and each record's result by name."""

    names: list[str]
    cells: dict[str, dict[str, StoredResult]]


def table_for(session: Session, record_ids: list[str]) -> CheckTable:
    found = results_for(session, record_ids)
    cells = {rid: {r.name: r for r in results} for rid, results in found.items()}
    names = sorted({name for by_name in cells.values() for name in by_name}, key=_order)
    return CheckTable(names, cells)


def flags_for(session: Session, record_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Record id -> [(check name, outcome)] of its failing and warning checks, failures first."""
    found: dict[str, list[tuple[str, str]]] = {rid: [] for rid in record_ids}
    if not record_ids:
        return found
    rows = session.execute(select(RecordCheck.record_id, RecordCheck.name, RecordCheck.outcome).where(
        RecordCheck.record_id.in_(record_ids), RecordCheck.outcome.in_(FLAGGED)))
    for rid, name, outcome in rows:
        found[rid].append((name, outcome))
    for flags in found.values():
        flags.sort(key=lambda f: (-SEVERITY[f[1]], _order(f[0])))
    return found


def priority() -> Any:
    """A record's worst outcome as 2 (fail), 1 (warn) or 0 (pass, or not checked): the queue's order.
    Correlated per record (the primary key (record_id, name) serves it), so only the queue's own rows
    are looked at, not every stored result."""
    level = case((RecordCheck.outcome == "fail", 2), (RecordCheck.outcome == "warn", 1), else_=0)
    worst = select(func.max(level)).where(RecordCheck.record_id == RecordRow.id).correlate(RecordRow)
    return func.coalesce(worst.scalar_subquery(), 0)


def flagged_by(name: str) -> Any:
    """Ids of records whose check ``name`` fails or warns (for the queue's flag filter)."""
    return select(RecordCheck.record_id).where(RecordCheck.name == name, RecordCheck.outcome.in_(FLAGGED))


def subject_codes() -> list[str]:
    return vocabulary("subjects").codes()


def has_subject(code: str, dialect: str) -> Any:
    """Records whose curriculum subject is ``code``. The subject lives only inside the record's msgspec JSON
    (records.data), where a Term always encodes as {"code":…} first, so looking for the encoded key is exact
    (a string value cannot contain the unescaped quotes). SQLite: instr() on the BLOB (its LIKE does not match
    BLOBs); PostgreSQL: LIKE on bytea. ``code`` must be a vocabulary code (checked by the caller)."""
    needle = f'"subject":{{"code":"{code}"'.encode()
    if dialect == "sqlite":
        return func.instr(RecordRow.data, needle) > 0
    return RecordRow.data.op("LIKE")(b"%" + needle + b"%")  # bytea LIKE bytea (LargeBinary has no .like)


def older_than(days: int) -> Any:
    """Records unchanged for at least ``days`` days (datestamp: first stored or last content change)."""
    return RecordRow.datestamp <= utcnow() - timedelta(days=days)
