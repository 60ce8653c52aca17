"""Harvester fixtures: a fresh SQLite store, fast retry settings, corpus chains."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repository.settings import Settings
from repository.store import Store
from tests.harvester.servers import App, Server

FAST = {
    "HARVEST_BACKOFF": "0.01",
    "HARVEST_RETRIES": "2",
    "HARVEST_TIMEOUT": "2",
    "HARVEST_RETRY_AFTER_MAX": "0.2",
    "HARVEST_CONTACT": "mailto:harvest-tests@example.org",
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture
def fast_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """HUIJU_* variables for short retry delays and a private instance folder (in- and out-of-process)."""
    env = {f"HUIJU_{k}": v for k, v in FAST.items()}
    env["HUIJU_INSTANCE_PATH"] = str(tmp_path / "instance")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HUIJU_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUIJU_CONFIG", raising=False)
    return env


@pytest.fixture
def settings(fast_env: dict[str, str]) -> Settings:
    return Settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    with Store(settings.database_url) as opened:
        opened.init()
        yield opened


@pytest.fixture
def server() -> Iterator[Server]:
    """A server answering 404 until the test sets ``server.app``."""
    from tests.harvester.servers import Reply

    def nothing(_request: object) -> Reply:
        return Reply(status=404, body=b"no app")

    running = Server(nothing)
    try:
        yield running
    finally:
        running.close()


def make_server(app: App) -> Server:
    return Server(app)
