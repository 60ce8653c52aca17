"""Real HTTP servers on 127.0.0.1 (port 0, one thread each) for harvester tests.

Nothing is patched: the harvester talks HTTP to these servers, which serve the
real captured responses of the shared corpus and can misbehave on purpose
(5xx, 429 and 503 with Retry-After, connection resets, cut-off bodies,
slowness, huge bodies, broken bytes). A ``Reply`` says what to send; an app is
a callable from a ``Request`` to a Reply.
"""

from __future__ import annotations

import gzip
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/xml; charset=utf-8"
    delay: float = 0.0  # seconds before answering
    fault: str = ""  # "reset" (RST after half the body) | "cut" (close after half, Content-Length says all)
    compress: bool = False  # gzip or deflate when the client accepts it
    stream_chunks: int = 0  # send the body in this many writes (big bodies)


App = Callable[[Request], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        parts = urlsplit(self.path)
        request = Request(parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                          {k.lower(): v for k, v in self.headers.items()})
        self.server.requests.append(request)
        reply = self.server.app(request)
        if reply.delay:
            time.sleep(reply.delay)
        body, headers = reply.body, dict(reply.headers)
        accepted = request.headers.get("accept-encoding", "")
        if reply.compress and "gzip" in accepted:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        elif reply.compress and "deflate" in accepted:
            body, headers["Content-Encoding"] = zlib.compress(body), "deflate"
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if reply.fault:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if reply.fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif reply.fault == "cut":
                    self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                self.connection.close()
                return
            step = max(1, len(body) // reply.stream_chunks) if reply.stream_chunks else len(body) or 1
            for start in range(0, len(body), step):
                self.wfile.write(body[start : start + step])
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: App) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.requests: list[Request] = []


class Server:
    """A running server; ``url`` is its base, ``requests`` what it was asked."""

    def __init__(self, app: App) -> None:
        self._server = _Server(app)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[Request]:
        return self._server.requests

    @property
    def app(self) -> App:
        return self._server.app

    @app.setter
    def app(self, value: App) -> None:
        self._server.app = value

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(app: App) -> Iterator[Server]:
    server = Server(app)
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------- OAI-PMH


_TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")
_REQUEST_TOKEN = re.compile(rb'<request[^>]*resumptionToken="([^"]+)"')


def token_of(page: bytes) -> str | None:
    found = _TOKEN.search(page)
    return found.group(1).decode().strip() if found else None


def chain_by_file_name(folder: Path, first: str) -> dict[str | None, bytes]:
    """Pages whose token is the next file's name (sickle's fixtures): {None: first, token: page…}."""
    pages: dict[str | None, bytes] = {None: (folder / first).read_bytes()}
    token = token_of(pages[None])
    while token:
        pages[token] = (folder / token).read_bytes()
        token = token_of(pages[token])
    return pages


def chain_by_request(first: Path, others: list[Path]) -> dict[str | None, bytes]:
    """Pages chained by the token each captured response echoes in <request resumptionToken=…>."""
    pages: dict[str | None, bytes] = {None: first.read_bytes()}
    for path in others:
        data = path.read_bytes()
        echoed = _REQUEST_TOKEN.search(data)
        assert echoed, path
        pages[echoed.group(1).decode()] = data
    return pages


BAD_TOKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>
<request verb="ListRecords">http://127.0.0.1/oai</request>
<error code="badResumptionToken">The value of the resumptionToken argument is invalid or expired.</error>
</OAI-PMH>"""


@dataclass
class OaiApp:
    """An OAI-PMH endpoint over captured pages: {token or None: page bytes}.

    ``faults[(key)]`` lists replies served (and consumed) before the normal
    answer, where key is "Identify" or the token (None for the first page).
    ``after_page`` is called with the token of every page served.
    """

    identify: bytes
    pages: dict[str | None, bytes]
    faults: dict[str | None, list[Reply]] = field(default_factory=dict)
    compress: bool = False
    before: Callable[[Request], None] | None = None

    def __call__(self, request: Request) -> Reply:
        if self.before is not None:
            self.before(request)
        verb = request.params.get("verb")
        key: str | None = "Identify" if verb == "Identify" else request.params.get("resumptionToken")
        pending = self.faults.get(key)
        if pending:
            return pending.pop(0)
        if verb == "Identify":
            return Reply(body=self.identify, compress=self.compress)
        if verb != "ListRecords":
            return Reply(status=400, body=b"unexpected verb")
        if key is not None and key not in self.pages:
            return Reply(status=200, body=BAD_TOKEN)
        return Reply(body=self.pages[key], compress=self.compress)
