"""Keep the store's works in step with the dedup engine (index/dedup).

`dedupe()` feeds the engine the records that changed since the last run,
then writes what moved: a Work row per new or changed cluster (canonical
record, merged view with per-field provenance) and each record's work_id. A
work that disappears becomes a tombstone: `merged` into the work its former
canonical record now belongs to, or `deleted`. Curator decisions live in the
work_decisions table (and the audit log) and always win.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import msgspec
from sqlalchemy import Table, bindparam, insert, select, update

from index.dedup.canonical import member_order, merge
from index.dedup.cluster import Decision
from index.dedup.engine import DedupEngine
from index.dedup.persist import Writer, open_engine, replace_atomically
from repository.db import driver_datetime, driver_executemany, roomy_page_cache
from repository.dedupe_workers import parallel_features, use_workers
from repository.models import RecordRow, Work, WorkDecision
from repository.store import Store
from repository.worker_pool import ordered_map, worker_count, worker_store

_records = cast(Table, RecordRow.__table__)
_works = cast(Table, Work.__table__)
_CHUNK = 500  # works per batch: their member records come in one query
_INSERT_WORK = insert(_works).values({name: bindparam(name) for name in (
    "id", "canonical_record_id", "data", "status", "datestamp", "published", "ever_published")})
WATERMARK = "dedupe.watermark"


class WorkData(msgspec.Struct, kw_only=True):
    """What a Work row's `data` holds: the merged view of its members."""

    record: dict
    provenance: dict[str, str | list[str]]
    members: list[str]


class DatabaseState:
    """The engine's StateStore: decisions in the database, snapshot in a file.

    The snapshot is only a cache (rebuildable from records + decisions), so it
    lives beside the search index in the instance folder.
    """

    def __init__(self, store: Store, snapshot_path: Path):
        self.store = store
        self.path = snapshot_path

    def load(self) -> bytes | None:
        return self.path.read_bytes() if self.path.exists() else None

    def save(self, snapshot: bytes) -> None:
        self.save_streamed(lambda out: out.write(snapshot))

    def save_streamed(self, write: Writer) -> None:
        """Written a piece at a time, then swapped in (never half a snapshot; a cache, so no fsync)."""
        replace_atomically(self.path, write)

    def append_decision(self, decision: Decision) -> None:
        with self.store.session(write=True) as s:
            s.add(WorkDecision(kind=decision.kind, record_ids=[decision.a, decision.b], actor=decision.curator,
                               at=decision.at or datetime.now(UTC), reason=decision.note))
        self.store.audit(decision.curator or "system", f"work.{decision.kind}", "record", decision.a,
                         before=None, after={"a": decision.a, "b": decision.b, "note": decision.note})

    def decisions(self) -> list[Decision]:
        with self.store.session() as s:
            rows = list(s.scalars(select(WorkDecision).order_by(WorkDecision.id)))
        return [Decision(kind=r.kind, a=r.record_ids[0], b=r.record_ids[1] or "", curator=r.actor,
                         note=r.reason, at=r.at, seq=r.id) for r in rows]


@dataclass
class DedupeReport:
    records_seen: int
    works: int
    records_in_works: int
    changed_ids: set[str]
    retired_ids: set[str]
    seconds: dict[str, float] = field(default_factory=dict)  # wall time by step, for operators and benchmarks

    @property
    def works_changed(self) -> int:
        return len(self.changed_ids)

    @property
    def tombstones(self) -> int:
        return len(self.retired_ids)

    def summary(self) -> str:
        per_work = self.records_in_works / self.works if self.works else 0.0
        return (f"{self.records_seen} records processed; {self.works} works "
                f"({per_work:.2f} records per work); {self.works_changed} works written, "
                f"{self.tombstones} retired")


def open_works_engine(store: Store, snapshot_path: Path) -> DedupEngine:
    """The engine from its snapshot, else rebuilt: from features computed by worker processes for a large
    store (repository/dedupe_workers.py), from the records in this process otherwise."""
    state = DatabaseState(store, snapshot_path)
    workers = 0 if snapshot_path.exists() else use_workers(store)
    return open_engine(state, lambda: store.iter_records(), loader=store.get_record,
                       features=(lambda: parallel_features(store, workers)) if workers else None)


def dedupe(store: Store, snapshot_path: Path, *, rebuild: bool = False) -> DedupeReport:
    """Bring works up to date with the records; incremental unless rebuild."""
    started, clock = datetime.now(UTC), time.monotonic()
    if rebuild and snapshot_path.exists():
        snapshot_path.unlink()
    fresh = rebuild or not snapshot_path.exists()
    engine = open_works_engine(store, snapshot_path)
    watermark = None if fresh else store.get_setting(WATERMARK)
    seen = 0
    refresh: set[str] | None = None  # None: compare every work
    if fresh:
        seen = len(engine)
    else:
        refresh = set()
        since = datetime.fromisoformat(watermark) if watermark else None
        for record in store.iter_records(since=since, include_deleted=True):
            if record.id in engine:
                refresh.add(engine.work_id(record.id))
            work = engine.add(record)
            if work:
                refresh.add(work)
            seen += 1
    grouped = time.monotonic()
    report = write_works(store, engine, refresh)
    written = time.monotonic()
    report.records_seen = seen
    engine.save()
    store.set_setting(WATERMARK, started.isoformat())
    report.seconds = {"grouping": grouped - clock, "writing works": written - grouped,
                      "saving state": time.monotonic() - written}
    return report


