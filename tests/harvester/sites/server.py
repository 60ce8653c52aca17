"""A small web site on 127.0.0.1 for the crawl tests, logging every request it gets.

Pages are the files beside this module (written for these tests; ``{{base}}``
becomes the server's own address), plus real LRMI pages served straight from
the shared corpus (never copied). Site pages carry an ETag and
``Cache-Control: no-cache`` (a recrawl must revalidate them: 304 when
unchanged); corpus pages say ``max-age=3600`` (a recrawl need not ask at all).
``override`` changes a page between two crawls.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
CORPUS_PAGES = {  # our URL -> file under corpus/lrmi/dcmi-lrmi
    "/corpus/treasure-map-microdata.html": "type+audience+level_md.html",
    "/corpus/treasure-map-rdfa.html": "type+audience+level_rdfa.html",
    "/corpus/treasure-map-jsonld.html": "type+audience+level_jsonld.json",
    "/corpus/cooperhewitt-microdata.html": "LRexample01a_md.html",
}
LAST_MODIFIED = "Mon, 01 Sep 2025 08:00:00 GMT"
TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".txt": "text/plain; charset=utf-8"}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A crawler hanging up mid-response (media guard, size cap) is expected, not an error."""


@dataclass(frozen=True)
class Hit:
    path: str  # with the query string
    status: int
    user_agent: str
    conditional: bool  # sent If-None-Match or If-Modified-Since


class TestSite:
    """Start with ``with TestSite(corpus) as site:``; ``site.base`` is http://127.0.0.1:<port>."""

    __test__ = False  # not a pytest class

    def __init__(self, corpus: Path | None = None, *, huge_bytes: int = 300_000) -> None:
        self.corpus = corpus
        self.huge_bytes = huge_bytes
        self.hits: list[Hit] = []
        self.overrides: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TestSite:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def override(self, path: str, text: str) -> None:
        self.overrides[path] = text.encode("utf-8")

    def page_text(self, path: str) -> str:
        return (HERE / path.lstrip("/")).read_text("utf-8")

    def requested(self, prefix: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.startswith(prefix)]

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()

    # -- serving ----------------------------------------------------------------

    def content(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, str, str]:
        """(status, body, content type, cache-control) for a path."""
        if path in self.overrides:
            return 200, self.overrides[path].replace(b"{{base}}", self.base.encode()), TYPES[".html"], "no-cache"
        if path in CORPUS_PAGES and self.corpus is not None:
            body = (self.corpus / "lrmi" / "dcmi-lrmi" / CORPUS_PAGES[path]).read_bytes()
            return 200, body, TYPES[".html"], "max-age=3600"
        if path.startswith("/media/"):
            return 200, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2_000_000, "video/mp4", "max-age=3600"
        if path == "/lessons/huge.html":
            filler = "<p>" + "勾股定理" * 100 + "</p>\n"
            body = "<!DOCTYPE html><html><body>" + filler * (self.huge_bytes // len(filler.encode()) + 1)
            return 200, body.encode() + b"</body></html>", TYPES[".html"], "no-cache"
        if path.endswith("/list.html"):
            page = query.get("page", ["1"])[0]
            path = path.replace("list.html", f"list-{page}.html")
        file = HERE / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
        if ".." in path or not file.is_file() or file.suffix not in TYPES:
            return 404, b"<html><body>not found</body></html>", TYPES[".html"], "no-cache"
        body = file.read_bytes().replace(b"{{base}}", self.base.encode())
        return 200, body, TYPES[file.suffix], "no-cache"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                status, body, ctype, cache = site.content(parts.path, parse_qs(parts.query))
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                with site._lock:
                    site.hits.append(Hit(self.path, status, self.headers.get("User-Agent", ""), conditional))
                self.send_response(status)
                if status in (200, 304):
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", LAST_MODIFIED)
                    self.send_header("Cache-Control", cache)
                if status != 304:
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler hung up (media guard, size cap): expected

            def log_message(self, *args: object) -> None:
                pass

        return Handler
