"""A harvest SIGKILLed mid-run and restarted ends with exactly a clean run's records."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repository.store import Store
from schemas.record import record_id
from tests.harvester.oai_support import add_oai, harvest, list_requests, snapshot, tokens, zenodo_app
from tests.harvester.servers import Request, Server

ROOT = Path(__file__).resolve().parents[2]
NAME = "zenodo"


def outcome(store: Store) -> dict[str, tuple]:
    """Records plus each one's raw payload hash: what must match a clean run."""
    records = snapshot(store, NAME)
    out = {}
    for srid, fields in records.items():
        raw = store.get_raw(record_id(NAME, srid))
        out[srid] = (*fields, raw.sha256 if raw else None)
    return out


def clean_result(corpus: Path, tmp_path: Path) -> dict[str, tuple]:
    server = Server(zenodo_app(corpus))
    try:
        with Store(f"sqlite:///{tmp_path / 'clean.db'}") as store:
            store.init()
            add_oai(store, server.url + "/oai", NAME)
            assert harvest(store, NAME).status == "succeeded"
            return outcome(store)
    finally:
        server.close()


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "repository", *args], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("page", [1, 2])
def test_killed_harvest_resumes_to_the_clean_result(
        page: int, corpus: Path, tmp_path: Path, store: Store, server: Server) -> None:
    expected = clean_result(corpus, tmp_path)
    server.app = app = zenodo_app(corpus)
    chain = tokens(app.pages)
    served_page, hold, release = threading.Event(), threading.Event(), threading.Event()

    def before(request: Request) -> None:
        token = request.params.get("resumptionToken")
        if request.params.get("verb") != "ListRecords" or release.is_set():
            return
        position = 0 if token is None else chain.index(token) + 1  # 0-based page number
        if position == page - 1:
            served_page.set()
        elif position == page:
            hold.set()
            release.wait(20)  # the harvester waits here for page k+1 until it is killed

    app.before = before
    add_oai(store, server.url + "/oai", NAME)
    proc = cli("harvest", NAME)
    try:
        assert served_page.wait(30), proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
        if page == 1:
            assert hold.wait(30)  # killed while fetching the next page (asked for while page 1 is stored)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (store.last_run(NAME).checkpoint or {}).get("token") != chain[0]:
                time.sleep(0.02)
        else:
            time.sleep(random.uniform(0, 0.05))  # killed anywhere between storing page k and asking for k+1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        release.set()
    assert proc.returncode == -signal.SIGKILL
    interrupted = store.last_run(NAME)
    assert interrupted.status == "running"  # what a killed process leaves behind
    if page == 1:
        assert interrupted.checkpoint["token"] == chain[0]

    before_restart = len(list_requests(server))
    restarted = cli("harvest", NAME)
    out, err = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, out + err
    assert "succeeded" in out
    assert store.get_run(interrupted.id).status == "interrupted"
    final = store.last_run(NAME)
    first_asked = list_requests(server)[before_restart].get("resumptionToken")
    if interrupted.checkpoint and interrupted.checkpoint.get("token"):
        assert final.checkpoint["resumed_from"] == interrupted.id
        assert first_asked == interrupted.checkpoint["token"]  # resumed where it stopped
    assert outcome(store) == expected
    assert store.count_records(source=NAME, include_deleted=True) == len(expected)

