"""What the fault tests share: a synthetic OAI-PMH endpoint, the `huiju` CLI as a
subprocess with a private instance folder, and the store snapshot two runs are
compared by.

The endpoint is a real HTTP server on 127.0.0.1 (tests/harvester/servers.py)
serving generated pages chained by resumption tokens, so a test can choose how
many pages there are, how slowly each is served and which records are deleted.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from repository.store import Store
from tests.harvester.servers import OaiApp, Reply, Request, Server

ROOT = Path(__file__).resolve().parents[2]

FAST = {
    "HARVEST_BACKOFF": "0.05",
    "HARVEST_RETRIES": "2",
    "HARVEST_TIMEOUT": "1",
    "HARVEST_RETRY_AFTER_MAX": "0.2",
    "HARVEST_CONTACT": "mailto:reliability-tests@example.org",
    "LOG_LEVEL": "WARNING",
}
"""Short timeouts and backoff, so a fault test spends seconds, not minutes, on retries."""

IDENTIFY = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-05-01T00:00:00Z</responseDate>
<request verb="Identify">http://127.0.0.1/oai</request>
<Identify><repositoryName>Fault test platform</repositoryName><baseURL>http://127.0.0.1/oai</baseURL>
<protocolVersion>2.0</protocolVersion><adminEmail>admin@example.org</adminEmail>
<earliestDatestamp>2020-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent</deletedRecord>
<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>"""

_RECORD = """<record><header><identifier>oai:faults:{n}</identifier><datestamp>2024-04-0{day}T08:00:00Z</datestamp>
<setSpec>math</setSpec></header><metadata>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>{tag}勾股定理（第{hour}课时）第{n}号</dc:title><dc:subject>数学</dc:subject><dc:subject>八年级</dc:subject>
<dc:description>人教版八年级数学下册第十七章{n}：勾股定理的证明与应用。</dc:description>
<dc:type>微课</dc:type><dc:identifier>http://127.0.0.1/lesson/{n}</dc:identifier><dc:language>zh</dc:language>
</oai_dc:dc></metadata></record>"""
_DELETED = """<record><header status="deleted"><identifier>oai:faults:{n}</identifier>
<datestamp>2024-04-09T08:00:00Z</datestamp></header></record>"""


def record_xml(n: int, *, deleted: bool = False, tag: str = "") -> str:
    if deleted:
        return _DELETED.format(n=n)
    return _RECORD.format(n=n, day=n % 9 + 1, hour=n % 3 + 1, tag=tag)


def oai_pages(count: int, per_page: int, *, deleted_every: int = 0, tag: str = "",
              prefix: str = "p", first: int = 1) -> dict[str | None, bytes]:
    """``count`` records over pages of ``per_page``: {None: first page, token: next page…}.

    Every ``deleted_every``-th record is served as deleted (0: none) and every
    fifth record's title starts with ``tag``, so a second version of the list
    deletes and edits records that a first harvest stored.
    """
    pages: dict[str | None, bytes] = {}
    numbers = list(range(first, first + count))
    chunks = [numbers[i:i + per_page] for i in range(0, count, per_page)]
    for index, chunk in enumerate(chunks):
        records = "".join(record_xml(n, deleted=bool(deleted_every) and n % deleted_every == 0,
                                     tag=tag if n % 5 == 0 else "") for n in chunk)
        last = index == len(chunks) - 1
        token = "" if last else f"{prefix}{index + 1}"
        cursor = index * per_page
        body = f'{records}<resumptionToken completeListSize="{count}" cursor="{cursor}">{token}</resumptionToken>'
        page = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                "<responseDate>2024-05-01T00:00:00Z</responseDate>"
                '<request verb="ListRecords">http://127.0.0.1/oai</request>'
                f"<ListRecords>{body}</ListRecords></OAI-PMH>")
        pages[None if index == 0 else f"{prefix}{index}"] = page.encode("utf-8")
    return pages


def oai_app(count: int = 60, per_page: int = 5, *, delay: float = 0.0, deleted_every: int = 0,
            tag: str = "", first: int = 1) -> OaiApp:
    """An OAI-PMH endpoint over generated pages; each ListRecords answer waits ``delay`` seconds."""
    app = OaiApp(IDENTIFY, oai_pages(count, per_page, deleted_every=deleted_every, tag=tag, first=first))
    if delay:
        def slow(request: Request) -> None:
            if request.params.get("verb") == "ListRecords":
                time.sleep(delay)

        app.before = slow
    return app


