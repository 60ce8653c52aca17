"""The Elasticsearch-compatible server dies while `huiju reindex` writes to it.

A real osmem-server (tests/index/es_server.py) behind a TCP relay: the relay
kills the server when the second bulk request of the reindex arrives, so the
index is half written when the cluster disappears. The command must fail
with a clear error, the store (the truth) must be exactly as before, and
once a server answers again `huiju reindex --backend elasticsearch` must
restore an index holding every work of the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from repository.models import Work
from repository.store import Store
from tests.index.es_server import OsmemProcess, ServerUnavailable, start_osmem
from tests.reliability.faults_support import (
    Relay,
    assert_clear_error,
    cli_env,
    huiju,
    integrity,
    oai_pages,
    snapshot,
)

pytestmark = pytest.mark.slow

LESSONS = 1200  # three bulk requests of 500 works: the server dies between the first and the last


@pytest.fixture
def osmem() -> Iterator[list[OsmemProcess]]:
    """Started servers (the test may start a replacement); all stopped at the end."""
    started: list[OsmemProcess] = []
    try:
        started.append(start_osmem())
    except ServerUnavailable as exc:
        pytest.skip(f"no Elasticsearch-compatible server: {exc}")
    try:
        yield started
    finally:
        for server in started:
            server.kill()
            server.stop()


def store_state(db: Path) -> tuple[dict, list[tuple[str, str, bool]]]:
    """Records (with hashes) and works (id, datestamp, published): what a reindex must never change."""
    with Store(f"sqlite:///{db}") as store:
        records = snapshot(store, "district")
        with store.session() as s:
            works = [(w.id, str(w.datestamp), bool(w.published))
                     for w in s.scalars(select(Work).where(Work.status == "active").order_by(Work.id))]
    return records, works


def total(env: dict[str, str]) -> int:
    found = huiju(env, "search", "", "--json")
    assert found.returncode == 0, found.stdout + found.stderr
    return int(json.loads(found.stdout)["total"])


def test_cluster_killed_during_reindex_leaves_the_store_and_reindex_restores(
        osmem: list[OsmemProcess], tmp_path: Path) -> None:
    first = osmem[0]
    relay = Relay(first.url)
    try:
        env = cli_env(tmp_path / "instance", SEARCH_BACKEND="elasticsearch", ES_URL=relay.url)
        db = tmp_path / "instance" / "huiju.db"
        lessons = tmp_path / "lessons.xml"
        lessons.write_bytes(oai_pages(LESSONS, LESSONS)[None])
        assert huiju(env, "import", str(lessons), "--format", "oai_dc", "--source", "district",
                     "--level", "district").returncode == 0
        grouped = huiju(env, "dedupe")
        assert grouped.returncode == 0, grouped.stdout + grouped.stderr
        before = store_state(db)
        assert len(before[1]) == LESSONS and total(env) == LESSONS

        relay.on_request(b"/_bulk", first.kill, nth=2)
        started = time.monotonic()
        cut = huiju(env, "reindex", "--backend", "elasticsearch")
        took = time.monotonic() - started
        print(f"cut reindex: {took:.1f} s")
        assert first.process.poll() is not None, "the server was not killed during the reindex"
        assert_clear_error(cut, "Error: search index", "Elasticsearch")
        assert "indexed" not in cut.stdout and "cannot rebuild the index" in cut.stderr, cut.stderr
        assert took < 60, f"gave up only after {took:.0f} s"
        assert store_state(db) == before  # the store, the truth, is untouched
        assert integrity(db) == "ok"

        osmem.append(replacement := start_osmem())  # a new, empty cluster at the same URL
        relay.upstream = replacement.url
        restored = huiju(env, "reindex", "--backend", "elasticsearch")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"indexed {LESSONS} works" in restored.stdout
        assert total(env) == LESSONS
        assert store_state(db) == before
    finally:
        relay.close()
