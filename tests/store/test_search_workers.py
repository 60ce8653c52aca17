"""A reindex's documents built by worker processes: the same documents, in the same order, as one process
builds them, on SQLite and PostgreSQL; a worker's failure fails the reindex and leaves the old index whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from index.backend import SearchQuery
from index.tantivy_backend import TantivyBackend
from repository import worker_pool
from repository.models import Work
from repository.sample import load_sample
from repository.search import documents, reindex
from repository.search_workers import parallel_documents, slices
from repository.store import Store
from repository.worker_pool import PARALLEL_FROM, worker_count
from repository.works import dedupe


def sampled(store: Store) -> Store:
    """store holding the bundled sample (270 works from five platforms), harvested source by source."""
    list(load_sample(store))
    return store


def work_rows(store: Store) -> list[tuple]:
    with store.session() as session:
        return [tuple(r) for r in session.execute(
            select(Work.id, Work.canonical_record_id, Work.data, Work.status).order_by(Work.id))]


def parallel_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stage takes its worker path from 10 items, as on a machine with two cores."""
    monkeypatch.setattr(worker_pool, "PARALLEL_FROM", 10)
    monkeypatch.setattr(worker_pool, "cores", lambda: 2)


@pytest.fixture
def grouped(store: Store, tmp_path: Path) -> Store:
    """The bundled sample harvested and deduped."""
    dedupe(sampled(store), tmp_path / "state.bin")
    return store


def test_slices_cover_every_active_work_once_in_order(grouped: Store) -> None:
    with grouped.session(write=True) as s:  # a retired work is not indexed: slices leave it out
        retired = s.scalars(Work.__table__.select().with_only_columns(Work.id).order_by(Work.id).limit(1)).one()
        s.execute(update(Work).where(Work.id == retired).values(status="deleted"))
    active = [work.id for work, _canonical, _members in grouped.iter_works()]
    bounds = slices(grouped, size=7)
    assert len(bounds) == -(-(len(active) + 1) // 7)  # the retired work is counted, and skipped by iter_works
    assert all(a < b for a, b in bounds)
    assert all(u1 == a2 for (_a1, u1), (a2, _u2) in zip(bounds, bounds[1:], strict=False))
    covered = [w for after, upto in bounds for w in active if after < w <= upto]
    assert covered == active
    assert retired not in [w for after, upto in bounds for w, _c, _m in grouped.iter_works(after=after, upto=upto)]


def test_workers_build_what_one_process_builds_in_the_same_order(grouped: Store) -> None:
    serial = list(documents(grouped.iter_works()))
    parallel = list(parallel_documents(grouped, workers=2, size=11))
    assert len(serial) == 270
    assert [d["id"] for d in parallel] == [d["id"] for d in serial]
    assert parallel == serial


def test_a_failing_worker_fails_the_reindex_and_the_old_index_stays(grouped: Store, tmp_path: Path) -> None:
    backend = TantivyBackend(tmp_path / "index")
    assert reindex(grouped, backend, workers=0) == 270
    everything = SearchQuery(text="", page_size=1)
    assert backend.search(everything).total == 270
    last = max(work.id for work, _c, _m in grouped.iter_works())
    with grouped.session(write=True) as s:
        s.execute(update(Work).where(Work.id == last).values(data=b"{not json"))
    with pytest.raises(Exception, match="JSON|json|malformed"):
        reindex(grouped, backend, workers=2)
    backend.refresh()
    assert backend.search(everything).total == 270  # rolled back: the index before the failed rebuild
    backend.close()


def test_worker_count_rules() -> None:
    assert worker_count(10, requested=3) == 3 and worker_count(10**6, requested=0) == 0
    assert worker_count(PARALLEL_FROM - 1) == 0  # a small index: not worth starting processes
    cores = len(os.sched_getaffinity(0))
    assert worker_count(PARALLEL_FROM) == (min(cores, 4) if cores > 1 else 0)


def test_a_large_dedupe_builds_its_merged_views_in_workers_with_the_same_result(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """repository/works.py hands the merged views to worker processes (two here) from PARALLEL_FROM works:
    lowered here, so the sample's dedupe takes that path, in chunks of 40 works shared by both workers;
    its works must be the ones one process writes."""
    import repository.works as works

    serial = Store(f"sqlite:///{tmp_path / 'serial.db'}")
    serial.init()
    dedupe(sampled(serial), tmp_path / "serial.bin")
    sampled(store)
    calls: list[int] = []
    real = works.ordered_map
    parallel_path(monkeypatch)
    monkeypatch.setattr(works, "ordered_map", lambda *a, **k: (calls.append(a[3]), real(*a, **k))[1])
    monkeypatch.setattr(works, "_CHUNK", 40)
    dedupe(store, tmp_path / "parallel.bin")
    assert calls == [2], "the worker path was not taken, or not with a worker per core"
    assert len(work_rows(serial)) == 270 and work_rows(store) == work_rows(serial)
    serial.close()


def test_a_first_dedupe_of_a_large_store_takes_its_features_from_workers_with_the_same_works(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """repository/dedupe_workers.py computes a first dedupe's features in worker processes from
    PARALLEL_FROM live records: lowered here, so the sample takes that path; the works must be those
    one process finds, and a dedupe that has a snapshot must not start workers."""
    import repository.dedupe_workers as dedupe_workers

    serial = Store(f"sqlite:///{tmp_path / 'serial.db'}")
    serial.init()
    assert dedupe_workers.use_workers(sampled(serial)) == 0  # 270 works' records: below PARALLEL_FROM
    dedupe(serial, tmp_path / "serial.bin")
    sampled(store)
    calls: list[int] = []
    real = dedupe_workers.ordered_map
    parallel_path(monkeypatch)
    monkeypatch.setattr(dedupe_workers, "ordered_map", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    assert dedupe_workers.use_workers(store) == 2
    live = [r.id for r in store.iter_records()]
    bounds = dedupe_workers.slices(store, 37)
    assert sorted(r for after, upto in bounds for r in live if after < r <= upto) == sorted(live)
    assert [r.id for r in store.records_between(*bounds[1])] == sorted(live)[37:74]
    dedupe(store, tmp_path / "parallel.bin")
    assert calls == [1], "the worker path was not taken"
    assert len(work_rows(serial)) == 270 and work_rows(store) == work_rows(serial)
    dedupe(store, tmp_path / "parallel.bin")  # incremental: from the snapshot, no workers
    assert calls == [1]
    serial.close()
