"""Every defect the demo platforms plant (harvester/demo/platforms.py DEFECTS) is caught by its check;
dead links against the demo's own servers, running in this process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.demo.platforms import DEFECTS, items
from harvester.demo.servers import PlatformServer, ports_of, start
from harvester.demo.state import DemoState
from harvester.demo.styles import record
from repository.checks import required, sensitive, title, vocabulary
from repository.checks.base import Context
from repository.checks.links import LinkChecker
from tests.checks.conftest import row

CAUGHT_BY = {"placeholder": (title, "fail"), "missing": (required, "fail"), "sensitive": (sensitive, "fail"),
             "unmapped": (vocabulary, "warn")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoState, dict[str, str]]]:
    folder = Path(tmp_path_factory.mktemp("demo"))
    state = DemoState(size=500)
    state.save(folder)
    servers: list[PlatformServer] = start(folder, ports={name: 0 for name in (
        "national", "municipal", "haidian", "chaoyang", "library", "partner")})
    try:
        yield state, {name: f"http://127.0.0.1:{port}" for name, port in ports_of(servers).items()}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def planted(state: DemoState) -> list:
    return [it for name in DEFECTS for it in items(state, name) if it.defect and not it.deleted]


def test_every_planted_defect_is_caught(demo: tuple[DemoState, dict[str, str]]) -> None:
    state, bases = demo
    found = planted(state)
    assert {it.defect for it in found} >= {*CAUGHT_BY, "dead-link"}
    context = Context(terms=sensitive.load_terms())
    for it in found:
        if it.defect == "dead-link":
            continue
        published = record(state, it, bases)
        module, outcome = CAUGHT_BY[it.defect]
        assert module.check(published, row(published), context).outcome == outcome, (it.platform, it.defect)


def test_dead_links_fail_and_live_ones_pass(demo: tuple[DemoState, dict[str, str]]) -> None:
    state, bases = demo
    dead = [record(state, it, bases).url for it in planted(state) if it.defect == "dead-link"]
    live = [record(state, it, bases).url for name in ("library", "haidian", "partner")
            for it in list(items(state, name, 0, 3)) if not it.deleted and not it.defect]
    checker = LinkChecker(timeout=5)
    assert dead and live
    for url in dead:
        assert checker.check(url, local=True).outcome == "fail", url
        assert checker.check(url, local=False).findings[0].code == "link.blocked"  # not local: never contacted
    for url in live:
        assert checker.check(url, local=True).outcome == "pass", url
