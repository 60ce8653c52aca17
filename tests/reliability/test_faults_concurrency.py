"""Harvest, dedupe, reindex and search at the same time on the embedded Tantivy index.

`huiju serve` (waitress) answers searches from several threads without a
break while, in other processes, a harvest brings new lessons and `huiju
dedupe` indexes them, and `huiju reindex` rebuilds the index over and over.
A loop in this process rebuilds the index back to back meanwhile, so some
writer holds Tantivy's writer lock nearly all the time and the commands
must wait their turn. No search may fail, every command must succeed, and when all is done the
index must hold exactly the store's works (no update lost between a reindex
and a dedupe that wrote the index at the same time).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from index.backend import SearchQuery
from index.tantivy_backend import TantivyBackend
from repository.models import Work
from repository.search import open_backend, reindex
from repository.settings import Settings
from repository.store import Store
from tests.reliability.faults_support import (
    add_oai_source,
    cli_env,
    huiju,
    oai_app,
    oai_pages,
    serving,
    start_huiju,
)
from tests.support.net import free_port

pytestmark = pytest.mark.slow

SEARCHERS = 3



def wait_until_serving(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=20):
                return
        except OSError:  # refused, reset or timed out while the server starts
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def search_until(url: str, stop: threading.Event, errors: list[str], counts: list[int]) -> None:
    """Search the API until ``stop``; every failure (status, bad body, refused connection) is kept."""
    queries = ["勾股定理", "", "第3课时", "gougu"]
    n = 0
    while not stop.is_set():
        query = urllib.parse.quote(queries[n % len(queries)])
        n += 1
        try:
            with urllib.request.urlopen(f"{url}/api/search?q={query}", timeout=30) as response:
                body = json.loads(response.read())
                counts.append(int(body["total"]))
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            errors.append(f"{type(exc).__name__}: {exc}")


def indexed_ids(index: Path) -> set[str]:
    backend = TantivyBackend(index)
    try:
        backend.refresh()
        ids: set[str] = set()
        page = 1
        while True:
            result = backend.search(SearchQuery(page=page, page_size=100))
            ids |= {hit.id for hit in result.hits}
            if page * 100 >= result.total:
                return ids
            page += 1
    finally:
        backend.close()


def test_searches_never_fail_and_no_update_is_lost_while_harvest_dedupe_and_reindex_run(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "instance", SITE_SHOW_UNPUBLISHED="1")
    db = tmp_path / "instance" / "huiju.db"
    lessons = tmp_path / "lessons.xml"
    lessons.write_bytes(oai_pages(200, 200, prefix="d")[None])
    assert huiju(env, "import", str(lessons), "--format", "oai_dc", "--source", "district",
                 "--level", "district").returncode == 0
    assert huiju(env, "dedupe").returncode == 0

    port = free_port()
    site = f"http://127.0.0.1:{port}"
    server = start_huiju(env, "serve", "--port", str(port), "--threads", "4")
    stop = threading.Event()
    errors: list[str] = []
    counts: list[int] = []
    searchers = [threading.Thread(target=search_until, args=(site, stop, errors, counts)) for _ in range(SEARCHERS)]
    results: dict[str, list] = {"harvest+dedupe": [], "reindex": []}
    writers_done = threading.Event()
    rebuilds: list[bool] = []
    rebuild_errors: list[str] = []

    def harvest_then_dedupe(url: str) -> None:
        try:
            results["harvest+dedupe"].append(huiju(env, "harvest", "city"))
            results["harvest+dedupe"].append(huiju(env, "dedupe"))
        finally:
            writers_done.set()

    def reindex_meanwhile() -> None:
        while not writers_done.is_set() or len(results["reindex"]) < 2:
            results["reindex"].append(huiju(env, "reindex"))

    def rebuild_back_to_back() -> None:
        """What `huiju reindex` runs, in a loop with no start-up gap: some writer holds the index nearly always."""
        settings = Settings(environ=env)
        try:
            with Store(settings.database_url) as store:
                while not writers_done.is_set():
                    with open_backend(settings) as backend:
                        reindex(store, backend)
                    rebuilds.append(True)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            rebuild_errors.append(f"{type(exc).__name__}: {exc}")

    try:
        wait_until_serving(site + "/api/search?q=")
        with serving(oai_app(100, 10, delay=0.05, first=201)) as platform:
            with Store(f"sqlite:///{db}") as store:
                add_oai_source(store, "city", platform.url + "/oai")
            for thread in searchers:
                thread.start()
            writers = [threading.Thread(target=harvest_then_dedupe, args=(platform.url,)),
                       threading.Thread(target=reindex_meanwhile), threading.Thread(target=rebuild_back_to_back)]
            for thread in writers:
                thread.start()
            for thread in writers:
                thread.join(240)
            time.sleep(0.5)
            stop.set()
            for thread in searchers:
                thread.join(60)
    finally:
        stop.set()
        server.terminate()
        server.communicate(timeout=30)

    for name, runs in results.items():
        for run in runs:
            assert run.returncode == 0, f"{name}: {' '.join(run.args[3:])}\n{run.stdout}\n{run.stderr}"
    assert len(results["harvest+dedupe"]) == 2 and len(results["reindex"]) >= 2
    assert not rebuild_errors and rebuilds, rebuild_errors
    assert not errors, f"{len(errors)} failed searches of {len(counts) + len(errors)}; first: {errors[0]}"
    assert len(counts) > 20, "the searches did not run alongside the writers"
    with Store(f"sqlite:///{db}") as store, store.session() as s:
        works = set(s.scalars(select(Work.id).where(Work.status == "active")))
    assert len(works) == 300
    assert indexed_ids(tmp_path / "instance" / "index") == works


@pytest.mark.parametrize("held_for, timeout, waits", [(0.5, 10.0, True), (3.0, 0.3, False)])
def test_a_second_index_writer_waits_for_the_first_within_the_lock_timeout(
        tmp_path: Path, held_for: float, timeout: float, waits: bool) -> None:
    from index.backend import SearchError

    first = TantivyBackend(tmp_path, heap_size=50_000_000, writer_threads=1)
    second = TantivyBackend(tmp_path, heap_size=50_000_000, writer_threads=1, lock_timeout=timeout)
    first.clear()  # takes the writer lock
    release = threading.Timer(held_for, first.close)
    release.start()
    started = time.monotonic()
    try:
        if waits:
            second.clear()
            assert time.monotonic() - started >= held_for * 0.8
        else:
            with pytest.raises(SearchError, match="INDEX_LOCK_TIMEOUT"):
                second.clear()
            assert time.monotonic() - started < held_for
    finally:
        release.join()
        second.close()
