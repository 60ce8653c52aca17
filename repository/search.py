"""The search index as the store's derived view of works.

The store is the truth; the index is rebuilt from it at any time
(`huiju reindex`) and kept up to date after each dedupe. Which engine runs
is a setting (SEARCH_BACKEND): Tantivy in the instance folder by default,
Elasticsearch when a deployment outgrows one machine.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from sqlalchemy import func, select

from index.backend import SearchBackend
from index.documents import work_document
from repository.models import Work
from repository.publication import work_record
from repository.settings import Settings
from repository.store import Store
from schemas.record import Record

BACKENDS = ("tantivy", "elasticsearch")


def open_backend(settings: Settings, name: str | None = None, *, lock_timeout: float | None = None) -> SearchBackend:
    """The configured backend (or `name`), ready to index and search.

    lock_timeout overrides INDEX_LOCK_TIMEOUT: a web request must not wait minutes for a reindex."""
    name = name or settings["SEARCH_BACKEND"]
    if name == "tantivy":
        from index.tantivy_backend import TantivyBackend

        settings.index_path.mkdir(parents=True, exist_ok=True)
        wait = settings["INDEX_LOCK_TIMEOUT"] if lock_timeout is None else lock_timeout
        return TantivyBackend(settings.index_path, lock_timeout=wait)
    if name == "elasticsearch":
        if not settings["ES_URL"]:
            raise ValueError("SEARCH_BACKEND=elasticsearch needs HUIJU_ES_URL")
        module = import_module("index.elasticsearch_backend")
        return module.ElasticsearchBackend(settings["ES_URL"])
    raise ValueError(f"unknown search backend {name!r}; choose from {', '.join(BACKENDS)}")


def work_view(work: Work, canonical: Record) -> Record:
    """The work's merged record (fields from all members), else its canonical record."""
    return work_record(work.data) if work.data else canonical


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The objects alive before a long batch (vocabularies, the segmenter's and pinyin dictionaries, a
    dedupe's state) left out of the cyclic GC meanwhile: its full collections would only rescan them, a
    tenth of a reindex's time. Objects made during the batch are collected as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def documents(works: Iterable[tuple[Work, Record, list[Record]]]) -> Iterator[dict[str, Any]]:
    with frozen_heap():
        for work, canonical, members in works:
            yield work_document(
                work.id, work_view(work, canonical), members,
                extra={"review_status": "approved" if work.published else "pending", "datestamp": work.datestamp},
            )


PENDING = "search.pending"
"""Settings-table key: works a busy or failed index update still owes (see follow_store)."""


def reindex(store: Store, backend: SearchBackend, *, workers: int | None = None) -> int:
    """Rebuild the whole index from the store's active works (which settles any pending updates).

    workers: processes that build the documents (repository/search_workers.py); None: one per core
    for a large index, none for a small one; 0: build them in this process."""
    from repository.search_workers import parallel_documents
    from repository.worker_pool import worker_count

    owed = store.get_setting(PENDING)
    with store.session() as s:
        active = s.scalar(select(func.count()).select_from(Work).where(Work.status == "active")) or 0
    workers = worker_count(active, workers)
    docs = parallel_documents(store, workers) if workers else documents(store.iter_works())
    count = backend.rebuild(docs)
    backend.refresh()
    if owed and store.get_setting(PENDING) == owed:  # not if another process added to it meanwhile
        store.set_setting(PENDING, None)
    return count


def follow_store(settings: Settings, store: Store, changed: set[str], retired: set[str] = frozenset(), *,
                 lock_timeout: float | None = None) -> int:
    """Index what dedupe or review changed; a full rebuild when the index is empty.

    When the index cannot be written (another process holds it past lock_timeout, the
    Elasticsearch cluster is down), the store has already changed: the owed work ids are
    kept in the settings table and the next follow_store (any dedupe, review or harvest)
    or `huiju reindex` indexes them, so a busy index delays an update but never loses it.
    """
    owed = store.get_setting(PENDING) or {}
    changed, retired = set(changed), set(retired)
    changed |= set(owed.get("changed", ())) - retired  # this call is newer than what was owed
    retired |= set(owed.get("retired", ())) - changed
    try:
        with open_backend(settings, lock_timeout=lock_timeout) as backend:
            if backend.count() == 0:
                return reindex(store, backend)
            count = update_index(store, backend, changed, retired)
    except Exception:
        store.set_setting(PENDING, {"changed": sorted(changed), "retired": sorted(retired)})
        raise
    if owed:
        store.set_setting(PENDING, None)
    return count


def update_index(store: Store, backend: SearchBackend, changed: set[str], retired: set[str]) -> int:
    """Index works that changed and drop the ones that are gone."""
    count = 0
    if changed:
        count = backend.index_documents(documents(store.iter_works(ids=sorted(changed))))
    if retired:
        backend.delete(sorted(retired))
    backend.commit()
    return count
