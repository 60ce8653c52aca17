"""The figures behind the operators' dashboard, as aggregate queries.

Why a module apart from the view: every figure must stay fast on a store of a
million records, so each is one GROUP BY (or a paged SELECT) that the database
answers from an index, and no function here loads records into Python. The
indexes they lean on (migration 0004): records (review_status, source_level,
deleted, datestamp) for the level × status table and the backlog, records
(work_id) for the works histogram, review_actions (at, decision) for the throughput,
harvest_runs (source_id, started) and the primary keys for the paged lists.

Days and times are those of SCHEDULE_TIMEZONE, the zone operators read
schedules in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from repository.ingest import harvest_holder
from repository.models import HarvestRun, Quarantine, RecordRow, ReviewAction, Source
from repository.settings import Settings
from repository.store import Store

PREVIEW_BYTES = 16 * 1024
BACKLOG_BUCKETS = (("day", 1), ("week", 7), ("month", 30), ("quarter", 90))
"""Pending records younger than 1, 7, 30, 90 days; the rest are "older"."""
SOURCE_STATES = ("idle", "running", "failed", "disabled")


@dataclass
class SourceStatus:
    name: str
    kind: str
    level: str | None
    enabled: bool
    auto_approve: bool
    schedule: str
    state: str
    last_run: HarvestRun | None
    next_run: datetime | None
    schedule_problem: str | None


def source_state(enabled: bool, last_status: str | None, harvesting: bool) -> str:
    """idle, running, failed or disabled: what an operator needs to know first."""
    if not enabled:
        return "disabled"
    if harvesting:
        return "running"
    if last_status in ("failed", "interrupted", "running"):  # "running" without a live lock: the process died
        return "failed"
    return "idle"


def sources(store: Store, settings: Settings) -> list[SourceStatus]:
    """Every source with its state, last run and next scheduled run (harvester/schedule.py's own reading)."""
    from harvester.schedule import list_schedule

    stale = settings["HARVEST_STALE_AFTER"]
    planned = {entry.name: entry for entry in list_schedule(store, settings)}
    with store.session() as s:
        latest = select(func.max(HarvestRun.id)).group_by(HarvestRun.source_id).scalar_subquery()
        runs = {run.source_id: run for run in s.scalars(select(HarvestRun).where(HarvestRun.id.in_(latest)))}
        rows = list(s.scalars(select(Source).order_by(Source.name)))
        s.expunge_all()
    found = []
    for source in rows:
        run = runs.get(source.id)
        harvesting = source.enabled and harvest_holder(store, source.name, stale_after=stale) is not None
        entry = planned.get(source.name)
        found.append(SourceStatus(
            name=source.name, kind=source.kind, level=source.level, enabled=source.enabled,
            auto_approve=source.auto_approve, schedule=" ".join((source.schedule or "").split()),
            state=source_state(source.enabled, run.status if run else None, harvesting), last_run=run,
            next_run=entry.next_run if entry else None, schedule_problem=entry.problem if entry else None))
    return found


def records_by_level_and_status(s: Session) -> dict[tuple[str | None, str], int]:
    """Live records counted per (source level, review status)."""
    query = (select(RecordRow.review_status, RecordRow.source_level, func.count())
             .where(RecordRow.deleted.is_(False))
             .group_by(RecordRow.review_status, RecordRow.source_level))
    return {(level, status): n for status, level, n in s.execute(query)}


def runs_page(s: Session, page: int, size: int) -> tuple[int, list[Any]]:
    """(total, one page of runs newest first, each with its source's name)."""
    total = s.scalar(select(func.count()).select_from(HarvestRun)) or 0
    rows = list(s.execute(
        select(HarvestRun, Source.name.label("source")).join(Source, Source.id == HarvestRun.source_id)
        .order_by(HarvestRun.id.desc()).limit(size).offset((page - 1) * size)))
    return total, rows


def quarantine_page(s: Session, page: int, size: int) -> tuple[int, list[Any]]:
    """(total, one page of quarantine entries newest first, with the payload's size but not its bytes)."""
    q = Quarantine
    total = s.scalar(select(func.count()).select_from(q)) or 0
    rows = list(s.execute(
        select(q.id, q.created, q.stage, q.reason, q.locator, q.run_id, Source.name.label("source"),
               func.length(q.raw).label("size"))
        .outerjoin(Source, Source.id == q.source_id).order_by(q.id.desc()).limit(size).offset((page - 1) * size)))
    return total, rows


def quarantine_entry(s: Session, entry_id: int, preview: int = PREVIEW_BYTES) -> Any:
    """One entry with the first ``preview`` + 1 bytes of its payload (enough to tell it was cut)."""
    q = Quarantine
    return s.execute(
        select(q.id, q.created, q.stage, q.reason, q.locator, q.run_id, Source.name.label("source"),
               func.length(q.raw).label("size"), func.substr(q.raw, 1, preview + 1).label("head"))
        .outerjoin(Source, Source.id == q.source_id).where(q.id == entry_id)).first()


def printable(raw: bytes) -> str:
    """Payload bytes as text to show: UTF-8 where it decodes, \\xNN for the rest and for control bytes."""
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(ch if ch in "\n\r\t" or ord(ch) >= 32 and ord(ch) != 127 else f"\\x{ord(ch):02x}" for ch in text)


@dataclass
class DedupFigures:
    works: int
    records: int
    histogram: list[tuple[int, int]]  # (records in the work, works of that size), smallest first

    @property
    def per_work(self) -> float:
        return self.records / self.works if self.works else 0.0


def dedup_figures(s: Session) -> DedupFigures:
    """Works and the records grouped into them (a record withdrawn at its source stays in its work)."""
    sizes = (select(func.count().label("n")).select_from(RecordRow).where(RecordRow.work_id.is_not(None))
             .group_by(RecordRow.work_id).subquery())
    histogram = sorted((int(n), int(works)) for n, works in s.execute(
        select(sizes.c.n, func.count()).group_by(sizes.c.n)))
    return DedupFigures(works=sum(w for _, w in histogram), records=sum(n * w for n, w in histogram),
                        histogram=histogram)


def size_buckets(histogram: list[tuple[int, int]]) -> list[tuple[str, int]]:
    """Works per size, with sizes 1–5 apart and larger works in 6–10, 11–20, 21+."""
    bins = [("1", 1, 1), ("2", 2, 2), ("3", 3, 3), ("4", 4, 4), ("5", 5, 5), ("6–10", 6, 10), ("11–20", 11, 20),
            ("21+", 21, None)]
    return [(label, sum(w for n, w in histogram if n >= low and (high is None or n <= high)))
            for label, low, high in bins]


def _day(column: Any, dialect: str, tz: ZoneInfo) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone(tz.key, column), "YYYY-MM-DD")
    offset = int((datetime.now(tz).utcoffset() or timedelta()).total_seconds() // 60)
    return func.date(column, f"{offset:+d} minutes")  # SQLite keeps naive UTC text; zones without DST are exact


def review_throughput(s: Session, tz: ZoneInfo, days: int = 30, *, today: date | None = None
                      ) -> list[tuple[date, dict[str, int]]]:
    """Review decisions per day (and per decision) over the last ``days`` days, today last, empty days too."""
    today = today or datetime.now(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tz)
    day = _day(ReviewAction.at, s.get_bind().dialect.name, tz).label("day")
    counts: dict[date, dict[str, int]] = {first + timedelta(days=n): {} for n in range(days)}
    for value, decision, n in s.execute(select(day, ReviewAction.decision, func.count())
                                        .where(ReviewAction.at >= since).group_by(day, ReviewAction.decision)):
        key = date.fromisoformat(str(value)[:10])
        if key in counts:
            counts[key][decision] = n
    return sorted(counts.items())


def backlog(s: Session, now: datetime) -> list[tuple[str, int]]:
    """Pending live records by how long ago their content last changed (our datestamp)."""
    limits = [(name, now - timedelta(days=n)) for name, n in BACKLOG_BUCKETS]
    columns = []
    for n, (name, limit) in enumerate(limits):
        newer = RecordRow.datestamp >= limit
        older = RecordRow.datestamp < limits[n - 1][1] if n else None
        condition = newer if older is None else newer & older
        columns.append(func.sum(case((condition, 1), else_=0)).label(name))
    columns.append(func.sum(case((RecordRow.datestamp < limits[-1][1], 1), else_=0)).label("older"))
    row = s.execute(select(*columns).where(RecordRow.review_status == "pending",
                                           RecordRow.deleted.is_(False))).one()
    return [(name, int(value or 0)) for name, value in zip([*(n for n, _ in limits), "older"], row, strict=True)]
