"""Watching a server under measurement: a free port, readiness, the memory of its process tree.

Shared by the benchmarks that start servers (search_http.py, ingest.py) and the
reliability load test (tests/reliability/load_support.py), so all read memory
the same way: VmRSS from /proc, summed over the process and its descendants.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_ready(port: int, path: str, proc: subprocess.Popen, timeout: float = 120.0,
               fail: type[BaseException] = SystemExit) -> None:
    """Until the server answers `path` with 200; raises `fail` if it exits first or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise fail(f"the server exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise fail(f"no answer on {HOST}:{port}{path} within {timeout:.0f} s")


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process (from /proc/<pid>/stat)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(root: int) -> list[int]:
    """root and all its descendants."""
    tree, todo, found = _children(), [root], []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += tree.get(pid, [])
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and its descendants (a server with worker processes counts whole)."""
    return sum(rss_bytes(pid) for pid in process_tree(root))