def write_works(store: Store, engine: DedupEngine, refresh: set[str] | None = None) -> DedupeReport:
    """Write the engine's partition to the store, touching only what moved.

    refresh names works whose members changed content in place (their merged
    view must be rewritten); None means check every work. Works are written a
    chunk at a time: one query loads the chunk's member records and one its
    current rows, so memory stays flat and no query runs per record.
    """
    clusters = engine.works()
    target = {rid: work for work, rids in clusters.items() for rid in rids}
    assign, touched = _moves(store, target)
    touched |= set(clusters) if refresh is None else refresh
    with store.session() as s:
        touched &= set(clusters) | set(s.scalars(select(_works.c.id)))
    now = datetime.now(UTC)
    changed: set[str] = set()
    retired: set[str] = set()
    with store.session(write=True) as s, roomy_page_cache(s):
        stamp = driver_datetime(s.connection().dialect.name)(now)
        ordered = sorted(touched)
        chunks = [ordered[start:start + _CHUNK] for start in range(0, len(ordered), _CHUNK)]
        for chunk, views in zip(chunks, _encoded_views(store, engine, clusters, chunks), strict=True):
            rows = {row.id: row for row in s.execute(
                select(_works.c.id, _works.c.data, _works.c.status, _works.c.canonical_record_id)
                .where(_works.c.id.in_(chunk)))}
            live = [w for w in chunk if w in clusters]
            added: list[dict] = []
            for work_id in live:
                data, canonical = views[work_id]
                row = rows.get(work_id)
                if row is None:
                    added.append({"id": work_id, "canonical_record_id": canonical, "data": data, "status": "active",
                                  "datestamp": stamp, "published": False, "ever_published": False})
                    changed.add(work_id)
                elif row.data != data or row.status != "active":
                    s.execute(update(Work).where(Work.id == work_id).values(
                        canonical_record_id=canonical, data=data, status="active", successor_id=None, datestamp=now))
                    changed.add(work_id)
            driver_executemany(s, _INSERT_WORK, added)
            for work_id in chunk:
                row = rows.get(work_id)
                if work_id in clusters or row is None or row.status != "active":
                    continue
                successor = target.get(row.canonical_record_id or "")
                s.execute(update(Work).where(Work.id == work_id).values(
                    status="merged" if successor else "deleted", successor_id=successor, datestamp=now))
                retired.add(work_id)
        # records leave works they no longer belong to; FK-safe order: works exist first
        statement = update(_records).where(_records.c.id == bindparam("rid")).values(work_id=bindparam("wid"))
        for start in range(0, len(assign), _CHUNK * 10):
            driver_executemany(s, statement, [{"rid": r, "wid": w} for r, w in assign[start:start + _CHUNK * 10]])
    return DedupeReport(0, len(clusters), len(target), changed, retired)


def _moves(store: Store, target: dict[str, str]) -> tuple[list[tuple[str, str | None]], set[str]]:
    """(record id, its new work) for each record whose work changes, in the order the database lists them
    (SQLite: table order, so a page is rewritten once, not once per record on it), and the works they leave
    or join. One streamed pass: the records' current works are never all held at once (at 1,000,000
    records a dict of them, and the sets built from it, were a sixth of a first dedupe's memory).
    A deleted record counts as in no work, as the engine holds only live ones."""
    assign: list[tuple[str, str | None]] = []  # tuples: 1/4 the memory of dicts
    touched: set[str] = set()
    c = _records.c
    with store.session() as s:
        rows = s.execute(select(c.id, c.work_id, c.deleted).execution_options(yield_per=10_000))
        for rid, current, deleted in rows:
            now = target.get(rid)
            if deleted:
                if now is None:
                    continue
                current = None
            if now != current:
                assign.append((rid, now))
                touched.update(w for w in (now, current) if w)
    return assign, touched


Plan = list[tuple[str, list[str], list[str]]]
"""A chunk's live works: (work id, member ids in member_order, member ids sorted)."""
Views = dict[str, tuple[bytes, str]]
"""Work id -> (encoded merged view, canonical record id)."""


def _encoded_views(store: Store, engine: DedupEngine, clusters: dict[str, list[str]],
                   chunks: list[list[str]]) -> Iterator[Views]:
    """Each chunk's encoded merged views, in chunk order. For a large dedupe worker processes (one per
    core) read the members and build the views while this one writes the chunks before
    (repository/worker_pool.py): decoding a million records and merging them was a third of a first
    dedupe's writing time. One worker kept this process waiting 60 % of the time; two: 22 → 17 s for
    66,395 works."""
    plans = ([(w, member_order(engine, clusters[w]), clusters[w]) for w in chunk if w in clusters]
             for chunk in chunks)
    workers = worker_count(sum(map(len, chunks)))
    if workers:
        yield from ordered_map(_views_in_worker, plans, store, workers)
    else:
        for plan in plans:
            yield _views(store, plan)


def _views_in_worker(plan: Plan) -> Views:
    return _views(worker_store(), plan)


def _views(store: Store, plan: Plan) -> Views:
    """The plan's works merged from their member records, loaded in one query."""
    records = store.get_records(rid for _work, order, _ids in plan for rid in order)
    views: Views = {}
    for work_id, order, ids in plan:
        view = merge(work_id, order[0], ids, [records[r] for r in order if r in records])
        data = WorkData(record=msgspec.to_builtins(view.record), provenance=view.provenance, members=view.members)
        views[work_id] = (msgspec.json.encode(data, order="deterministic"), view.canonical)
    return views
