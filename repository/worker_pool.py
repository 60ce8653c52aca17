"""Batch work handed to worker processes, results back in order.

Why: Huiju's batch stages are pure Python, so one process uses one core. A stage that can cut its
work into independent slices (a reindex's documents, dedupe's merged views) hands them to workers
that each open their own store connection, and takes the results back in the order of the slices,
so what it writes is exactly what one process would have written. Only a few slices are in flight
at a time: memory stays flat whatever the size.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from repository.store import Store

PARALLEL_FROM = 50_000
"""Items (works) below which a stage stays in one process: a worker's start (imports, dictionaries) costs ~1 s."""
MAX_WORKERS = 4
AHEAD = 2
"""Slices each worker may have finished or in hand before the parent takes them."""

T = TypeVar("T")
R = TypeVar("R")


Bounds = tuple[str, str]
"""(after, upto]: a slice holds the ids with after < id <= upto."""


def id_slices(ids: Iterable[str], size: int) -> list[Bounds]:
    """Bounds of consecutive runs of about `size` ids each, covering them all; ids come sorted."""
    bounds: list[Bounds] = []
    after, count, last = "", 0, ""
    for ident in ids:
        count, last = count + 1, ident
        if count == size:
            bounds.append((after, ident))
            after, count = ident, 0
    if count:
        bounds.append((after, last))
    return bounds


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def worker_count(items: int, requested: int | None = None) -> int:
    """Workers for a stage of `items`: requested when given (0: none), else one per core up to MAX_WORKERS,
    on a machine with more than one core, from PARALLEL_FROM items on."""
    if requested is not None:
        return max(0, requested)
    n = cores()
    return min(n, MAX_WORKERS) if n > 1 and items >= PARALLEL_FROM else 0


def ordered_map(func: Callable[[T], R], items: Iterable[T], store: Store, workers: int) -> Iterator[R]:
    """func(item) for each item, computed by `workers` processes, yielded in the order of items.

    func must be a module-level function; it reads the database through worker_store(). An exception in
    func is raised here, at its item; leaving the loop early stops the workers."""
    room = threading.BoundedSemaphore(workers * AHEAD)
    stop = threading.Event()
    context = multiprocessing.get_context("spawn")  # never fork a process that holds threads and connections
    pool = context.Pool(workers, initializer=_open_store, initargs=(store.url, store.schema))
    try:
        for result in pool.imap(func, _paced(items, room, stop)):
            room.release()
            yield result
    finally:
        stop.set()  # the pool's feeder thread may be waiting for room: let it finish
        pool.terminate()
        pool.join()


def _paced(items: Iterable[T], room: threading.BoundedSemaphore, stop: threading.Event) -> Iterator[T]:
    """items, one more only when the parent has taken a result (runs in the pool's feeder thread)."""
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


def worker_store() -> Store:
    """The worker process's own store (opened when the pool started it)."""
    if _store is None:
        raise RuntimeError("worker_store() outside a worker started by ordered_map")
    return _store
