"""Which works are published, and the OAI-PMH view of them kept in step.

The rule: a work is *published* while it is active and at least one of its
live member records is approved. Publication, like content, is part of what
a harvester sees, so a flip moves the work's datestamp (dedupe moves it on
content changes). A work that was ever published stays visible to OAI-PMH
for good (``ever_published``; deletedRecord=persistent): as a record while
published, as a tombstone once withdrawn (no approved member left), deleted
(no member left) or merged into another work.

``refresh()`` recomputes all of that, plus the work_sets rows (set
membership with a copy of the datestamp, for selective harvests at any
size), for the works it is given and for every work whose datestamp moved
since the last refresh, so it also catches what `huiju dedupe` changed.
A datestamp dedupe moved is re-assigned here, inside one short write
transaction: dedupe takes its stamp before a transaction that may run long,
and a harvester may have passed that stamp before the commit (see "late
commits" in docs/oai-pmh.md; SLACK bounds how long such a transaction may
be). Call it after anything that changes review status or works; it is
idempotent. ``set_review_status()`` is the one way this module changes
review status: each change is audited, then publication is refreshed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
from sqlalchemy import Table, bindparam, delete, func, insert, select, text, true, tuple_, update

from repository.db import UTCDateTime, driver_datetime, driver_executemany, utcnow
from repository.models import AuditLog, RecordRow, ReviewAction, Source, Work, WorkSet
from repository.oai.sets import set_specs
from repository.store import Store
from schemas.record import Record

WATERMARK = "publication.watermark"
SLACK = timedelta(minutes=10)  # re-examine works stamped a little before the last refresh (late commits)
_CHUNK = 500
_works = cast(Table, Work.__table__)
_records = cast(Table, RecordRow.__table__)
_sets = cast(Table, WorkSet.__table__)
_sources = cast(Table, Source.__table__)
_audit = cast(Table, AuditLog.__table__)


class _View(msgspec.Struct):
    record: Record


_decode_view = msgspec.json.Decoder(_View)


def work_record(data: bytes) -> Record:
    """The merged record a Work row's ``data`` holds (repository/works.py writes it)."""
    return _decode_view.decode(data).record


@dataclass
class PublicationReport:
    examined: int = 0
    published: int = 0
    withdrawn: int = 0
    sets_changed: int = 0
    flipped: set[str] = field(default_factory=set)  # works whose published flag changed (search must follow)

    def summary(self) -> str:
        return (f"{self.examined} works examined: {self.published} published, {self.withdrawn} withdrawn, "
                f"{self.sets_changed} with new set membership")


