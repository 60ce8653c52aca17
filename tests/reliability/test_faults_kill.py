"""SIGKILL of `huiju harvest` at random moments: the restart ends with exactly a clean run's records.

Ten seeded trials (HUIJU_FAULT_SEED replays a failure). Even trials kill the
first harvest of an empty store; odd trials kill a second harvest that edits
and deletes records the first one stored, so deleted flags and changed
content must also come out right. Each kill lands after the harvester asked
for its first page, somewhere in the run (fetching, mapping, writing).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from harvester.runner import harvest_source
from repository.settings import Settings
from repository.store import Store
from tests.harvester.servers import Request, Server
from tests.reliability.faults_support import (
    add_oai_source,
    cli_env,
    huiju,
    integrity,
    oai_app,
    serving,
    snapshot,
    start_huiju,
)

pytestmark = pytest.mark.slow

NAME = "city"
TRIALS = 10
PAGE_DELAY = 0.03  # seconds per ListRecords page: 12 pages, so a run lasts long enough to be cut
VERSION_1 = {"count": 60, "per_page": 5, "delay": PAGE_DELAY}
VERSION_2 = {**VERSION_1, "deleted_every": 7, "tag": "修订："}


class Watch:
    """Notes when the first ListRecords request arrives and the tokens asked for."""

    def __init__(self) -> None:
        self.listing = threading.Event()
        self.asked: list[str | None] = []
        self.first = self.last = 0.0  # monotonic times of the first and the last ListRecords request

    def __call__(self, request: Request) -> None:
        if request.params.get("verb") == "ListRecords":
            self.asked.append(request.params.get("resumptionToken"))
            self.last = time.monotonic()
            if not self.listing.is_set():
                self.first = time.monotonic()
                self.listing.set()


def serve_version(server: Server, version: dict, watch: Watch | None = None) -> None:
    app = oai_app(**version)
    slow = app.before

    def before(request: Request) -> None:
        if watch is not None:
            watch(request)
        if slow is not None:
            slow(request)

    app.before = before
    server.app = app


def prepared(tmp: Path, base: Path | None, url: str) -> tuple[dict[str, str], Path]:
    """An instance folder whose database is a copy of ``base`` (or a new store with the source)."""
    instance = tmp / "instance"
    instance.mkdir(parents=True)
    db = instance / "huiju.db"
    if base is not None:
        shutil.copy(base, db)
    else:
        with Store(f"sqlite:///{db}") as store:
            store.init()
            add_oai_source(store, NAME, url)
    return cli_env(instance), db


def test_sigkilled_harvests_restart_to_exactly_the_clean_records(tmp_path: Path) -> None:
    seed = os.environ.get("HUIJU_FAULT_SEED") or str(time.time_ns())
    print(f"HUIJU_FAULT_SEED={seed}")  # shown on failure: replays the same kill moments
    rng = random.Random(seed)
    with serving(oai_app()) as server:
        url = server.url + "/oai"
        # Clean references: version 1 into an empty store, then version 2 on top of it.
        env, after_v1 = prepared(tmp_path / "clean", None, url)
        watch = Watch()
        serve_version(server, VERSION_1, watch)
        assert huiju(env, "harvest", NAME).returncode == 0
        span = watch.last - watch.first + PAGE_DELAY  # first to last page: the window a kill must land in
        with Store(f"sqlite:///{after_v1}") as store:
            clean_v1 = snapshot(store, NAME)
        base_v1 = tmp_path / "v1.db"
        shutil.copy(after_v1, base_v1)
        serve_version(server, VERSION_2)
        with Store(f"sqlite:///{after_v1}") as store:
            assert harvest_source(store, NAME, settings=Settings(environ=env)).status == "succeeded"
        with Store(f"sqlite:///{after_v1}") as store:
            clean_v2 = snapshot(store, NAME)
        assert sum(deleted for _, deleted, *_ in clean_v2.values()) == 60 // 7
        assert clean_v1 != clean_v2

        cut_mid_run = 0
        for trial in range(TRIALS):
            second = trial % 2 == 1
            env, db = prepared(tmp_path / f"trial{trial}", base_v1 if second else None, url)
            watch = Watch()
            serve_version(server, VERSION_2 if second else VERSION_1, watch)
            proc = start_huiju(env, "harvest", NAME)
            try:
                assert watch.listing.wait(30), f"trial {trial}: the harvest never asked for a page"
                delay = rng.uniform(0, span)
                time.sleep(delay)
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.communicate(timeout=30)
            assert integrity(db) == "ok", f"trial {trial}"
            with Store(f"sqlite:///{db}") as store:
                killed = store.last_run(NAME)
            was_running = killed is not None and killed.status == "running"
            cut_mid_run += was_running
            token = (killed.checkpoint or {}).get("token") if was_running else None
            print(f"trial {trial}: killed {delay:.2f} s into a {span:.2f} s harvest; run left running: "
                  f"{was_running}, checkpoint token: {token}")

            asked_before = len(watch.asked)
            if trial < 2:  # the operator's restart, as a command
                restarted = huiju(env, "harvest", NAME)
                assert restarted.returncode == 0, f"trial {trial}: {restarted.stdout}{restarted.stderr}"
            else:  # the same runner in this process: no interpreter start-up per trial
                with Store(f"sqlite:///{db}") as store:
                    assert harvest_source(store, NAME, settings=Settings(environ=env)).status == "succeeded"
            with Store(f"sqlite:///{db}") as store:
                if was_running:
                    assert store.get_run(killed.id).status == "interrupted", f"trial {trial}"
                final = store.last_run(NAME)
                assert final.status == "succeeded"
                if token:  # resumed at the page it was cut on, not from the start
                    assert final.checkpoint["resumed_from"] == killed.id
                    assert watch.asked[asked_before] == token, f"trial {trial}"
                got = snapshot(store, NAME)
            assert got == (clean_v2 if second else clean_v1), f"trial {trial} (seed {seed})"
            assert integrity(db) == "ok", f"trial {trial}"
        assert cut_mid_run >= TRIALS // 2, f"only {cut_mid_run} of {TRIALS} kills landed in a running harvest"
