"""The harvest lock and an OAI harvest on both databases (PostgreSQL when a server answers)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from repository.ingest import claim_harvest, release_harvest
from repository.store import Store
from tests.harvester.oai_support import add_oai, harvest, snapshot, zenodo_app
from tests.harvester.servers import Server
from tests.store.conftest import PG_URL, pg_execute, require_pg


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path, fast_env: dict[str, str]) -> Iterator[Store]:
    if request.param == "sqlite":
        with Store(f"sqlite:///{tmp_path / 'lock.db'}") as store:
            store.init()
            yield store
        return
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    pg_execute(f"CREATE SCHEMA {schema}")
    try:
        with Store(PG_URL, schema=schema) as store:
            store.init()
            yield store
    finally:
        pg_execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_only_one_of_many_simultaneous_claims_wins(any_store: Store) -> None:
    any_store.add_source("s", "oai", "https://x.example/oai", level="school")
    barrier = threading.Barrier(6)
    results: list[bool] = []

    def claim() -> None:
        barrier.wait()
        results.append(claim_harvest(any_store, "s")[0])

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False] * 5 + [True]
    release_harvest(any_store, "s")
    assert claim_harvest(any_store, "s")[0] is True


def test_oai_harvest_and_incremental_rerun(any_store: Store, server: Server, corpus: Path) -> None:
    server.app = zenodo_app(corpus)
    name = add_oai(any_store, server.url + "/oai")
    first = harvest(any_store, name)
    assert first.status == "succeeded" and first.added == 8, first.message
    second = harvest(any_store, name)
    assert second.status == "succeeded" and second.unchanged == 9 and second.added == 0
    assert len(snapshot(any_store, name)) == 8
