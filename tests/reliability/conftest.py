"""Fixtures for the hostile-input suite: a store holding good records, real servers on 127.0.0.1.

Every harvest case follows one shape: a store that already holds good
records (``seeded``), a real HTTP server serving the hostile payload among
good ones, ``harvest_source`` end to end, then checks that the hostile item
was refused with a clear reason, the good records of the same run arrived,
and the records stored before are byte-for-byte what they were. A second
server (``tripwire``) stands in for any URL a payload points at; it counts
requests so "nothing was fetched" is asserted, not assumed.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from repository.ingest import ensure_source, store_results
from repository.models import Quarantine, RawPayload, RecordRow
from repository.settings import Settings
from repository.store import Store
from schemas.crosswalks import reader
from tests.harvester.conftest import FAST
from tests.harvester.servers import Server
from tests.reliability.hostile_site import hostile_app, hostile_site  # noqa: F401 - fixtures for web and query cases

GOOD_JSONL = "\n".join(
    json.dumps({"source_record_id": rid, "title": title, "description": "既有的好记录", "language": "zh"})
    for rid, title in (("kept-1", "勾股定理 第一课时"), ("kept-2", "一元二次方程的解法"))
).encode()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Short retries, a private instance folder, SQLite."""
    for key, value in FAST.items():
        monkeypatch.setenv(f"HUIJU_{key}", value)
    monkeypatch.setenv("HUIJU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("HUIJU_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUIJU_CONFIG", raising=False)
    return Settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    with Store(settings.database_url) as opened:
        opened.init()
        yield opened


def snapshot(store: Store) -> dict[str, tuple[Any, ...]]:
    """Every stored record row, column by column: what "byte-for-byte unchanged" compares."""
    with store.session() as s:
        rows = s.scalars(select(RecordRow)).all()
        return {row.id: tuple(getattr(row, c.key) for c in RecordRow.__table__.columns) for row in rows}


def payloads(store: Store) -> dict[int, bytes]:
    with store.session() as s:
        return {p.id: bytes(p.content) for p in s.scalars(select(RawPayload)).all()}


@dataclass
class Seeded:
    store: Store
    before: dict[str, tuple[Any, ...]]
    raw_before: dict[int, bytes]

    def assert_untouched(self) -> None:
        """The records stored before the hostile run are exactly as they were."""
        after = snapshot(self.store)
        for rid, row in self.before.items():
            assert after.get(rid) == row, f"stored record {rid} changed"
        raw = payloads(self.store)
        for pid, data in self.raw_before.items():
            assert raw.get(pid) == data, f"raw payload {pid} changed"


@pytest.fixture
def seeded(store: Store) -> Seeded:
    """The store with two good records from an earlier import (another source, as a library would have)."""
    source = ensure_source(store, "earlier", kind="file", location="", level="district")
    report = store_results(store, source, reader("jsonl")(GOOD_JSONL, source="earlier"))
    assert report.added == 2
    return Seeded(store, snapshot(store), payloads(store))


def quarantined(store: Store, source: str) -> list[Quarantine]:
    return store.list_quarantine(source)


def titles(store: Store, source: str) -> set[str]:
    return {r.title for r in store.iter_records(source=source)}


def harvest(store: Store, name: str) -> Any:
    from harvester.runner import harvest_source

    return harvest_source(store, name, settings=Settings())


# -- servers -------------------------------------------------------------------------------------------


@pytest.fixture
def tripwire() -> Iterator[Server]:
    """A server any hostile payload points at (entities, DTDs, contexts): its request count must stay 0."""
    from tests.harvester.servers import Reply

    running = Server(lambda _request: Reply(body=b'<!ENTITY leak "LEAKED">', content_type="text/plain"))
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def server() -> Iterator[Server]:
    """A server answering 404 until the test sets ``server.app``."""
    from tests.harvester.servers import Reply

    running = Server(lambda _request: Reply(status=404, body=b"no app"))
    try:
        yield running
    finally:
        running.close()


class StreamServer:
    """Serves ``chunks(path)`` as one chunked-encoding body of unbounded size, counting the bytes it got out.

    Why not the harvester's Server: its replies are whole byte strings, and a
    200 MB test must not hold 200 MB in memory on either side.
    """

    def __init__(self, chunks: Callable[[str], Iterator[bytes]]) -> None:
        outer = self
        self.sent = 0
        self.done = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in chunks(self.path):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        outer.sent += len(chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client hung up: what a size cap should do
                    pass
                finally:
                    self.close_connection = True
                    outer.done.set()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
