"""/api/search under 16 concurrent HTTP clients on the production server, and its ceiling.

    .venv/bin/python benchmarks/search_http.py [--instance DIR | --size 20000] [--index DIR]
        [--server auto|waitress|gunicorn] [--workers 0] [--threads 8]
        [--clients 16] [--seconds 20] [--max-requests 200000]

1. The instance: --instance takes a prepared one (e.g. from `huiju demo --size N
   --no-serve` or `benchmarks/ingest.py N --keep --dir DIR`); otherwise one is
   built in a temporary folder with `huiju demo --size N --no-serve`. --index
   serves another Tantivy index instead of the instance's own (HUIJU_INDEX_PATH),
   e.g. the 1,000,000 synthetic works of `search_tantivy.py 1000000 --path DIR --keep`
   (with no --instance, an empty store is created for it).
2. `huiju serve --host 127.0.0.1 --port <free> --server S --workers W --threads T`
   runs as a subprocess (the command an operator runs; each option defaults to
   the command's own: the SERVER, SERVER_WORKERS, SERVER_THREADS settings).
3. The ceiling: a tiny WSGI app answering a constant JSON body, served by the
   same server code (repository.server.serve: same server, processes and
   threads) in its own subprocess, so the difference is the application.
4. The same 16 client threads (http.client, one keep-alive connection each)
   hit each server for --seconds (bounded also by --max-requests in total):
   search with free text + grade + subject filters (the API always counts its
   facets: stage, grade, subject, edition, volume, resource_type, source_level,
   sources, honours, has_video) from a fixed list of realistic queries; then
   the constant endpoint. Prints p50/p95/p99 latency, requests/s, the server's
   CPU per request (user + system time of its processes over the load, from
   /proc: the figure other work on a shared machine disturbs least), 5xx and
   other errors for both and the search/ceiling ratios.

The clients run in this process (Python threads) on the same 2 cores as the
server: the figures are a floor on what the server does alone, and the
ceiling run pays the same client cost.

Appends a JSON line to benchmarks/results.jsonl (unless --no-record).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.machine import machine, percentile  # noqa: E402
from benchmarks.serving import HOST, free_port, process_tree, wait_ready  # noqa: E402
from harvester.processes import stop_process  # noqa: E402
from repository.server import SERVERS, choose, workers_for  # noqa: E402
from repository.settings import Settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.jsonl"
HUIJU = [sys.executable, "-c", "from repository.cli import main; main()"]

# (free text, grade, subject): what a teacher types, with the grade and subject a teacher picks.
QUERIES = [
    ("勾股定理", "8", "math"), ("圆的面积", "6", "math"), ("一元二次方程", "9", "math"),
    ("二次函数", "9", "math"), ("落花生", "5", "chinese"), ("三角形的内角和", "8", "math"),
    ("济南的冬天", "7", "chinese"), ("牛顿第一定律", "8", "physics"), ("摩擦力", "8", "physics"),
    ("化学方程式", "9", "chemistry"), ("藤野先生", "8", "chinese"), ("秋天的雨", "3", "chinese"),
    ("春", "7", "chinese"), ("古诗三首 教学设计", "3", "chinese"), ("This is my sister", "7", "english"),
    ("光的反射", "5", "science"), ("中国的地形", "8", "geography"), ("秦统一中国", "7", "history"),
    ("微课 勾股定理", "8", "math"), ("圆的面积 第二课时", "6", "math"),
]

CEILING_APP = '''
import json, sys
from repository.server import serve
BODY = json.dumps({"total": 0, "hits": [], "facets": {}}).encode()
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
print("serving", flush=True)
serve(lambda: app, server=sys.argv[4], host=sys.argv[1], port=int(sys.argv[2]), threads=int(sys.argv[3]),
      workers=int(sys.argv[5]))
'''


def stop(proc: subprocess.Popen) -> None:
    stop_process(proc, grace=15)


def load(port: int, paths: list[str], clients: int, seconds: float, max_requests: int) -> dict:
    """clients threads, one keep-alive connection each, round-robin over paths, for seconds (or max_requests)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    counts = {"5xx": 0, "4xx": 0, "errors": 0}
    lock = threading.Lock()
    budget = [max_requests]
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine = latencies[k]
        i = k * 7
        start_gate.wait()
        while time.monotonic() < deadline[0]:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            path = paths[i % len(paths)]
            i += 1
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                with lock:
                    counts["errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                continue
            mine.append((time.perf_counter() - t) * 1000)
            if status >= 500:
                with lock:
                    counts["5xx"] += 1
            elif status >= 400:
                with lock:
                    counts["4xx"] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + seconds
    began = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join(timeout=seconds + 120)
    took = time.perf_counter() - began
    flat = [x for part in latencies for x in part]
    return {"requests": len(flat), "seconds": round(took, 2), "rps": len(flat) / took,
            "p50_ms": percentile(flat, 50), "p95_ms": percentile(flat, 95), "p99_ms": percentile(flat, 99),
            "max_ms": max(flat) if flat else float("nan"), **counts}


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a server and its worker processes (from /proc/<pid>/stat; 0 for gone ones)."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measured_load(server: subprocess.Popen, port: int, paths: list[str], args: argparse.Namespace) -> dict:
    """load() plus the server's CPU per request: what other work on a shared machine disturbs least."""
    before = tree_cpu_seconds(server.pid)
    result = load(port, paths, args.clients, args.seconds, args.max_requests)
    cpu = tree_cpu_seconds(server.pid) - before
    result["server_cpu_ms"] = cpu * 1000 / result["requests"] if result["requests"] else float("nan")
    return result


def show(label: str, r: dict) -> None:
    print(f"{label}: {r['requests']:,} requests in {r['seconds']:.1f} s = {r['rps']:,.0f} req/s; "
          f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms; "
          f"server CPU {r['server_cpu_ms']:.2f} ms/request; "
          f"5xx {r['5xx']}, 4xx {r['4xx']}, connection errors {r['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", type=Path, help="a prepared instance folder (default: build one)")
    parser.add_argument("--size", type=int, default=20_000, help="records for the demo built without --instance")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0, help="load time per server (bounded)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap on requests per server")
    parser.add_argument("--no-record", action="store_true", help="do not append to results.jsonl (trial runs)")
    parser.add_argument("--index", type=Path, help="serve this Tantivy index (HUIJU_INDEX_PATH) instead")
    parser.add_argument("--server", choices=SERVERS, help="`huiju serve --server` (default: the SERVER setting)")
    parser.add_argument("--workers", type=int, help="gunicorn processes, 0 = one per core (default: SERVER_WORKERS)")
    parser.add_argument("--threads", type=int, help="threads per server process (default: SERVER_THREADS)")
    args = parser.parse_args()
    settings = Settings()
    server = choose(args.server or settings["SERVER"])
    threads = args.threads if args.threads is not None else settings["SERVER_THREADS"]
    workers = 1 if server == "waitress" else workers_for(
        args.workers if args.workers is not None else settings["SERVER_WORKERS"])
    args.seconds = min(args.seconds, 600.0)
    print(f"machine: {machine()}")
    built = None
    if args.instance:
        instance = args.instance.resolve()
    else:
        built = Path(tempfile.mkdtemp(prefix="huiju-search-http-"))
        instance = built / "instance"
        instance.mkdir()
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT)}
    if args.index:
        env["HUIJU_INDEX_PATH"] = str(args.index.resolve())
    servers: list[subprocess.Popen] = []
    try:
        if built and not args.index:
            print(f"building the instance: `huiju demo --size {args.size} --no-serve` in {instance}")
            t = time.perf_counter()
            subprocess.run([*HUIJU, "demo", "--size", str(args.size), "--no-serve"], cwd=ROOT, env=env,
                           check=True, stdout=subprocess.DEVNULL, timeout=7200)
            print(f"  built in {time.perf_counter() - t:.0f} s")
        port, ceiling_port = free_port(), free_port()
        log = (Path(tempfile.gettempdir()) / f"huiju-search-http-{port}.log").open("wb")
        search_server = subprocess.Popen(
            [*HUIJU, "serve", "--host", HOST, "--port", str(port), "--server", server, "--workers", str(workers),
             "--threads", str(threads)],
            cwd=ROOT, env=env, stdout=log, stderr=log)
        servers.append(search_server)
        ceiling_server = subprocess.Popen(
            [sys.executable, "-c", CEILING_APP, HOST, str(ceiling_port), str(threads), server, str(workers)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        servers.append(ceiling_server)
        wait_ready(port, "/api/search?q=", search_server)
        wait_ready(ceiling_port, "/", ceiling_server)

        paths = ["/api/search?" + urlencode({"q": q, "grade": g, "subject": s}) for q, g, s in QUERIES]
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.request("GET", "/api/search?q=")
        whole = json.loads(conn.getresponse().read())
        totals = []
        for path in paths:  # check and warm: every query answers 200 (and how many it finds)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status} {body[:300]!r}")
            totals.append(json.loads(body)["total"])
        conn.close()
        print(f"instance {instance}: {whole['total']:,} works searchable; {len(paths)} queries "
              f"(free text + grade + subject, {len(whole.get('facets', {}))} facets counted), "
              f"hits per query min {min(totals):,} median {sorted(totals)[len(totals) // 2]:,} max {max(totals):,}, "
              f"zero-hit {sum(t == 0 for t in totals)}")
        shape = f"{threads} threads" if server == "waitress" else f"{workers} processes × {threads} threads"
        print(f"{args.clients} keep-alive clients, {args.seconds:.0f} s per server, {server} ({shape})")
        search = measured_load(search_server, port, paths, args)
        show("search   /api/search    ", search)
        ceiling = measured_load(ceiling_server, ceiling_port, ["/"], args)
        show("ceiling  constant JSON  ", ceiling)
        ratio_rps = search["rps"] / ceiling["rps"]
        ratio_p50 = search["p50_ms"] / ceiling["p50_ms"]
        print(f"search/ceiling: throughput {ratio_rps:.3f} ({1 / ratio_rps:,.1f}× fewer req/s), "
              f"p50 latency {ratio_p50:,.1f}×, p95 {search['p95_ms'] / ceiling['p95_ms']:,.1f}×, "
              f"server CPU per request {search['server_cpu_ms'] / ceiling['server_cpu_ms']:,.1f}×")
        if args.no_record:
            return
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(json.dumps({
                "benchmark": "search_http", "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(), "works": whole["total"], "clients": args.clients, "server": server,
                "workers": workers, "threads": threads, "index": str(args.index) if args.index else None,
                "seconds": args.seconds, "search": search, "ceiling": ceiling,
                "ratio_rps": round(ratio_rps, 4), "ratio_p50": round(ratio_p50, 2)}, ensure_ascii=False) + "\n")
        print(f"appended to {RESULTS}")
    finally:
        for proc in servers:
            stop(proc)
        if built:
            shutil.rmtree(built, ignore_errors=True)


if __name__ == "__main__":
    main()
