"""The six platforms as real HTTP servers on 127.0.0.1, one thread each, in one child process.

Why a child process: page generation is CPU work, and the harvester maps and
stores in the parent; two processes use both cores where threads would
share one interpreter lock. `python -m harvester.demo INSTANCE_DEMO_DIR`
binds every server (the ports saved in the state when they are free, else
fresh ones), prints one JSON line {"ports": {...}} once all listen, and
serves until SIGINT/SIGTERM, or until its parent dies (a watchdog checks
the parent pid), so a killed `huiju demo` leaves no orphan server behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harvester.demo.platforms import SERVERS
from harvester.demo.sites import Reply, Site
from harvester.demo.state import StateWatcher

DEFAULT_PORTS = {name: 5101 + n for n, name in enumerate(SERVERS)}
"""Fixed ports tried first (5101-5106), so the URLs in the docs work; taken ones are replaced."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as two writes: with Nagle's algorithm on, a keep-alive client's delayed
    # ACK held every response ~40 ms (the crawled sites' ceiling was ~130 pages/s)
    disable_nagle_algorithm = True
    server: PlatformServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path, _, query = self.path.partition("?")
        try:
            reply = self.server.site.answer(self.server.watcher.current(), path, query)
        except Exception as exc:  # noqa: BLE001 - a bug in one page must not take the platform down
            self.server.errors += 1
            reply = Reply(500, "text/plain; charset=utf-8", f"internal error: {type(exc).__name__}: {exc}".encode())
        self.send(reply)

    def send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Server", f"huiju-demo-{self.server.site.server}")
        if isinstance(reply.body, bytes):
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in reply.body:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: a harvest makes thousands of requests."""


class PlatformServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], site: Site, watcher: StateWatcher) -> None:
        super().__init__(address, Handler)
        self.site, self.watcher, self.errors = site, watcher, 0


def _bind(host: str, wanted: int) -> socket.socket:
    """A listening socket on ``wanted`` when it is free, else on a port the system picks."""
    for port in (wanted, 0) if wanted else (0,):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            continue
        return sock
    raise OSError(f"no free port on {host}")


def start(folder: Path, host: str = "127.0.0.1", ports: dict[str, int] | None = None) -> list[PlatformServer]:
    """Bind and start every platform server in this process (tests use it directly)."""
    watcher = StateWatcher(folder)
    wanted = {**DEFAULT_PORTS, **(ports or {})}
    sockets = {name: _bind(host, wanted.get(name, 0)) for name in SERVERS}
    bases = {name: f"http://{host}:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    servers = []
    for name, sock in sockets.items():
        site = Site(name, bases[name], lambda: bases)
        server = _adopt(sock, site, watcher)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"demo-{name}",
                         daemon=True).start()
        servers.append(server)
    return servers


def _adopt(sock: socket.socket, site: Site, watcher: StateWatcher) -> PlatformServer:
    """A server on an already bound socket (binding first lets a taken port fall back cleanly)."""
    server = PlatformServer.__new__(PlatformServer)
    ThreadingHTTPServer.__init__(server, sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_address = sock.getsockname()
    server.server_activate()
    server.site, server.watcher, server.errors = site, watcher, 0
    return server


def ports_of(servers: list[PlatformServer]) -> dict[str, int]:
    return {s.site.server: s.server_address[1] for s in servers}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        print("usage: python -m harvester.demo DEMO_FOLDER [--host H] [--ports JSON]", file=sys.stderr)
        return 2
    folder, host, ports = Path(args[0]), "127.0.0.1", {}
    if "--host" in args:
        host = args[args.index("--host") + 1]
    if "--ports" in args:
        ports = json.loads(args[args.index("--ports") + 1])
    parent = os.getppid()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    servers = start(folder, host, ports)
    print(json.dumps({"ports": ports_of(servers)}), flush=True)
    while not stop.is_set():
        if os.getppid() != parent:  # the parent died without stopping us
            break
        stop.wait(0.5)
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


