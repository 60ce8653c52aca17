"""End-to-end ingest through the real commands: `huiju demo --size N --no-serve`.

    .venv/bin/python benchmarks/ingest.py [N] [--dir DIR] [--keep] [--timeout 3600] [--no-raw] [--link-checks]

N defaults to 20,000; the target size of the issue ("The main job out of the box")
is 1,000,000 (`benchmarks/ingest.py 1000000`, hours on 2 cores: run it on purpose).

1. Runs `huiju demo --size N --no-serve` as a subprocess on a fresh instance
   folder (HUIJU_INSTANCE_PATH, SQLite + Tantivy): six simulated platforms on
   127.0.0.1, harvest of the 7 sources over loopback HTTP (fetch + parse + map
   + store), dedupe + publication refresh, reindex. Nothing is called in
   process: the figures are those of the command an operator runs.
2. The time split by stage is parsed from the lines the demo prints: each
   source's "(… s)" (its own harvest time; the demo crawls beside the feeds, so
   the harvest stage is the wall time from "harvesting …" to the last source's
   line), the "works: … (… s)" line (dedupe + refresh);
   "index" is the wall time between the arrival of the works line and of the
   "search index: … works indexed" line (reindex plus the review-queue counts),
   less the demo's "checks: … in … s" line (the checks dedupe made due, shown as
   their own stage; from 50,000 records the demo runs them in a process beside
   the publication refresh and the reindex, says so on that line, and they are
   shown under the stages, not subtracted). The quality checks each harvest runs on what it stored are
   inside the source's time, and shown beside it. "setup" is the rest
   (interpreter start, migrations, starting the platforms). The ingest ends with
   the search-index line: records/s is over that time. With --link-checks the
   demo then checks every record's link ("link checks: … in … s": an HTTP
   round trip per record, a scheduled job in production), reported on its own
   line; by default it runs with --no-link-checks.
3. Peak RSS of the process tree (the demo, its platforms child and anything
   they start), sampled every 0.2 s from /proc (psutil is not a dependency);
   the sum over the tree at one instant, each process's own peak, and the peak
   during each stage (named from the demo's progress and summary lines).
4. Raw cost: the platforms are started again on the same instance and the
   payloads of the three bulk feeds are fetched once (national JSON parts,
   municipal OAI-PMH ListRecords lom pages, the library's MARCXML export);
   json.loads / lxml.etree.fromstring over those bytes alone is timed (best
   of 3) and set against the harvest time of the same sources in step 1.

Appends a JSON line to benchmarks/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lxml import etree  # noqa: E402

from benchmarks.machine import machine  # noqa: E402
from benchmarks.serving import process_tree, rss_bytes  # noqa: E402

HUIJU = [sys.executable, "-c", "from repository.cli import main; main()"]
SOURCE_LINE = re.compile(
    r"^  (?P<name>\S+)\s+(?P<status>succeeded|failed|partial\S*|\w+): (?P<added>\d+) added, (?P<updated>\d+) updated, "
    r"(?P<deleted>\d+) deleted, (?P<unchanged>\d+) unchanged, (?P<quarantined>\d+) quarantined \((?P<s>[\d.]+) s\)")
WORKS_LINE = re.compile(r"^works: (?P<summary>.*) \((?P<s>[\d.]+) s\)$")
WORKS_STEPS_LINE = re.compile(r"^    (?P<steps>grouping [\d.]+ s, .*)$")  # the works line's time by step
INDEX_LINE = re.compile(r"^search index: (?P<n>\d+) works indexed")
DEMO_CHECKS_LINE = re.compile(r"^checks: \d+ of \d+ records checked in (?P<s>[\d.]+) s")  # after dedupe
LINK_CHECKS_LINE = re.compile(r"^link checks: \d+ of \d+ records checked in (?P<s>[\d.]+) s")  # after the index
# the quality checks a harvest runs on what it stored (repository/checks) log one line per source
PROGRESS_LINE = re.compile(r"^    (?P<name>\S+): [\d,]+ records so far")
CHECKS_LINE = re.compile(r"repository\.checks\.runner: (?P<name>\S+): checks: .* in (?P<s>[\d.]+) s")
RESULTS = Path(__file__).resolve().parent / "results.jsonl"


class TreeRSS(threading.Thread):
    """Peak RSS of root and its descendants: the sum at one instant, and per process (by command)."""

    def __init__(self, root: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.peak_sum = 0
        self.peak_each: dict[str, int] = {}
        self.stage = "setup"  # what the demo is doing (set by the line reader): peaks are kept per stage too
        self.peak_stage: dict[str, int] = {}
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (kind, CPU seconds so far): user + system
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total = 0
            for pid in process_tree(self.root):
                rss = rss_bytes(pid)
                total += rss
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    cmd = str(pid)
                key = ("platforms (harvester.demo)" if "harvester.demo" in cmd
                       else "crawls (Scrapy)" if "harvester.spiders" in cmd
                       else "workers (feeds, views, documents)" if "multiprocessing" in cmd else "huiju demo")
                self.peak_each[key] = max(self.peak_each.get(key, 0), rss)
                self.cpu[pid] = (key, max(cpu_seconds(pid), self.cpu.get(pid, ("", 0.0))[1]))
            self.peak_sum = max(self.peak_sum, total)
            self.peak_stage[self.stage] = max(self.peak_stage.get(self.stage, 0), total)
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds by kind of process (last sample of each; a process's final 0.2 s may be missed)."""
        total: dict[str, float] = {}
        for kind, seconds in self.cpu.values():
            total[kind] = total.get(kind, 0.0) + seconds
        return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process from /proc/<pid>/stat (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the run --------------------------------------------------------------------------------------

def run_demo(size: int, instance: Path, timeout: float, link_checks: bool) -> dict:
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT)}
    env.pop("HUIJU_DATABASE_URL", None)
    env.pop("HUIJU_INDEX_PATH", None)
    started = time.monotonic()
    links = ["--link-checks" if link_checks else "--no-link-checks"]
    proc = subprocess.Popen([*HUIJU, "demo", "--size", str(size), "--no-serve", *links], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    rss = TreeRSS(proc.pid)
    rss.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    sources: dict[str, dict] = {}
    checks: dict[str, float] = {}
    works_s = demo_checks_s = link_checks_s = 0.0
    checks_beside = False  # from 50,000 records the demo runs those checks beside publication and the index
    harvest_at = harvested_at = 0.0  # the demo runs its crawls beside the feeds: the stage is timed as wall
    works_at = index_at = None
    ingest_cpu: dict[str, float] = {}
    works_summary, works_steps, indexed = "", "", 0
    assert proc.stdout is not None
    for line in proc.stdout:
        now = time.monotonic() - started
        line = line.rstrip("\n")
        print(f"  [{now:7.1f} s] {line}", flush=True)
        if line.startswith("harvesting "):
            harvest_at = now
        if m := PROGRESS_LINE.match(line):
            rss.stage = f"harvest {m['name']}"
        if m := CHECKS_LINE.search(line):
            checks[m["name"]] = float(m["s"])
        elif m := SOURCE_LINE.match(line):
            sources[m["name"]] = {"status": m["status"], "records": int(m["added"]) + int(m["updated"])
                                  + int(m["unchanged"]) + int(m["quarantined"]), "s": float(m["s"]),
                                  "checks_s": checks.get(m["name"], 0.0)}
            rss.stage = f"after {m['name']}"  # the next source's start, or dedupe after the last
            harvested_at = now
        elif m := WORKS_LINE.match(line):
            works_s, works_at, works_summary = float(m["s"]), now, m["summary"]
            rss.stage = "after dedupe (checks, index)"
        elif m := WORKS_STEPS_LINE.match(line):
            works_steps = m["steps"]
        elif m := DEMO_CHECKS_LINE.match(line):
            demo_checks_s, checks_beside = float(m["s"]), "(beside publication and the index)" in line
            rss.stage = "index + review counts"
        elif m := INDEX_LINE.match(line):
            index_at, indexed = now, int(m["n"])
            rss.stage = "link checks"
            ingest_cpu = rss.cpu_by_kind()
        elif m := LINK_CHECKS_LINE.match(line):
            link_checks_s = float(m["s"])
            rss.stage = "after link checks"
    code = proc.wait()
    killer.cancel()
    total = time.monotonic() - started
    rss.stop()
    if code != 0:
        peaks = ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in rss.peak_stage.items())
        raise SystemExit(f"huiju demo exited with {code} after {total:.1f} s (peak RSS by stage so far: {peaks})")
    index_s = (index_at - works_at) if works_at is not None and index_at is not None else float("nan")
    if not checks_beside:
        index_s -= demo_checks_s
    return {"sources": sources, "works_s": works_s, "works_summary": works_summary, "works_steps": works_steps,
            "index_s": index_s,
            "indexed": indexed, "total_s": total, "ingest_s": index_at, "rss_sum": rss.peak_sum,
            "rss_each": rss.peak_each, "rss_stage": rss.peak_stage, "demo_checks_s": demo_checks_s,
            "demo_checks_beside": checks_beside,
            "link_checks_s": link_checks_s, "harvest_wall_s": harvested_at - harvest_at, "ingest_cpu": ingest_cpu}


def fetch_payloads(instance: Path) -> dict[str, list[bytes]]:
    import requests

    from harvester.demo.sites import NATIONAL_ROOT
    from repository.demo import DemoPlatforms
    from repository.settings import Settings

    settings = Settings(environ={"HUIJU_INSTANCE_PATH": str(instance)})
    payloads: dict[str, list[bytes]] = {"national": [], "municipal": [], "library": []}
    with DemoPlatforms(settings) as platforms, requests.Session() as http:
        bases = platforms.bases
        version = http.get(f"{bases['national']}{NATIONAL_ROOT}/data_version.json", timeout=60).json()
        for url in version["urls"]:
            payloads["national"].append(http.get(url, timeout=60).content)
        params = {"verb": "ListRecords", "metadataPrefix": "lom"}
        for _ in range(100_000):  # bounded: far more pages than 1,000,000 records need
            page = http.get(f"{bases['municipal']}/oai", params=params, timeout=120).content
            payloads["municipal"].append(page)
            token = etree.fromstring(page).findtext(".//{http://www.openarchives.org/OAI/2.0/}resumptionToken")
            if not token:
                break
            params = {"verb": "ListRecords", "resumptionToken": token}
        payloads["library"].append(http.get(f"{bases['library']}/export/catalogue.xml", timeout=600).content)
    return payloads