class Faulty:
    """Wraps an app: ``plan(request, n)`` may return a Reply to serve instead (n counts requests from 1)."""

    def __init__(self, app: Callable[[Request], Reply], plan: Callable[[Request, int], Reply | None]) -> None:
        self.app, self.plan, self.count = app, plan, 0

    def __call__(self, request: Request) -> Reply:
        self.count += 1
        return self.plan(request, self.count) or self.app(request)


@contextmanager
def serving(app: Callable[[Request], Reply]) -> Iterator[Server]:
    server = Server(app)
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------- the CLI


def cli_env(instance: Path, **settings: str) -> dict[str, str]:
    """The environment of a `huiju` subprocess: no inherited HUIJU_* values, fast harvest settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIJU_")}
    env.update({f"HUIJU_{k}": v for k, v in {**FAST, **settings}.items()})
    env["HUIJU_INSTANCE_PATH"] = str(instance)
    return env


def start_huiju(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "repository", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def huiju(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `huiju ARGS` to the end (killed after ``timeout``)."""
    proc = start_huiju(env, *args)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def assert_clear_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Failed with a one-line `Error: …` naming the cause, never a Python traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    text = result.stdout + result.stderr
    for needle in needles:
        assert needle in text, text


def add_oai_source(store: Store, name: str, url: str, **options: Any) -> None:
    store.add_source(name, "oai", url, level="municipal", options={"prefix": "oai_dc", **options})


# ---------------------------------------------------------------- comparing stores


def snapshot(store: Store, source: str) -> dict[str, tuple[Any, ...]]:
    """source_record_id -> (title, deleted, content hash, raw payload hash): what must match a clean run."""
    out: dict[str, tuple[Any, ...]] = {}
    for record in store.iter_records(source=source, include_deleted=True):
        stored = store.get_stored(record.id)
        raw = store.get_raw(record.id)
        out[record.source_record_id] = (record.title, record.deleted, stored.content_hash if stored else None,
                                        raw.sha256 if raw else None)
    return out


def digest(snap: dict[str, tuple[Any, ...]]) -> str:
    return hashlib.sha256(repr(sorted(snap.items())).encode()).hexdigest()[:16]


def integrity(path: Path) -> str:
    """SQLite's own verdict on a database file (``ok`` when sound), read with the plain sqlite3 module."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


# ---------------------------------------------------------------- a private PostgreSQL cluster


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on a free loopback port.

    Never the shared server on 5432 (other tests use it at the same time): this
    one can be stopped and started at will. Run as the ``postgres`` user when
    the tests run as root (PostgreSQL refuses to run as root).
    """

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        import shutil
        import socket

        self.bin, self.folder = bin_dir, folder
        self.data, self.log = folder / "data", folder / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root without runuser: cannot start PostgreSQL as postgres")
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            self.as_user = [runuser, "-u", "postgres", "--"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/huiju"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True,
                       timeout=timeout, cwd=self.folder)

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        self.start()
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE huiju")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        import shutil

        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found and (found[-1].parent / "initdb").exists() else None


# ---------------------------------------------------------------- a TCP relay in front of a server


class Relay:
    """A plain TCP relay on 127.0.0.1 in front of a real server, to learn *when* to break it.

    Bytes pass through untouched. ``on_request(needle, action, nth)`` runs
    ``action`` once, the ``nth`` time a client sends bytes containing ``needle``
    (e.g. the second bulk request of a reindex), before they are forwarded; ``upstream``
    can be re-pointed to a replacement server, so clients keep one URL.
    """

    def __init__(self, upstream: str) -> None:
        import socket

        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._triggers: list[list[Any]] = []  # [needle, action, occurrences still to see]
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[Any] = []
        self._thread = threading.Thread(target=self._accept, name="relay", daemon=True)
        self._thread.start()

    def on_request(self, needle: bytes, action: Callable[[], None], nth: int = 1) -> None:
        with self._lock:
            self._triggers.append([needle, action, nth])

    def _accept(self) -> None:
        import socket

        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            host, port = self.upstream.rsplit("//", 1)[-1].rstrip("/").split(":")
            try:
                server = socket.create_connection((host, int(port)), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: Any, target: Any, from_client: bool) -> None:
        import socket

        try:
            while data := source.recv(65536):
                if from_client:
                    self._fire(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def _fire(self, data: bytes) -> None:
        due = []
        with self._lock:
            for trigger in self._triggers:
                if trigger[0] in data:
                    trigger[2] -= 1
                    if trigger[2] == 0:
                        due.append(trigger[1])
            self._triggers = [t for t in self._triggers if t[2] > 0]
        for action in due:
            action()

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        self._thread.join(5)
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass
