"""Crash safety: a writer SIGKILLed mid-batch leaves every batch fully there or fully absent."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from repository.models import RawPayload, RecordRow
from repository.store import Store
from tests.store.conftest import PG_URL, make_record

WRITER = Path(__file__).with_name("crash_writer.py")
SIZE = 200
pytestmark = pytest.mark.slow


def run_and_kill(url: str, schema: str | None, rng: random.Random) -> set[int]:
    """Start the writer, SIGKILL it at a random moment after a random number of
    commits, and return the batch numbers it reported as committed."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url, schema or "-", "crash", str(SIZE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reported: set[int] = set()
    try:
        assert proc.stdout is not None
        wanted = rng.randint(1, 4)
        deadline = time.monotonic() + 60
        while len(reported) < wanted and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer exited early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}")
            reported.add(int(line))
        time.sleep(rng.uniform(0, 0.15))
    finally:
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
    reported.update(int(n) for n in out.split())
    assert proc.returncode == -signal.SIGKILL
    return reported


def check_batches(store: Store, reported: set[int]) -> int:
    """Every batch all-or-nothing, reported ones durable; returns the number of batches present."""
    with store.session() as s:
        if store.dialect == "postgresql":  # one snapshot, even if the killed backend's COMMIT lands now
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        ids = s.scalars(select(RecordRow.source_record_id)).all()
        per_batch: dict[int, int] = {}
        for srid in ids:
            if m := re.match(r"b(\d+)-", srid):
                per_batch[int(m.group(1))] = per_batch.get(int(m.group(1)), 0) + 1
        assert all(count == SIZE for count in per_batch.values()), per_batch
        present = sorted(per_batch)
        assert present == list(range(len(present))), "batches are committed in order"
        assert reported <= set(present), "a batch reported committed is missing"
        assert len(present) <= max(reported) + 2  # at most the one in flight beyond the last report
        shared = s.execute(select(RecordRow.title).where(RecordRow.source_record_id.like("shared-%"))).all()
        assert len(shared) == SIZE and {t for (t,) in shared} == {f"gen {len(present) - 1}"}
        raw_count = s.scalar(select(func.count()).select_from(RawPayload))
        assert raw_count == SIZE * len(present)
    return len(present)


def prepare(store: Store) -> None:
    store.init()
    store.add_source("crash", "file")


def test_sigkill_sqlite_writer_leaves_consistent_file(tmp_path: Path) -> None:
    seed = os.environ.get("HUIJU_CRASH_SEED") or str(time.time_ns())
    print(f"HUIJU_CRASH_SEED={seed}")  # shown on failure, to replay the same kill moments
    rng = random.Random(seed)
    for trial in range(4):
        path = tmp_path / f"crash{trial}.db"
        url = f"sqlite:///{path}"
        with Store(url) as store:
            prepare(store)
        reported = run_and_kill(url, None, rng)
        with Store(url) as store:
            with store.engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            present = check_batches(store, reported)
            # The file is usable afterwards: the next batch goes in.
            source = store.get_source("crash")
            assert source is not None
            assert store.upsert_records(source, [make_record(1, source="crash")]).added == 1
            assert store.count_records() == SIZE * (present + 1) + 1


@pytest.mark.postgres
def test_sigkill_postgres_writer(pg_schema: str) -> None:
    with Store(PG_URL, schema=pg_schema) as store:
        prepare(store)
    reported = run_and_kill(PG_URL, pg_schema, random.Random(time.time_ns()))
    with Store(PG_URL, schema=pg_schema) as store:
        check_batches(store, reported)
