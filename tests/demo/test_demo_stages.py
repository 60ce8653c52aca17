"""The demo's stages after the harvest: from PARALLEL_FROM records the checks dedupe made due run in a
spawned process beside the publication refresh and the reindex (both one core's work); what they store
must be what the one-process path stores, and their line still comes before the index line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from repository import worker_pool
from repository.ingest import ensure_source
from repository.models import RecordCheck
from repository.sample import load_sample
from repository.settings import Settings
from repository.store import Store

BESIDE = "(beside publication and the index)"


def harvested(folder: Path) -> tuple[Store, Settings]:
    """An instance holding the bundled sample, as the demo holds its platforms' records before dedupe."""
    folder.mkdir()
    settings = Settings(environ={}, INSTANCE_PATH=str(folder))
    store = Store(settings.database_url)
    store.init()
    list(load_sample(store))
    ensure_source(store, "municipal", kind="file", location="", level="municipal")  # a trusted demo source
    return store, settings


def stored_checks(store: Store) -> list[tuple]:
    c = RecordCheck.__table__.c
    with store.session() as s:
        return [tuple(r) for r in s.execute(select(c.record_id, c.name, c.outcome, c.detail)
                                              .order_by(c.record_id, c.name))]


def test_checks_beside_publication_and_index_store_what_one_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import repository.demo as demo

    serial, serial_settings = harvested(tmp_path / "serial")
    serial_lines = list(demo.review_and_works(serial, serial_settings, links=False))
    monkeypatch.setattr(worker_pool, "PARALLEL_FROM", 10)  # every stage takes its worker path, as on 2 cores
    monkeypatch.setattr(worker_pool, "cores", lambda: 2)
    store, settings = harvested(tmp_path / "beside")
    lines = list(demo.review_and_works(store, settings, links=False))

    assert not any(BESIDE in line for line in serial_lines)
    checks = [i for i, line in enumerate(lines) if line.startswith("checks: ")]
    index = [i for i, line in enumerate(lines) if line.startswith("search index: ")]
    assert len(checks) == 1 and BESIDE in lines[checks[0]].splitlines()[0] and checks[0] < index[0]
    assert lines[index[0]] == next(line for line in serial_lines if line.startswith("search index: "))
    results = stored_checks(store)
    assert any(name == "duplicate" for _rid, name, _o, _d in results)  # made due by dedupe, stored by the child
    assert results == stored_checks(serial)
    serial.close()
    store.close()
