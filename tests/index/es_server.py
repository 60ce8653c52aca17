"""A search cluster for the Elasticsearch backend tests.

HUIJU_ES_URL set: that cluster (real Elasticsearch); the test indices
(prefix huiju-test-) are deleted at the end of the session. Otherwise an
osmem-server process (the in-memory OpenSearch-compatible server shipped in
the osmem-server wheel) on a free loopback port, started on first use with a
bounded wait and stopped at the end of the session; it also exits with the
test process (--parent-pid, stdin watch). Failure tests start their own
server, to kill it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

ENV_URL = "HUIJU_ES_URL"
TEST_PREFIX = "huiju-test-"
STARTUP_TIMEOUT = 20.0


class ServerUnavailable(RuntimeError):
    """osmem-server cannot run here; the message is the skip reason."""


@dataclass
class OsmemProcess:
    """An osmem-server this test session started (and may stop or kill)."""

    process: subprocess.Popen[str]
    url: str
    log: IO[str]
    _drain: threading.Thread | None = field(default=None, repr=False)

    def stop(self, grace: float = 5.0) -> None:
        """Orderly stop: osmem exits when its stdin closes; killed after `grace` seconds."""
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._drain is not None:
            self._drain.join(grace)  # EOF once the process is gone
        if self.process.stdout:
            self.process.stdout.close()
        self.log.close()

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdin:
            self.process.stdin.close()


def start_osmem(timeout: float = STARTUP_TIMEOUT) -> OsmemProcess:
    """Start osmem-server on 127.0.0.1 (it picks a free port and prints its URL); wait ≤ timeout."""
    try:
        from osmem_server import OsmemError, resolve_binary

        binary = resolve_binary()
    except (ImportError, OsmemError) as exc:
        raise ServerUnavailable(f"osmem-server is not installed for this platform: {exc}") from exc
    log = tempfile.NamedTemporaryFile("w+", prefix="osmem-", suffix=".log", delete=False)  # noqa: SIM115
    args = [binary, "--addr", "127.0.0.1:0", "--no-ja", "--parent-pid", str(os.getpid())]
    try:
        process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1
        )
    except OSError as exc:
        log.close()
        raise ServerUnavailable(f"cannot run {binary}: {exc}") from exc
    ready: dict[str, str] = {}

    def read_stdout() -> None:  # the ready line, then drain, so the pipe never fills up
        assert process.stdout is not None
        for line in process.stdout:
            if not ready:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and "url" in message:
                    ready.update(message)

    reader = threading.Thread(target=read_stdout, name="osmem-stdout", daemon=True)
    reader.start()
    waited = 0.0
    while not ready and process.poll() is None and waited < timeout:
        reader.join(0.05)
        waited += 0.05
    server = OsmemProcess(process, ready.get("url", ""), log, reader)
    if not ready:
        server.kill()
        server.stop()
        detail = Path(log.name).read_text(errors="replace")[-500:]
        raise ServerUnavailable(f"osmem-server did not start within {timeout:.0f} s: {detail.strip()}")
    with urllib.request.urlopen(server.url + "/", timeout=5) as response:  # it answers HTTP
        if response.status != 200:
            server.stop()
            raise ServerUnavailable(f"osmem-server at {server.url} answered {response.status}")
    return server


_shared: OsmemProcess | None = None
_unavailable: str | None = None
_lock = threading.Lock()


def cluster_url() -> str:
    """HUIJU_ES_URL, else the session's osmem-server (started once); skips the test when neither runs."""
    global _shared, _unavailable
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    with _lock:
        if _shared is None and _unavailable is None:
            try:
                _shared = start_osmem()
            except ServerUnavailable as exc:
                _unavailable = str(exc)
    if _shared is None:
        pytest.skip(f"no Elasticsearch for the tests: set {ENV_URL}, or fix osmem-server: {_unavailable}")
    return _shared.url


def is_osmem() -> bool:
    return not os.environ.get(ENV_URL)


def index_prefix(path: Path) -> str:
    """The alias of the index a test opens at `path`: reopening the path reopens the index."""
    return TEST_PREFIX + hashlib.sha1(str(path).encode()).hexdigest()[:12]


def shutdown() -> None:
    """End of session: stop osmem, or delete the test indices from the real cluster."""
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None
    elif os.environ.get(ENV_URL):
        from index.es_client import make_client

        client = make_client(os.environ[ENV_URL])
        try:  # concrete names: clusters refuse wildcard deletes (action.destructive_requires_name)
            for name in client.indices.get(index=TEST_PREFIX + "*", expand_wildcards="all").body:
                client.options(ignore_status=404).indices.delete(index=name)
        finally:
            client.close()
