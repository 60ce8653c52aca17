"""Load generation for tests/reliability/test_load.py: keep-alive HTTP clients in threads, RSS sampling.

benchmarks/search_http.py drives one fixed list of GETs; a load test of the
site also needs OAI-PMH clients that follow resumption tokens page by page
(each client's next request depends on its last answer), per-kind figures
and the answers kept for the test to check, so the client loop is here. The
percentile is the benchmarks' own (benchmarks/machine.py), and so are the
port, readiness and memory readings (benchmarks/serving.py).
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from benchmarks.machine import percentile
from benchmarks.serving import HOST, tree_rss_bytes

TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")
OAI_ERROR = re.compile(rb'<error code="([A-Za-z]+)"')

# (free text, grade, subject, resource type or ""): what teachers type and pick (benchmarks/search_http.py's mix)
QUERIES = [
    ("勾股定理", "8", "math", ""), ("圆的面积", "6", "math", "courseware"), ("一元二次方程", "9", "math", ""),
    ("二次函数", "9", "math", "lesson-plan"), ("落花生", "5", "chinese", ""), ("三角形的内角和", "8", "math", ""),
    ("济南的冬天", "7", "chinese", ""), ("牛顿第一定律", "8", "physics", ""),
    ("摩擦力", "8", "physics", "micro-lecture"),
    ("化学方程式", "9", "chemistry", ""), ("藤野先生", "8", "chinese", ""), ("秋天的雨", "3", "chinese", ""),
    ("春", "7", "chinese", ""), ("古诗三首 教学设计", "3", "chinese", ""), ("光的反射", "5", "science", ""),
    ("中国的地形", "8", "geography", ""), ("秦统一中国", "7", "history", ""), ("微课 勾股定理", "8", "math", ""),
    ("", "7", "", ""), ("", "", "math", "courseware"),
]


# -- memory ---------------------------------------------------------------------------------------


class MemorySampler(threading.Thread):
    """RSS of the server every `every` seconds: (seconds since start, MiB)."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        self.started_at = time.monotonic()
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic() - self.started_at, tree_rss_bytes(self.pid) / 2**20))
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        if self.ident is not None:  # started
            self.join(timeout=5)

    def peak(self, start: float, end: float) -> float:
        inside = [mib for at, mib in self.samples if start <= at < end]
        return max(inside) if inside else float("nan")


# -- clients --------------------------------------------------------------------------------------


def search_path(rng: random.Random, html: bool) -> str:
    q, grade, subject, kind = rng.choice(QUERIES)
    params = {k: v for k, v in (("q", q), ("grade", grade), ("subject", subject), ("resource_type", kind)) if v}
    if rng.random() < 0.3:
        params["page"] = str(rng.randint(2, 4))
    return ("/search?" if html else "/api/search?") + urlencode(params)


@dataclass
class Outcome:
    kind: str
    status: int
    ms: float
    path: str


@dataclass
class LoadReport:
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    connection_errors: list[str] = field(default_factory=list)
    oai_errors: Counter[str] = field(default_factory=Counter)
    oai_lists_completed: int = 0

    @property
    def requests(self) -> int:
        return len(self.outcomes)

    def server_errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status >= 500]

    def figures(self, kind: str | None = None) -> dict[str, float]:
        chosen = [o.ms for o in self.outcomes if kind is None or o.kind == kind]
        return {"requests": len(chosen), "rps": len(chosen) / self.seconds, "p50_ms": percentile(chosen, 50),
                "p95_ms": percentile(chosen, 95), "p99_ms": percentile(chosen, 99),
                "max_ms": max(chosen) if chosen else float("nan")}


class Client:
    """One keep-alive connection. A teacher alternates /api/search and /search with filters; a harvester
    asks OAI-PMH ListRecords and follows each list's resumption tokens to the end, then starts another."""

    TEACHER = ("api_search", "html_search")
    HARVESTER = ("oai",)

    def __init__(self, port: int, seed: int, kinds: tuple[str, ...]) -> None:
        self.port, self.rng, self.turn, self.kinds = port, random.Random(seed), seed, kinds
        self.token: str | None = None
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def next_request(self) -> tuple[str, str]:
        kind = self.kinds[self.turn % len(self.kinds)]
        self.turn += 1
        if kind == "oai":
            if self.token:
                return kind, "/oai?" + urlencode({"verb": "ListRecords", "resumptionToken": self.token})
            prefix = self.rng.choice(("oai_dc", "lom"))
            args = {"verb": "ListRecords", "metadataPrefix": prefix}
            if self.rng.random() < 0.5:
                args["set"] = self.rng.choice(("subject:math", "subject:chinese", "grade:8", "grade:7"))
            return kind, "/oai?" + urlencode(args)
        return kind, search_path(self.rng, html=kind == "html_search")

    def send(self, report: LoadReport, lock: threading.Lock) -> None:
        kind, path = self.next_request()
        started = time.perf_counter()
        try:
            self.conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            with lock:
                report.connection_errors.append(f"{path}: {type(exc).__name__}: {exc}")
            return
        ms = (time.perf_counter() - started) * 1000
        with lock:
            report.outcomes.append(Outcome(kind, response.status, ms, path))
            if kind == "oai" and response.status == 200:
                error = OAI_ERROR.search(body)
                if error and error.group(1) != b"noRecordsMatch":
                    report.oai_errors[error.group(1).decode()] += 1
        if kind == "oai" and response.status == 200:
            found = TOKEN.search(body)
            self.token = found.group(1).decode() if found else None
            if not found:
                with lock:
                    report.oai_lists_completed += 1

    def close(self) -> None:
        self.conn.close()


def run_load(port: int, *, teachers: int, harvesters: int, seconds: float, max_requests: int,
             on_tick: Callable[[float], None] | None = None) -> LoadReport:
    """One thread per client for `seconds`, at most `max_requests` in all; stops by itself either way."""
    clients = teachers + harvesters
    report = LoadReport(seconds=seconds)
    lock = threading.Lock()
    budget = [max_requests]
    gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def work(k: int) -> None:
        client = Client(port, seed=k, kinds=Client.HARVESTER if k < harvesters else Client.TEACHER)
        gate.wait()
        try:
            while time.monotonic() < deadline[0]:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                client.send(report, lock)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    deadline[0] = began + seconds
    gate.wait()
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline[0] + 90:
        if on_tick:
            on_tick(time.monotonic() - began)
        time.sleep(0.5)
        for thread in threads:
            thread.join(timeout=0)
    report.seconds = time.monotonic() - began
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        report.connection_errors.append(f"{stuck} clients still waiting 90 s after the end")
    return report
