"""Stopping the child processes Huiju starts (Scrapy crawls, the demo platforms)."""

from __future__ import annotations

import subprocess


def stop_process(child: subprocess.Popen, grace: float = 10.0) -> None:
    """Ask a child to stop (SIGTERM), and kill it if it has not within `grace` seconds."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