def _chunks(items: list[str], size: int = _CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def refresh(
    store: Store, work_ids: Iterable[str] = (), *, full: bool = False, actor: str = "system"
) -> PublicationReport:
    """Bring publication flags, datestamps and work_sets up to date; returns what changed."""
    started = utcnow()
    ids = set(work_ids)
    watermark = store.get_setting(WATERMARK)
    since = None if full or watermark is None else datetime.fromisoformat(watermark) - SLACK
    with store.session() as s:
        query = select(_works.c.id)
        if since is not None:
            query = query.where(_works.c.datestamp >= since)
        ids.update(s.scalars(query))
    report = PublicationReport()
    for chunk in _chunks(sorted(ids)):
        _refresh_chunk(store, chunk, actor, report)
    store.set_setting(WATERMARK, started.isoformat())
    return report


def _refresh_chunk(store: Store, ids: list[str], actor: str, report: PublicationReport) -> None:
    """One chunk in one write transaction: the decisions per work first, then one executemany per kind of
    change (statements per work and an ORM flush per audit entry were most of a refresh's time)."""
    w, r, ws = _works.c, _records.c, _sets.c
    with store.session(write=True) as s:
        works = s.execute(select(w.id, w.status, w.published, w.ever_published, w.datestamp, w.data)
                          .where(w.id.in_(ids))).all()
        now = utcnow()  # after the first statement: on SQLite the write lock is held, so stamps follow commits
        members: dict[str, list[Any]] = defaultdict(list)
        for row in s.execute(
            select(r.work_id, r.review_status, _sources.c.name, _sources.c.level, r.source_level)
            .join(_sources, _sources.c.id == r.source_id).where(r.work_id.in_(ids), r.deleted.is_(False))
        ).all():
            members[row.work_id].append(row)
        current: dict[str, dict[str, datetime]] = defaultdict(dict)
        for row in s.execute(select(ws.work_id, ws.set_spec, ws.datestamp).where(ws.work_id.in_(ids))).all():
            current[row.work_id][row.set_spec] = row.datestamp
        changes = _Changes()
        for work in works:
            _decide(work, members[work.id], current[work.id], now, actor, report, changes)
        changes.write(s)


@dataclass
class _Changes:
    """What a chunk's works need written, gathered for one executemany per kind of statement."""

    audits: list[dict[str, Any]] = field(default_factory=list)
    works: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    gone: list[dict[str, Any]] = field(default_factory=list)  # work_sets rows to delete
    stale: list[dict[str, Any]] = field(default_factory=list)  # work_sets rows to re-stamp
    new: list[dict[str, Any]] = field(default_factory=list)  # work_sets rows to insert

    def write(self, s: Any) -> None:
        """Deletes, updates, inserts: each work's rows are distinct, so the order across works does not matter.
        The work and set rows go to the driver as they are (driver_executemany), their datestamps converted once."""
        w, ws = _works.c, _sets.c
        to_driver, converted = driver_datetime(s.connection().dialect.name), {}

        def stamp(value: datetime) -> Any:  # a chunk's rows share a few stamps (often one: now)
            found = converted.get(value)
            if found is None:
                found = converted[value] = to_driver(value)
            return found

        if self.audits:
            s.execute(insert(_audit), self.audits)
        one_set = (ws.work_id == bindparam("w_id"), ws.set_spec == bindparam("w_spec"))
        driver_executemany(s, delete(_sets).where(*one_set), self.gone)
        for columns, rows in self.works.items():  # grouped by the columns set: one SET clause per group
            if "datestamp" in columns:
                rows = [{**row, "datestamp": stamp(row["datestamp"])} for row in rows]
            driver_executemany(s, update(_works).where(w.id == bindparam("w_id"))
                               .values({name: bindparam(name) for name in columns}), rows)
        driver_executemany(s, update(_sets).where(*one_set).values(datestamp=bindparam("w_stamp")),
                           [{**row, "w_stamp": stamp(row["w_stamp"])} for row in self.stale])
        driver_executemany(s, insert(_sets).values({name: bindparam(name) for name in ("work_id", "set_spec",
                                                                                       "datestamp")}),
                           [{**row, "datestamp": stamp(row["datestamp"])} for row in self.new])


def _decide(work: Any, mine: list[Any], current: dict[str, datetime], now: datetime, actor: str,
            report: PublicationReport, changes: _Changes) -> None:
    """One work's publication flag, datestamp and set membership, added to ``changes``."""
    live = work.status == "active" and any(m.review_status == "approved" for m in mine)
    ever = work.ever_published or live
    stamp = work.datestamp
    values: dict[str, Any] = {}
    report.examined += 1
    if live != work.published:
        values.update(published=live, ever_published=ever)
        if work.status == "active":  # a retired work was stamped when dedupe retired it
            stamp = now
        report.published += live
        report.withdrawn += not live
        report.flipped.add(work.id)
        changes.audits.append({"at": utcnow(), "actor": actor,
                               "action": "work.published" if live else "work.withdrawn", "target_type": "work",
                               "target_id": work.id, "before": {"published": work.published},
                               "after": {"published": live}})
    if not ever:
        return
    copies = set(current.values())
    if copies and copies != {work.datestamp}:
        # dedupe moved the datestamp since our last pass, stamped before its (maybe long) transaction
        # committed: re-stamp here, in a short transaction, so no harvester can have passed it already
        stamp = now
    specs = set(current)
    if work.status == "active" and work.data is not None:
        wanted = set(set_specs(work_record(work.data), [(m.name, m.level or m.source_level) for m in mine]))
        if wanted != specs:
            report.sets_changed += 1
            if work.ever_published and stamp == work.datestamp:
                stamp = now  # the header's setSpecs changed: harvesters must see it again
            gone, specs = specs - wanted, wanted
            changes.gone += [{"w_id": work.id, "w_spec": spec} for spec in sorted(gone)]
    if stamp != work.datestamp:
        values["datestamp"] = stamp
    if values:
        changes.works[tuple(values)].append({"w_id": work.id, **values})
    changes.stale += [{"w_id": work.id, "w_spec": spec, "w_stamp": stamp}
                      for spec in sorted(specs) if current.get(spec, stamp) != stamp]
    changes.new += [{"work_id": work.id, "set_spec": spec, "datestamp": stamp}
                    for spec in sorted(specs) if spec not in current]


# -- review -------------------------------------------------------------------------------------


@dataclass
class ReviewReport:
    changed: int
    publication: PublicationReport

    def summary(self) -> str:
        return f"{self.changed} records changed; {self.publication.summary()}"


def set_review_status(
    store: Store, record_ids: Iterable[str], status: str, *, actor: str, comment: str = "",
    level: str | None = None, basis: dict[str, Any] | None = None,
) -> ReviewReport:
    """Set records' review status, with a review action and an audit entry per change, then
    refresh the publication of the works they belong to. ``level`` is the review stage (or "policy");
    ``basis`` is added to the audit entry's after (why the change was made, e.g. a source policy).
    Curators' rubric decisions go through repository/review_decisions.py instead."""
    changed = 0
    works: set[str] = set()
    for chunk in _chunks(sorted(set(record_ids))):
        with store.session(write=True) as s:
            rows = s.execute(select(_records.c.id, _records.c.review_status, _records.c.work_id)
                             .where(_records.c.id.in_(chunk), _records.c.review_status != status)).all()
            if not rows:
                continue
            s.execute(update(_records).where(_records.c.id.in_([row.id for row in rows])).values(review_status=status))
            for row in rows:
                s.add(ReviewAction(record_id=row.id, actor=actor, decision=status, level=level, comment=comment))
                s.add(AuditLog(actor=actor, action=f"record.{status}", target_type="record", target_id=row.id,
                               before={"review_status": row.review_status},
                               after={"review_status": status, **(basis or {})}))
                if row.work_id:
                    works.add(row.work_id)
            changed += len(rows)
    return ReviewReport(changed, refresh(store, works, actor=actor))


def approve_source(store: Store, source: str, *, actor: str) -> ReviewReport:
    """Approve every pending live record of a source (`huiju review approve --source`, the queue's bulk
    button): trusted-source onboarding, a policy decision that approves outright whatever the review
    stages, recorded as such (stage "policy", no rubric scores, basis in the audit entry)."""
    found = store.get_source(source)
    if found is None:
        raise KeyError(f"no source named {source!r}")
    with store.session() as s:
        ids = list(s.scalars(select(_records.c.id).where(
            _records.c.source_id == found.id, _records.c.review_status == "pending", _records.c.deleted.is_(False))))
    return set_review_status(store, ids, "approved", actor=actor, level="policy",
                             comment=f"source policy: every pending record of {source}",
                             basis={"basis": "source-policy", "source": source})


# -- what OAI-PMH reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A list's selection: [start, end) from the request, capped at ``cap`` (inclusive)."""

    cap: datetime
    start: datetime | None = None
    end: datetime | None = None
    set_spec: str | None = None


@dataclass(frozen=True)
class WorkRow:
    id: str
    status: str
    published: bool
    successor_id: str | None
    datestamp: datetime
    data: bytes | None


class Catalogue:
    """Read queries over harvestable works; each list query is one index range scan.

    Without a set: works(ever_published, datestamp, id). With a set:
    work_sets(set_spec, datestamp, work_id), then works by primary key. Pages
    continue after a (datestamp, id) keyset cursor, so page 5,000 costs what
    page 1 costs.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _range(window: Window) -> tuple[Any, Any, list[Any]]:
        """(datestamp column, id column, conditions) of the index that serves this window."""
        if window.set_spec is None:
            stamp, key = _works.c.datestamp, _works.c.id
            where = [_works.c.ever_published == true()]
        else:
            stamp, key = _sets.c.datestamp, _sets.c.work_id
            where = [_sets.c.set_spec == window.set_spec]
        where.append(stamp <= window.cap)
        if window.start is not None:
            where.append(stamp >= window.start)
        if window.end is not None:
            where.append(stamp < window.end)
        return stamp, key, where

    def page(self, window: Window, after: tuple[datetime, str] | None, limit: int, *, data: bool) -> list[WorkRow]:
        w = _works.c
        stamp, key, where = self._range(window)
        if after is not None:
            where.append(tuple_(stamp, key) > tuple_(bindparam(None, after[0], type_=UTCDateTime()),
                                                     bindparam(None, after[1])))
        query = select(w.id, w.status, w.published, w.successor_id, w.data if data else w.id, stamp.label("stamp"))
        if window.set_spec is not None:
            query = query.select_from(_sets.join(_works, w.id == key))
        with self.store.session() as s:
            rows = s.execute(query.where(*where).order_by(stamp, key).limit(limit)).all()
        return [WorkRow(row[0], row[1], row[2], row[3], row.stamp, row[4] if data else None) for row in rows]

    def count(self, window: Window) -> int:
        """completeListSize: counted on the index alone (no table rows are read)."""
        _, _, where = self._range(window)
        table = _works if window.set_spec is None else _sets
        with self.store.session() as s:
            return s.scalar(select(func.count()).select_from(table).where(*where)) or 0

    def get(self, work_id: str) -> WorkRow | None:
        w = _works.c
        with self.store.session() as s:
            row = s.execute(select(w.id, w.status, w.published, w.successor_id, w.datestamp, w.data)
                            .where(w.id == work_id, w.ever_published == true())).first()
        return None if row is None else WorkRow(*row)

    def earliest(self) -> datetime | None:
        with self.store.session() as s:
            return s.scalar(select(func.min(_works.c.datestamp)).where(_works.c.ever_published == true()))

    def set_specs_of(self, work_ids: list[str]) -> dict[str, list[str]]:
        """Each work's sets, most specific only (a:b implies a)."""
        found: dict[str, list[str]] = defaultdict(list)
        if work_ids:
            with self.store.session() as s:
                for work_id, spec in s.execute(select(_sets.c.work_id, _sets.c.set_spec).where(
                        _sets.c.work_id.in_(work_ids), _sets.c.set_spec.contains(":", autoescape=True))):
                    found[work_id].append(spec)
        for specs in found.values():
            specs.sort()
        return found

    def all_set_specs(self) -> list[str]:
        """Distinct set specs in use: a loose index scan (one index probe per set, not per row)."""
        sql = text(
            "WITH RECURSIVE s(spec) AS (SELECT min(set_spec) FROM work_sets UNION ALL "
            "SELECT (SELECT min(set_spec) FROM work_sets WHERE set_spec > s.spec) FROM s WHERE s.spec IS NOT NULL) "
            "SELECT spec FROM s WHERE spec IS NOT NULL"
        )
        with self.store.session() as s:
            return list(s.scalars(sql))

    def edition_labels(self, specs: Iterable[str]) -> dict[str, str]:
        """Labels of edition sets as a work in each set spells them (e.g. 人教A版 for pep-a)."""
        labels = {}
        with self.store.session() as s:
            for spec in specs:
                data = s.scalar(select(_works.c.data).select_from(_sets.join(_works, _works.c.id == _sets.c.work_id))
                                .where(_sets.c.set_spec == spec).limit(1))
                edition = work_record(data).curriculum.edition if data else None
                if edition is not None:
                    labels[spec] = edition.label
        return labels