def parse_time(kind: str, pages: list[bytes]) -> tuple[float, int]:
    best, items = float("inf"), 0
    for _ in range(3):
        t = time.perf_counter()
        if kind == "national":
            items = sum(len(json.loads(p)) for p in pages)
        elif kind == "municipal":
            items = sum(len(etree.fromstring(p).findall(".//{http://www.openarchives.org/OAI/2.0/}record"))
                        for p in pages)
        else:
            items = sum(len(etree.fromstring(p)) for p in pages)
        best = min(best, time.perf_counter() - t)
    return best, items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", nargs="?", type=int, default=20_000, help="records across the platforms "
                        "(default 20,000; target 1,000,000)")
    parser.add_argument("--dir", type=Path, help="instance folder (must not exist; default a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder (e.g. for search_http.py)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="kill the demo after this many seconds")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw-parse comparison")
    parser.add_argument("--link-checks", action="store_true", help="let the demo check every record's link "
                        "after the ingest (timed on its own line; off by default: 1,000,000 HTTP requests)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.dir and args.dir.exists():
        raise SystemExit(f"{args.dir} exists: ingest.py measures a fresh instance")
    instance = args.dir or Path(tempfile.mkdtemp(prefix="huiju-ingest-")) / "instance"
    print(f"`huiju demo --size {args.size} --no-serve` on a fresh instance {instance}")
    try:
        run = run_demo(args.size, instance, args.timeout, args.link_checks)
        sources = run["sources"]
        records = sum(s["records"] for s in sources.values())
        harvest_s = run["harvest_wall_s"]  # sources overlap (crawls run beside the feeds): their sum is more
        ingest_s = run["ingest_s"]
        after_s = 0.0 if run["demo_checks_beside"] else run["demo_checks_s"]  # its own stage when not beside
        setup_s = ingest_s - harvest_s - run["works_s"] - after_s - run["index_s"]
        print(f"\ningest: {records:,} records harvested from {len(sources)} sources → {run['indexed']:,} works "
              f"indexed in {ingest_s:.1f} s: {records / ingest_s:,.0f} records/s overall")
        cpu = run["ingest_cpu"]
        print(f"CPU time to the index line: {sum(cpu.values()):,.1f} s of {2 * ingest_s:,.1f} core-seconds "
              f"({os.cpu_count()} cores): " + ", ".join(f"{k} {v:,.1f} s" for k, v in sorted(cpu.items()))
              + f"; {1e6 * sum(cpu.values()) / max(records, 1):,.0f} µs of CPU per record")
        print("time by stage (parsed from the demo's own lines; index = between its works and index lines):")
        for name, s in sources.items():
            print(f"  harvest {name:17} {s['records']:>8,} records {s['s']:7.1f} s  "
                  f"{s['records'] / max(s['s'], 1e-9):>8,.0f}/s  [{s['status']}]"
                  + (f"  (of which quality checks {s['checks_s']:.1f} s)" if s["checks_s"] else ""))
        checks_s = sum(s["checks_s"] for s in sources.values())
        print(f"  (the sources' own times add up to {sum(s['s'] for s in sources.values()):.1f} s: "
              "the crawls run beside the feeds)")
        stages = {"setup (start, migrate, platforms)": setup_s, "harvest (7 sources, wall)": harvest_s,
                  "dedupe + refresh": run["works_s"], "checks dedupe made due": after_s,
                  "index (+ review counts)": run["index_s"]}
        for label, s in stages.items():
            print(f"  {label:34} {s:7.1f} s  {100 * s / ingest_s:5.1f} %")
            if label.startswith("dedupe") and run["works_steps"]:
                print(f"    {run['works_steps']}")
            if label.startswith("checks") and run["demo_checks_beside"]:
                print(f"    in a process beside publication and the index: {run['demo_checks_s']:.1f} s")
            if label.startswith("harvest") and checks_s:
                # each source's checks are inside its own time; with two feeds at a time they overlap, so
                # their sum is CPU spent on checks, not a slice of the harvest's wall time
                print(f"    {'quality checks (sum over sources)':32} {checks_s:7.1f} s  "
                      f"{100 * checks_s / ingest_s:5.1f} % (the demo harvests two feeds at once: these overlap)")
        if args.link_checks:
            print(f"after the ingest: link checks of every record {run['link_checks_s']:.1f} s "
                  f"(the demo's whole run {run['total_s']:.1f} s)")
        print(f"  works: {run['works_summary']}")
        print(f"peak RSS of the process tree: {run['rss_sum'] / 2**20:,.0f} MiB (sum at one instant); "
              + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in run["rss_each"].items()))
        print("  peak by stage: " + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in run["rss_stage"].items()))
        raw: dict[str, dict] = {}
        if not args.no_raw:
            print("raw cost: fetching the bulk feeds once more and parsing them alone")
            payloads = fetch_payloads(instance)
            for kind, pages in payloads.items():
                parse_s, items = parse_time(kind, pages)
                # the feed's own harvest time: a name of its own, so the run's ingest_s stays whole
                feed_s = sources.get(kind, {}).get("s", float("nan"))
                size = sum(map(len, pages))
                raw[kind] = {"bytes": size, "items": items, "parse_s": parse_s, "ingest_s": feed_s,
                             "ratio": feed_s / parse_s}
                how = "json.loads" if kind == "national" else "lxml.etree.fromstring"
                print(f"  {kind:10} {size / 1e6:7.1f} MB, {len(pages)} payload(s), {items:,} items: {how} "
                      f"{parse_s:.2f} s ({items / parse_s:,.0f}/s) vs ingest {feed_s:.1f} s → "
                      f"full ingest = {feed_s / parse_s:,.0f}× the raw parse")
            p = sum(r["parse_s"] for r in raw.values())
            i = sum(r["ingest_s"] for r in raw.values())
            print(f"  the three feeds together: raw parse {p:.2f} s, full ingest {i:.1f} s → {i / p:,.0f}×")
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(json.dumps({
                "benchmark": "ingest", "at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                "size": args.size, "records": records, "works_indexed": run["indexed"],
                "ingest_s": round(ingest_s, 2), "records_per_s": round(records / ingest_s, 1),
                "total_s": round(run["total_s"], 2), "link_checks_s": round(run["link_checks_s"], 2),
                "cpu_s": {k: round(v, 1) for k, v in cpu.items()},
                "stages_s": {k: round(v, 2) for k, v in stages.items()}, "checks_s": round(checks_s, 2),
                "dedupe_steps": run["works_steps"],
                **({"checks_beside_s": round(run["demo_checks_s"], 2)} if run["demo_checks_beside"] else {}),
                "sources": sources, "peak_rss_tree_mib": round(run["rss_sum"] / 2**20),
                "peak_rss_each_mib": {k: round(v / 2**20) for k, v in run["rss_each"].items()},
                "peak_rss_stage_mib": {k: round(v / 2**20) for k, v in run["rss_stage"].items()},
                "raw": raw}, ensure_ascii=False) + "\n")
        print(f"appended to {RESULTS}")
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(instance.parent, ignore_errors=True)
        elif args.keep:
            print(f"kept {instance}")


if __name__ == "__main__":
    main()
