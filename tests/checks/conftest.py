"""Check fixtures: a record that passes every offline check, a Row for it, and real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest

from repository.checks.base import Context, Row
from schemas.record import Agent, Curriculum, Edition, Identifier, Record, Term
from tests.store.conftest import empty_store, pg_schema, store  # noqa: F401 - SQLite and PostgreSQL stores


def lesson(n: int = 1, **changes: Any) -> Record:
    """A complete, plausible lesson record (every offline check passes); ``changes`` override fields."""
    fields: dict[str, Any] = dict(
        source="school", source_record_id=f"lesson-{n}", url=f"https://res.example.edu.cn/lesson/{n}",
        identifiers=[Identifier("smartedu", f"nat-{n:08x}")], title=f"勾股定理（第{n}课时）",
        description="人教版八年级数学下册《勾股定理》微课视频：用面积法证明勾股定理，并解决实际问题。",
        keywords=["数学", "勾股定理"], language="zh",
        curriculum=Curriculum(stage=Term("junior", "初中"), grade=8, grade_label="八年级",
                              subject=Term("math", "数学"), edition=Edition("pep", "人教版"),
                              volume=Term("vol2", "下册"), chapter_path=["第十七章 勾股定理"], class_hour=1),
        resource_type=Term("micro-lecture", "微课视频"), format="video/mp4", size=48_000_000, duration="PT12M30S",
        agents=[Agent(name="王丽", role="teacher", school="北京市第一中学")], source_level="school",
        licence="CC-BY-NC-4.0",
    )
    fields.update(changes)
    return Record(**fields)


def with_curriculum(record: Record, **changes: Any) -> Record:
    return msgspec.structs.replace(record, curriculum=msgspec.structs.replace(record.curriculum, **changes))


def row(record: Record, *, work: str | None = None, source_id: int = 1) -> Row:
    return Row(record.id, source_id, "hash", work)


def codes(result: Any) -> list[str]:
    return [f.code for f in result.findings]


CONTEXT = Context()


class Site(BaseHTTPRequestHandler):
    """Routes the link-checker tests need; records every request (method, path, Host) on the server."""

    protocol_version = "HTTP/1.1"

    def _answer(self, head: bool) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        path = self.path.split("?")[0]
        query = self.path.partition("?")[2]
        if path == "/ok":
            return self._send(200)
        if path == "/gone":
            return self._send(404)
        if path == "/private":
            return self._send(403)
        if path == "/get-only":
            return self._send(405 if head else 200)
        if path == "/redirect":  # ?to=<absolute or relative URL>
            return self._send(302, location=query.removeprefix("to="))
        if path == "/loop":
            return self._send(302, location="/loop")
        if path == "/host":  # 200 only when the Host header names the URL's host (not the address connected to)
            return self._send(200 if self.headers.get("Host", "").startswith("lessons.test") else 400)
        if path == "/huge":  # a body far too big to read: the checker must not wait for it
            if head:
                return self._send(405)
            self.send_response(200)
            self.send_header("Content-Length", str(10**10))
            self.end_headers()
            try:
                for _ in range(100_000):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
            return None
        return self._send(404)

    def _send(self, status: int, *, location: str | None = None) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self._answer(True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def http_site() -> Iterator[Any]:
    """A real HTTP server on 127.0.0.1 (port 0); ``.base`` is its URL, ``.seen`` its requests."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    server.base = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()
        time.sleep(0)
