"""`huiju serve`: which server runs, and gunicorn's forked workers answering a search."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from harvester.processes import stop_process
from repository import server
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_choose_names_the_server() -> None:
    assert server.choose("waitress") == "waitress"
    assert server.choose("auto") == ("gunicorn" if server.gunicorn_available() else "waitress")
    with pytest.raises(ValueError, match="unknown server"):
        server.choose("uwsgi")


def test_zero_workers_means_one_per_core() -> None:
    assert server.workers_for(0) == (os.cpu_count() or 1)
    assert server.workers_for(3) == 3



def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.skipif(not server.gunicorn_available(), reason="gunicorn is not installed (POSIX only)")
def test_gunicorn_workers_answer_searches_and_stop_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", "from repository.cli import main; main()", "serve", "--port", str(port),
         "--server", "gunicorn", "--workers", "2", "--threads", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        status, body = 0, b""
        while time.monotonic() < deadline and child.poll() is None:
            try:
                status, body = _get(port, "/api/search?" + urlencode({"q": "勾股定理"}))
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200, body[:300]
        assert json.loads(body)["total"] == 0
        for _ in range(6):  # several connections: more than one forked worker answers
            assert _get(port, "/api/search?q=")[0] == 200
    finally:
        stop_process(child, grace=20)
        output = child.stdout.read().decode() if child.stdout else ""
        if child.stdout:
            child.stdout.close()
    assert "gunicorn, 2 processes × 2 threads" in output
    assert child.returncode == 0, output
