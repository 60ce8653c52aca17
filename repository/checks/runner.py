"""Run the checks over stored records and keep their results (record_checks).

A page of records at a time (keyset on id): read the rows' hashes and the
stored results' keys, run only the checks whose key changed (a new or edited
record, a record dedupe moved), decode only the records a due check reads (the
duplicate check, all that is due after a dedupe, reads none), check their
links in parallel when asked, and upsert the results in one statement per page.
A check that does not apply to a row yet (the duplicate check before dedupe)
is not run and stores nothing, unless an older result of it must be replaced.
``everything=True`` re-checks regardless (what `huiju checks run --all` does,
e.g. to re-test links that were alive last week).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from repository.checks.base import FAIL, Check, Context, Finding, Result, Row
from repository.checks.links import LinkChecker, Local, local_option
from repository.checks.registry import selected
from repository.checks.sensitive import load_terms
from repository.db import driver_datetime, utcnow
from repository.models import RecordCheck, RecordRow, Source
from repository.settings import Settings
from repository.store import Store
from schemas.record import from_json

log = logging.getLogger(__name__)
_records = cast(Table, RecordRow.__table__)
_checks = cast(Table, RecordCheck.__table__)
_UPDATED = ("outcome", "detail", "content_hash", "checked")


@dataclass
class CheckReport:
    """What one run did: records looked at, records checked, outcomes per check."""

    seen: int = 0
    checked: int = 0
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(n for (_name, out), n in self.outcomes.items() if out == outcome)

    def summary(self) -> str:
        text = (f"{self.checked} of {self.seen} records checked in {self.seconds:.1f} s: "
                f"{self.count('fail')} fail, {self.count('warn')} warn, {self.count('pass')} pass")
        flagged = sorted({name for (name, out) in self.outcomes if out != "pass"})
        for name in flagged:
            text += (f"\n  {name:11} {self.outcomes[(name, 'fail')]} fail, "
                     f"{self.outcomes[(name, 'warn')]} warn")
        return text


def run_checks(
    store: Store, settings: Settings | None = None, *, ids: list[str] | None = None, source: str | None = None,
    everything: bool = False, links: bool = False, page_size: int = 1000, checker: LinkChecker | None = None,
    progress: Callable[[CheckReport], None] | None = None,
) -> CheckReport:
    """Check live records (all, a source's, or the given ids) whose results are missing or out of date.

    Raises KeyError for an unknown source and ValueError for an unreadable sensitive-term list.
    """
    settings = settings or Settings()
    started = time.monotonic()
    checks = selected(links=links)
    terms = load_terms(settings["CHECKS_SENSITIVE_TERMS"])
    if links and checker is None:
        checker = LinkChecker.from_settings(settings)
    local = _local_sources(store)
    source_id = None
    if source is not None:
        found = store.get_source(source)
        if found is None:
            raise KeyError(f"no source named {source!r}")
        source_id = found.id
    report = CheckReport()
    for rows in _pages(store, ids, source_id, page_size):
        context = Context(terms=terms, members=_members(store, rows))
        due = _due(store, rows, checks, context, everything)
        report.seen += len(rows)
        if due:
            results = _run_page(store, rows, due, context, local, checker)
            _save(store, results)
            report.checked += len(due)
            report.outcomes.update((name, outcome) for _rid, name, outcome, _d, _k in results)
        if progress is not None:
            progress(report)
    report.seconds = time.monotonic() - started
    return report


def check_after_harvest(store: Store, settings: Settings, source: str) -> CheckReport | None:
    """What the harvest runner calls at the end of a run: the source's new and changed records.

    A failing check run is logged and never fails the harvest (its records are stored either way,
    and the next run or `huiju checks run` checks them).
    """
    if not settings["CHECKS_ON_HARVEST"]:
        return None
    try:
        report = run_checks(store, settings, source=source, links=settings["CHECKS_LINKS_ON_HARVEST"])
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("automatic checks after harvesting %s failed", source)
        return None
    log.info("%s: checks: %s", source, report.summary().splitlines()[0])
    return report


def _local_sources(store: Store) -> dict[int, Local]:
    """Source id -> the private addresses its links may use (option ``local_links``; a bad value: none)."""
    found: dict[int, Local] = {}
    with store.session() as s:
        for sid, name, options in s.execute(select(Source.id, Source.name, Source.options)):
            try:
                found[sid] = local_option((options or {}).get("local_links"))
            except ValueError as exc:
                log.warning("source %s: %s; its links are checked as public ones", name, exc)
                found[sid] = False
    return found


def _pages(store: Store, ids: list[str] | None, source_id: int | None, size: int) -> Iterator[list[Row]]:
    c = _records.c
    query = select(c.id, c.source_id, c.content_hash, c.work_id).where(c.deleted.is_(False))
    if source_id is not None:
        query = query.where(c.source_id == source_id)
    if ids is not None:
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), size):
            with store.session() as s:
                found = s.execute(query.where(c.id.in_(wanted[start:start + size])).order_by(c.id)).all()
            yield [Row(*r) for r in found]
        return
    after = ""
    while True:
        with store.session() as s:
            found = s.execute(query.where(c.id > after).order_by(c.id).limit(size)).all()
        if not found:
            return
        yield [Row(*r) for r in found]
        after = found[-1][0]


def _members(store: Store, rows: list[Row]) -> dict[str, list[tuple[str, int]]]:
    """Live members of the page's works (what the duplicate check compares)."""
    works = sorted({r.work_id for r in rows if r.work_id})
    members: dict[str, list[tuple[str, int]]] = {}
    c = _records.c
    for start in range(0, len(works), 1000):
        with store.session() as s:
            for rid, sid, wid in s.execute(select(c.id, c.source_id, c.work_id).where(
                    c.work_id.in_(works[start:start + 1000]), c.deleted.is_(False))).all():
                members.setdefault(wid, []).append((rid, sid))
    return members


Due = dict[str, list[tuple[Check, str]]]
"""Record id -> [(check, the key its new result is stored under)]."""


def _due(store: Store, rows: list[Row], checks: tuple[Check, ...], context: Context, everything: bool) -> Due:
    """The checks whose stored result is missing or was made for other content (all of them when
    ``everything``), leaving out those that do not apply to the row and have no result to replace."""
    query = (select(_checks.c.record_id, _checks.c.name, _checks.c.content_hash)
             .where(_checks.c.record_id.in_([r.id for r in rows])))
    if everything:  # only whether a result exists matters, and only for checks that may not apply
        query = query.where(_checks.c.name.in_([c.name for c in checks if c.applies is not None]))
    with store.session() as s:
        stored: dict[tuple[str, str], str] = {(rid, name): key for rid, name, key in s.execute(query).all()}
    due: Due = {}
    for row in rows:
        todo = []
        for check in checks:
            old = stored.get((row.id, check.name))
            if old is None and check.applies is not None and not check.applies(row):
                continue
            key = check.key_of(row, context)
            if everything or old != key:
                todo.append((check, key))
        if todo:
            due[row.id] = todo
    return due


def _run_page(store: Store, rows: list[Row], due: Due, context: Context, local: dict[int, Local],
              checker: LinkChecker | None) -> list[tuple[str, str, str, str, str]]:
    """(record id, check name, outcome, detail, key) for every due check of the page."""
    reading = [rid for rid, todo in due.items() if any(c.reads_record for c, _key in todo)]
    records = {}
    if reading:
        with store.session() as s:
            records = {rid: from_json(data) for rid, data in s.execute(
                select(_records.c.id, _records.c.data).where(_records.c.id.in_(reading))).all()}
    by_id = {r.id: r for r in rows}
    if checker is not None:
        wanted = [(rid, records[rid].url, local.get(by_id[rid].source_id, False))
                  for rid, todo in due.items() if any(c.network for c, _key in todo)]
        context.links = checker.check_many(wanted)
    results = []
    for rid, todo in due.items():
        record, row = records.get(rid), by_id[rid]
        for check, key in todo:
            result = _safely(check, record, row, context)
            results.append((rid, check.name, result.outcome, result.detail(), key))
    return results


def _safely(check: Check, record: Any, row: Row, context: Context) -> Result:
    """A check that raises is a bug in the check, not in the record: noted as a failure, the run goes on."""
    try:
        return check.run(record, row, context)
    except Exception as exc:  # noqa: BLE001
        log.exception("check %s failed on record %s", check.name, row.id)
        return Result.of([Finding("error", {"error": type(exc).__name__}, FAIL)])


_COLUMNS = ("record_id", "name", "outcome", "detail", "content_hash", "checked")
_compiled: dict[str, tuple[str, tuple[int, ...]]] = {}  # dialect -> (upsert SQL, parameter order)


def _upsert_sql(store: Store) -> tuple[str, tuple[int, ...]]:
    """INSERT … ON CONFLICT (record_id, name) DO UPDATE, compiled once per dialect for the raw driver."""
    if store.dialect not in _compiled:
        insert = sqlite_insert if store.dialect == "sqlite" else pg_insert
        stmt = insert(_checks).values({name: bindparam(name) for name in _COLUMNS})
        stmt = stmt.on_conflict_do_update(index_elements=[_checks.c.record_id, _checks.c.name],
                                          set_={name: stmt.excluded[name] for name in _UPDATED})
        dialect = store.engine.dialect
        if store.dialect == "postgresql":
            dialect = type(dialect)(paramstyle="format")  # type: ignore[call-arg]  # tuples, not dicts
        done = stmt.compile(dialect=dialect)
        _compiled[store.dialect] = (done.string, tuple(_COLUMNS.index(n) for n in done.positiontup or ()))
    return _compiled[store.dialect]


def _save(store: Store, results: list[tuple[str, str, str, str, str]]) -> None:
    """Upsert the page's results in one driver-level executemany (as the store's record upserts do:
    SQLAlchemy's per-value processing would be half the run's time)."""
    sql, order = _upsert_sql(store)
    now = driver_datetime(store.dialect)(utcnow())
    if order == tuple(range(len(_COLUMNS))):
        rows = [(*result, now) for result in results]
    else:
        rows = [tuple((*result, now)[i] for i in order) for result in results]
    with store.session(write=True) as s:
        s.connection().exec_driver_sql(sql, rows)  # type: ignore[arg-type]
