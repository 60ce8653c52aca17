"""Source servers that fail: `huiju harvest --all` retries within bounds, records each
failure on its run and goes on with the other sources; the next run completes.

Four real servers on 127.0.0.1, one per source: one that drops the connection
in the middle of page 3 on every attempt, one slower than the client timeout,
one that answers 500 twice and then recovers, and a healthy one. Settings:
HUIJU_HARVEST_RETRIES=2 (three attempts), HUIJU_HARVEST_TIMEOUT=1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from repository.store import Store
from tests.harvester.servers import App, Reply, Request
from tests.reliability.faults_support import (
    FAST,
    Faulty,
    add_oai_source,
    cli_env,
    huiju,
    oai_app,
    serving,
    snapshot,
)

Plan = Callable[[Request, int], Reply | None]
ATTEMPTS = int(FAST["HARVEST_RETRIES"]) + 1
SLOWER_THAN_TIMEOUT = float(FAST["HARVEST_TIMEOUT"]) + 1.5


class Switch:
    """A fault plan that can be switched off once the server has "recovered"."""

    def __init__(self, plan: Plan) -> None:
        self.plan, self.on = plan, True

    def __call__(self, request: Request, n: int) -> Reply | None:
        return self.plan(request, n) if self.on else None


def dies_on_page_3(request: Request, _n: int) -> Reply | None:
    return Reply(body=b"<OAI-PMH>" + b"x" * 4000, fault="reset") if request.params.get("resumptionToken") == "p2" \
        else None


def too_slow(request: Request, _n: int) -> Reply | None:
    return Reply(status=200, body=b"late", delay=SLOWER_THAN_TIMEOUT) if request.params.get("verb") else None


def errors_twice(_request: Request, n: int) -> Reply | None:
    return Reply(status=500, body=b"internal error") if n <= 2 else None


def asked(app: Faulty, **params: str) -> int:
    return sum(all(r.params.get(k) == v for k, v in params.items()) for r in app.seen)


class Recording(Faulty):
    """A Faulty app that also keeps the requests it saw."""

    def __init__(self, app: App, plan: Plan) -> None:
        super().__init__(app, plan)
        self.seen: list[Request] = []

    def __call__(self, request: Request) -> Reply:
        self.seen.append(request)
        return super().__call__(request)


def test_harvest_all_survives_failing_servers_and_the_next_run_completes(tmp_path: Path) -> None:
    plans = {"a-dies": dies_on_page_3, "b-slow": too_slow, "c-flaky": errors_twice, "d-good": None}
    switches = {name: Switch(plan) for name, plan in plans.items() if plan}
    apps = {name: Recording(oai_app(30, 5), switches.get(name) or (lambda _r, _n: None)) for name in plans}
    env = cli_env(tmp_path / "instance")
    db = tmp_path / "instance" / "huiju.db"
    servers = [serving(app) for app in apps.values()]
    running = [s.__enter__() for s in servers]
    try:
        with Store(f"sqlite:///{db}") as store:
            store.init()
            for name, server in zip(apps, running, strict=True):
                add_oai_source(store, name, server.url + "/oai")
            with serving(oai_app(30, 5)) as reference_server:
                add_oai_source(store, "reference", reference_server.url + "/oai")
                assert huiju(env, "harvest", "reference").returncode == 0
            store.update_source("reference", enabled=False)
            clean = snapshot(store, "reference")

        started = time.monotonic()
        first = huiju(env, "harvest", "--all", timeout=60)
        took = time.monotonic() - started
        assert first.returncode == 1, first.stdout + first.stderr  # some sources failed…
        assert "Traceback" not in first.stderr, first.stderr
        # … within bounds: three attempts per request, short backoff, no endless waiting.
        assert took < 25, f"harvest --all took {took:.1f} s"
        assert asked(apps["a-dies"], resumptionToken="p2") == ATTEMPTS
        assert asked(apps["b-slow"], verb="Identify") == ATTEMPTS
        assert asked(apps["c-flaky"], verb="Identify") == ATTEMPTS  # two 500s, then the answer

        with Store(f"sqlite:///{db}") as store:
            dies, slow = store.last_run("a-dies"), store.last_run("b-slow")
            assert dies.status == "failed" and "page 3" in dies.message and f"after {ATTEMPTS} attempts" \
                in dies.message, dies.message
            assert dies.checkpoint["token"] == "p2"  # pages 1-2 stored, the next run resumes at page 3
            assert store.count_records(source="a-dies") == 10
            assert slow.status == "failed" and "Identify" in slow.message and "timed out" in slow.message.lower(), \
                slow.message
            for name in ("c-flaky", "d-good"):  # the others kept running and got everything
                assert store.last_run(name).status == "succeeded", name
                assert portable(snapshot(store, name)) == portable(clean), name
        for name in ("a-dies", "b-slow"):
            assert f"{name}: #" in first.stdout and "failed" in first.stdout

        for switch in switches.values():  # the servers recover
            switch.on = False
        second = huiju(env, "harvest", "--all", timeout=60)
        assert second.returncode == 0, second.stdout + second.stderr
        with Store(f"sqlite:///{db}") as store:
            resumed = store.last_run("a-dies")
            assert resumed.status == "succeeded" and resumed.checkpoint["resumed_from"] == dies.id
            for name in plans:
                assert portable(snapshot(store, name)) == portable(clean), name
        after_first = [r for r in apps["a-dies"].seen if r.params.get("verb") == "ListRecords"]
        assert after_first[-4].params.get("resumptionToken") == "p2"  # resumed at page 3 (of 6 pages)
    finally:
        for server in servers:
            server.__exit__(None, None, None)


def portable(snap: dict) -> dict:
    """A snapshot without the content hash, which folds in the source's name: comparable across sources."""
    return {srid: (title, deleted, raw) for srid, (title, deleted, _content, raw) in snap.items()}
