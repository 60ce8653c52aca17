"""`huiju demo` end to end, as a user runs it: real processes, a real instance folder.

One small federation: prepared with --no-serve, then served (the platforms
keep running), ticked from another process, harvested with `huiju harvest
--all`, and stopped with SIGINT, which must take every child process down.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from repository.models import HarvestRun, RecordRow, Source, User
from repository.settings import Settings
from repository.store import Store
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
HUIJU = [sys.executable, "-m", "repository"]
SOURCES = {"national", "municipal", "haidian", "chaoyang", "chaoyang-archive", "library", "partner"}


def env(instance: Path) -> dict[str, str]:
    out = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "HUIJU_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    out.pop("HUIJU_DATABASE_URL", None)
    out.pop("HUIJU_SEARCH_BACKEND", None)
    return out


def huiju(instance: Path, *args: str) -> str:
    result = subprocess.run([*HUIJU, *args], cwd=ROOT, env=env(instance), capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, f"huiju {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout



def get_when_up(url: str) -> requests.Response:
    """The site prints its address just before it binds: retry briefly."""
    for _ in range(100):
        try:
            return requests.get(url, timeout=10)
        except requests.ConnectionError:
            time.sleep(0.1)
    return requests.get(url, timeout=10)


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found |= {int(child)} | descendants(int(child))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def last_run(store: Store, name: str) -> HarvestRun:
    with store.session() as s:
        source_id = s.scalar(select(Source.id).where(Source.name == name))
        return s.scalar(select(HarvestRun).where(HarvestRun.source_id == source_id).order_by(HarvestRun.id.desc()))


def test_demo_prepares_serves_ticks_and_stops_cleanly(tmp_path: Path) -> None:
    out = huiju(tmp_path, "demo", "--size", "200", "--no-serve")
    password = re.search(r"curator login: curator / (\S+)", out).group(1)  # type: ignore[union-attr]
    store = Store(Settings(environ={}, INSTANCE_PATH=str(tmp_path)).database_url)
    with store.session() as s:
        runs = {name: status for name, status in s.execute(
            select(Source.name, HarvestRun.status).join(HarvestRun, HarvestRun.source_id == Source.id))}
        counts = {name: n for name, n in s.execute(
            select(Source.name, func.count(RecordRow.id)).join(RecordRow).group_by(Source.name))}
        pending = s.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.review_status == "pending"))
        spans = s.execute(select(RecordRow.work_id, func.count(func.distinct(RecordRow.source_id)))
                          .where(RecordRow.work_id.is_not(None)).group_by(RecordRow.work_id)).all()
        user = s.scalar(select(User).where(User.username == "curator"))
        trusted = set(s.scalars(select(Source.name).join(RecordRow).where(RecordRow.review_status == "pending")))
    assert runs == dict.fromkeys(SOURCES, "succeeded")
    assert set(counts) == SOURCES and all(counts.values())
    assert pending and not trusted & {"national", "municipal"}
    assert max(n for _, n in spans) >= 3
    assert user is not None and user.role == "curator" and check_password_hash(user.password_hash, password)

    port = free_port()
    served = subprocess.Popen([*HUIJU, "demo", "--port", str(port)], cwd=ROOT, env=env(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = served.stdout.readline()  # type: ignore[union-attr]
            assert line, "demo exited early:\n" + "".join(lines)
            lines.append(line)
            if "serving on" in line:
                break
        text = "".join(lines)
        assert f"curator login: curator / {password}" in text  # the same password, printed again
        assert get_when_up(f"http://127.0.0.1:{port}/").status_code == 200
        children = descendants(served.pid)
        assert children, "the platforms run in a child process"

        assert "added" in huiju(tmp_path, "demo", "--tick")
        harvest = huiju(tmp_path, "harvest", "--all")
        assert harvest.count("succeeded") == len(SOURCES), harvest
        for name in ("national", "municipal", "library"):
            run = last_run(store, name)
            assert run.added and run.updated and run.deleted, (name, run.added, run.updated, run.deleted)
        show = huiju(tmp_path, "source", "show", "national")
        assert re.search(r"[1-9]\d* added, [1-9]\d* updated, [1-9]\d* deleted", show), show

        served.send_signal(signal.SIGINT)
        assert served.wait(timeout=20) == 0
        rest = served.stdout.read()  # type: ignore[union-attr]
        assert "stopped" in rest, rest
        time.sleep(0.2)
        assert not [pid for pid in children if alive(pid)], "child processes outlived the demo"
    finally:
        if served.poll() is None:
            served.kill()
            served.wait()
        served.stdout.close()  # type: ignore[union-attr]
