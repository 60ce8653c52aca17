"""The database fails under the harvester and the CLI: a full disk, a lock held by
another process, a PostgreSQL server that goes away mid-harvest.

Each must end the command with a clear one-line error (no traceback, no SQL
dump), leave the file sound (SQLite's integrity_check) with what was stored
before intact, and let the next run complete.

The full disk is SQLite's real SQLITE_FULL path: ``PRAGMA max_page_count``
caps the file a few pages above its size on every connection the command
opens (the CLI runs in-process for that), and a second test fills a real
small tmpfs when this machine allows mounting one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import event
from sqlalchemy.engine import Engine

from repository.cli import main
from repository.store import Store
from tests.harvester.servers import Request
from tests.reliability.faults_support import (
    FAST,
    PrivateCluster,
    add_oai_source,
    assert_clear_error,
    cli_env,
    huiju,
    integrity,
    oai_app,
    oai_pages,
    postgres_bin,
    serving,
    snapshot,
    start_huiju,
)


@contextmanager
def disk_full(spare_pages: int = 30) -> Iterator[None]:
    """Every SQLite connection opened meanwhile may grow its file by ``spare_pages`` pages only."""

    def cap(dbapi_conn: Any, _record: Any) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    event.listen(Engine, "connect", cap)
    try:
        yield
    finally:
        event.remove(Engine, "connect", cap)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HUIJU_* for in-process CLI calls: a private instance folder, fast harvest settings."""
    for key in [k for k in os.environ if k.startswith("HUIJU_")]:
        monkeypatch.delenv(key)
    for key, value in FAST.items():
        monkeypatch.setenv(f"HUIJU_{key}", value)
    monkeypatch.setenv("HUIJU_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_clear(result: Result, *needles: str) -> None:
    """Exit status 1 with a readable message: no exception escaped, no SQL text."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "[SQL:" not in result.output, result.output
    for needle in needles:
        assert needle in result.output, result.output


def test_sqlite_disk_full_is_a_clear_error_and_the_file_stays_sound(instance: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.xml"
    small.write_bytes(oai_pages(20, 20)[None])
    large = tmp_path / "large.xml"
    large.write_bytes(oai_pages(2000, 2000, prefix="q")[None])
    assert run("import", str(small), "--format", "oai_dc", "--source", "early", "--level", "school").exit_code == 0
    db = instance / "huiju.db"
    with Store(f"sqlite:///{db}") as store:
        before = snapshot(store, "early")
    assert len(before) == 20

    with disk_full():
        imported = run("import", str(large), "--format", "oai_dc", "--source", "bulk", "--level", "school")
    assert_clear(imported, "Error: the database is full", "database or disk is full")

    with serving(oai_app(400, 100)) as server:
        assert run("source", "add", "city", "--kind", "oai", "--url", server.url + "/oai",
                   "--level", "municipal").exit_code == 0
        with disk_full():
            harvested = run("harvest", "city")
        assert_clear(harvested, "failed", "the database is full")
        with Store(f"sqlite:///{db}") as store:
            failed = store.last_run("city")
            assert failed.status == "failed"
            assert failed.message.startswith("the database is full") and "[SQL:" not in failed.message
        assert integrity(db) == "ok"
        # Space again: nothing half-written is in the way, the next run completes.
        assert run("harvest", "city").exit_code == 0
        assert run("import", str(large), "--format", "oai_dc", "--source", "bulk", "--level", "school").exit_code == 0
    with Store(f"sqlite:///{db}") as store:
        assert snapshot(store, "early") == before
        assert store.count_records(source="city") == 400 and store.count_records(source="bulk") == 2000
        assert store.last_run("city").status == "succeeded"
    assert integrity(db) == "ok"


def tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.slow
def test_sqlite_on_a_full_filesystem(tmp_path: Path) -> None:
    """The same on a real 1 MiB filesystem: ENOSPC from the kernel, not a page cap."""
    mount = tmp_path / "tiny"
    if not tmpfs(mount, "1m"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission); the max_page_count test covers it")
    try:
        env = cli_env(mount / "instance")
        assert huiju(env, "init").returncode == 0
        small = tmp_path / "small.xml"
        small.write_bytes(oai_pages(20, 20)[None])
        assert huiju(env, "import", str(small), "--format", "oai_dc", "--source", "early",
                     "--level", "school").returncode == 0
        with Store(f"sqlite:///{mount / 'instance' / 'huiju.db'}") as store:
            before = snapshot(store, "early")
        large = tmp_path / "large.xml"
        large.write_bytes(oai_pages(3000, 3000, prefix="q")[None])
        result = huiju(env, "import", str(large), "--format", "oai_dc", "--source", "bulk", "--level", "school")
        assert_clear_error(result, "Error: the database is full")
        db = mount / "instance" / "huiju.db"
        assert integrity(db) == "ok"
        with Store(f"sqlite:///{db}") as store:
            assert snapshot(store, "early") == before
            assert store.count_records(source="bulk") == 0
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE sources SET schedule = 'held' WHERE name = 'early'")
print("locked", flush=True)
sys.stdin.read()  # hold the write lock until the test closes our stdin
conn.execute("ROLLBACK")
"""


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another process holds a write transaction on ``db`` meanwhile."""
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.communicate("", timeout=30)
        if holder.poll() is None:
            holder.kill()


def test_sqlite_locked_database_is_a_clear_error_after_the_busy_timeout(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "instance", DATABASE_BUSY_TIMEOUT="1")
    db = tmp_path / "instance" / "huiju.db"
    small = tmp_path / "small.xml"
    small.write_bytes(oai_pages(20, 20)[None])
    more = tmp_path / "more.xml"
    more.write_bytes(oai_pages(50, 50, prefix="m", tag="新")[None])
    assert huiju(env, "import", str(small), "--format", "oai_dc", "--source", "early", "--level", "school") \
        .returncode == 0
    with Store(f"sqlite:///{db}") as store:
        before = snapshot(store, "early")
    with serving(oai_app(30, 10)) as server:
        assert huiju(env, "source", "add", "city", "--kind", "oai", "--url", server.url + "/oai",
                     "--level", "municipal").returncode == 0
        with write_lock(db):
            started = time.monotonic()
            imported = huiju(env, "import", str(more), "--format", "oai_dc", "--source", "early", "--level",
                             "school")
            waited = time.monotonic() - started
            harvested = huiju(env, "harvest", "city")
        assert_clear_error(imported, "Error: the database is locked", "HUIJU_DATABASE_BUSY_TIMEOUT")
        assert_clear_error(harvested, "the database is locked")
        assert 1.0 <= waited < 30, waited  # waited the busy timeout, then gave up
        assert integrity(db) == "ok"
        with Store(f"sqlite:///{db}") as store:
            assert snapshot(store, "early") == before
        # The lock is gone: both go through.
        assert huiju(env, "harvest", "city").returncode == 0
        assert huiju(env, "import", str(more), "--format", "oai_dc", "--source", "early", "--level", "school") \
            .returncode == 0
    with Store(f"sqlite:///{db}") as store:
        assert store.count_records(source="city") == 30 and store.count_records(source="early") == 50
        assert store.last_run("city").status == "succeeded"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: no private cluster to restart")
    folder = Path(tempfile.mkdtemp(prefix="huiju-pg-"))
    private = PrivateCluster(bin_dir, folder)
    try:
        private.create()
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        private.destroy()
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"cannot start a private PostgreSQL cluster: {exc} {detail.decode(errors='replace')[-300:]}")
    try:
        yield private
    finally:
        private.destroy()


@pytest.mark.slow
def test_postgres_stopped_mid_harvest_fails_cleanly_and_the_next_run_completes(
        cluster: PrivateCluster, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "instance", DATABASE_URL=cluster.url)
    page_asked = threading.Event()

    def watch(request: Request) -> None:
        if request.params.get("resumptionToken") == "p4":
            page_asked.set()

    app = oai_app(60, 5, delay=0.15)
    slow = app.before

    def before(request: Request) -> None:
        watch(request)
        assert slow is not None
        slow(request)

    app.before = before
    with serving(app) as server:
        with Store(f"sqlite:///{tmp_path / 'clean.db'}") as clean_store:  # the reference: a clean run
            clean_store.init()
            add_oai_source(clean_store, "city", server.url + "/oai")
            from harvester.runner import harvest_source
            from repository.settings import Settings

            assert harvest_source(clean_store, "city", settings=Settings(environ={})).status == "succeeded"
            clean = snapshot(clean_store, "city")
        page_asked.clear()  # from here on, only the CLI's harvest counts
        assert huiju(env, "init").returncode == 0
        with Store(cluster.url) as store:
            add_oai_source(store, "city", server.url + "/oai")
        proc = start_huiju(env, "harvest", "city")
        try:
            assert page_asked.wait(30), "the harvest never reached page 5"
            cluster.stop("fast")  # the server goes away while the harvester waits for page 5
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert_clear_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), "the database server")
        cluster.start()
        with Store(cluster.url) as store:
            cut = store.last_run("city")
            assert cut.status in ("running", "failed")  # the server was gone: the run could not be closed
            assert 10 <= store.count_records(source="city", include_deleted=True) < 60
        again = huiju(env, "harvest", "city")
        assert again.returncode == 0, again.stdout + again.stderr
        with Store(cluster.url) as store:
            closed = store.get_run(cut.id)
            assert closed.status in ("interrupted", "failed") and closed.message
            final = store.last_run("city")
            assert final.status == "succeeded" and final.checkpoint.get("resumed_from") == cut.id
            assert snapshot(store, "city") == clean
