"""A full reindex's documents, built by worker processes.

Why: building a work's search document (decode its records, segment, fold and
pinyin its text) is pure Python, so one process does it on one core; at
1,000,000 works that was ~75 s of a ~110 s reindex while the other core idled.
Each worker opens its own connection, reads a slice of the works (an id range)
and sends back finished documents. The parent receives the slices in id order
(an ordered imap), so the backend is fed exactly what a serial build feeds it,
document for document, and only a few slices are ever in flight.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select

from repository.models import Work
from repository.store import Store

PARALLEL_FROM = 50_000
"""Active works below which a reindex stays in one process: a worker's start (imports, dictionaries) costs ~1 s."""
SLICE = 2_000
"""Works per slice: large enough to amortise a round trip, small enough to keep every worker busy to the end."""
MAX_WORKERS = 4
AHEAD = 2
"""Slices each worker may have finished or in hand before the parent takes them (bounds the parent's memory)."""

Bounds = tuple[str, str]  # (after, upto]: the slice's works have after < id <= upto


def worker_count(active_works: int, requested: int | None = None) -> int:
    """requested when given (0: no workers), else one per core, up to MAX_WORKERS, for large indexes only."""
    if requested is not None:
        return max(0, requested)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, MAX_WORKERS) if cores > 1 and active_works >= PARALLEL_FROM else 0


def slices(store: Store, size: int = SLICE) -> list[Bounds]:
    """Id ranges of about `size` active works each, covering them all, in id order."""
    bounds: list[Bounds] = []
    after, count, last = "", 0, ""
    with store.session() as s:
        for work_id in s.scalars(select(Work.id).where(Work.status == "active").order_by(Work.id)):
            count, last = count + 1, work_id
            if count == size:
                bounds.append((after, work_id))
                after, count = work_id, 0
    if count:
        bounds.append((after, last))
    return bounds


def parallel_documents(store: Store, workers: int, size: int = SLICE) -> Iterator[dict[str, Any]]:
    """Every active work's document, in id order, built by `workers` processes."""
    todo = slices(store, size)
    if not todo:
        return
    room = threading.BoundedSemaphore(workers * AHEAD)
    stop = threading.Event()
    context = multiprocessing.get_context("spawn")  # never fork a process that holds threads and connections
    pool = context.Pool(workers, initializer=_open_store, initargs=(store.url, store.schema))
    try:
        for batch in pool.imap(_documents_between, _paced(todo, room, stop)):
            room.release()
            yield from batch
    finally:
        stop.set()  # the pool's feeder thread may be waiting for room: let it finish
        pool.terminate()
        pool.join()


def _paced(items: Iterable[Bounds], room: threading.BoundedSemaphore, stop: threading.Event) -> Iterator[Bounds]:
    """items, one more only when the parent has taken a finished slice (runs in the pool's feeder thread)."""
    for item in items:
        while not room.acquire(timeout=0.2):
            if stop.is_set():
                return
        if stop.is_set():
            return
        yield item


_store: Store | None = None


def _open_store(url: str, schema: str | None) -> None:
    global _store
    _store = Store(url, schema=schema)


def _documents_between(bounds: Bounds) -> list[dict[str, Any]]:
    from repository.search import documents

    assert _store is not None, "worker started without _open_store"
    after, upto = bounds
    return list(documents(_store.iter_works(after=after, upto=upto)))
