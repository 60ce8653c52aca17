"""OAI-PMH ListRecords latency at depth, on a 1,000,000-work repository.

    .venv/bin/python benchmarks/oai.py [--works 1000000] [--database-url URL] [--dir DIR]
                                       [--repeat 30] [--harvest-budget 600]

1. Builds the repository quickly: the schema comes from the real migrations,
   then synthetic works and their work_sets rows are bulk-inserted straight
   into the tables (sqlite3 executemany, or COPY on PostgreSQL), bypassing
   dedupe and publication.refresh (which would take hours at this size); the
   secondary indexes are created after the load. Each work's merged record is
   one of 60 curriculum templates with its own title, its sets computed by
   repository/oai/sets.py, one or two sources, 10 works per datestamp (ties
   exercise the (datestamp, id) keyset). --dir keeps and reuses the database.
2. Serves it with waitress on a loopback port, as `huiju serve` does.
3. Times ListRecords (oai_dc, page size 200) for page 1 (fresh request: it also
   counts the list for completeListSize), page 2, page 100 (reached by
   following 99 real tokens) and page 5,000 (its token minted with the app's
   own TokenCodec at the (datestamp, id) that ends page 4,999, found once with
   OFFSET; a minted page-100 token is checked to answer exactly like the real
   one). Prints p50/p95 per page over --repeat requests, and the deep/first
   ratios; the same for a set (subject:math).
4. Times a full oai_dc harvest by Sickle when its first 50 pages predict it
   fits in --harvest-budget seconds; otherwise prints the extrapolation,
   labelled as such.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import msgspec  # noqa: E402
import requests  # noqa: E402
from lxml import etree  # noqa: E402
from sqlalchemy import text  # noqa: E402

from benchmarks.machine import machine  # noqa: E402
from repository.app import create_app  # noqa: E402
from repository.db import driver_datetime  # noqa: E402
from repository.oai.sets import set_specs  # noqa: E402
from repository.oai.tokens import Cursor  # noqa: E402
from repository.settings import Settings  # noqa: E402
from repository.store import Store  # noqa: E402
from schemas.normalise import build_curriculum, normalise_resource_type  # noqa: E402
from schemas.record import Agent, Record  # noqa: E402

PAGE = 200
TIES = 10
SOURCES = [("national", "national"), ("city", "municipal"), ("district", "district")]
INDEXES = [  # (name, table, columns): created after the bulk load
    ("ix_works_datestamp", "works", "datestamp"),
    ("ix_works_ever_published_datestamp_id", "works", "ever_published, datestamp, id"),
    ("ix_work_sets_set_spec_datestamp_work_id", "work_sets", "set_spec, datestamp, work_id"),
]
NS = {"o": "http://www.openarchives.org/OAI/2.0/"}


def templates() -> list[tuple[Record, list[str]]]:
    """60 curriculum variants with their curriculum sets (sources are added per work)."""
    out = []
    grades = ["七年级", "八年级", "九年级", "三年级", "五年级"]
    for i in range(60):
        curriculum, _ = build_curriculum({"grade": grades[i % 5], "subject": ["数学", "语文", "物理", "英语"][i % 4],
                                          "edition": ["人教版", "北师大版", "人教A版"][i % 3], "volume": "上册",
                                          "class_hour": f"第{i % 3 + 1}课时"})
        record = Record(source="national", source_record_id=f"t{i}", title="", curriculum=curriculum,
                        resource_type=normalise_resource_type(["微课视频", "课件", "教学设计", "课后练习"][i % 4]),
                        description="人教版配套课例，含教学目标、重难点与课堂练习。", language="zh", format="video/mp4",
                        agents=[Agent(name="王丽", role="teacher", school="北京市第一中学")], source_level="national",
                        url="https://basic.smartedu.cn/x")
        out.append((record, set_specs(record, [])))
    return out


def synthetic(n: int) -> Iterator[tuple[tuple, list[tuple]]]:
    """(works row, work_sets rows) per work, in driver form for the bulk statements."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    shapes = templates()
    encoder = msgspec.json.Encoder(order="deterministic")
    for i in range(n):
        record, specs = shapes[i % len(shapes)]
        work_id = "w" + hashlib.blake2b(i.to_bytes(8, "big"), digest_size=10).hexdigest()
        members = [SOURCES[i % 3]] + ([SOURCES[(i + 1) % 3]] if i % 4 == 0 else [])
        member_specs = {"source", "level"} | {f"source:{s}" for s, _ in members} | {f"level:{lv}" for _, lv in members}
        title = f"第{i % 30 + 1}课 课例 {i}（第{i % 3 + 1}课时）"
        data = encoder.encode({"record": msgspec.structs.replace(record, title=title, source_record_id=f"s{i}",
                                                                 id=f"r{work_id[1:]}"),
                               "provenance": {"title": f"r{work_id[1:]}"}, "members": [f"r{work_id[1:]}"]})
        stamp = base + timedelta(seconds=(i // TIES) * 3)
        yield ((work_id, f"r{work_id[1:]}", data, "active", None, stamp, True, True),
               [(work_id, spec, stamp) for spec in sorted(set(specs) | member_specs)])


def build(store: Store, n: int) -> None:
    """Bulk-load n works and their set rows, then build the secondary indexes."""
    store.init()
    started = time.perf_counter()
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if store.dialect == "sqlite":  # one transaction (the engine's connections autocommit), no per-row FK probe
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("BEGIN")
        for name, _, _ in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        to_driver = driver_datetime(store.dialect)
        works, sets = [], []
        loaded = 0

        def flush() -> None:
            if store.dialect == "sqlite":
                cursor.executemany("INSERT INTO works (id, canonical_record_id, data, status, successor_id, "
                                   "datestamp, published, ever_published) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", works)
                cursor.executemany("INSERT INTO work_sets (work_id, set_spec, datestamp) VALUES (?, ?, ?)", sets)
            else:
                with cursor.copy("COPY works (id, canonical_record_id, data, status, successor_id, datestamp, "
                                 "published, ever_published) FROM STDIN") as copy:
                    for row in works:
                        copy.write_row(row)
                with cursor.copy("COPY work_sets (work_id, set_spec, datestamp) FROM STDIN") as copy:
                    for row in sets:
                        copy.write_row(row)
            works.clear()
            sets.clear()

        for work, rows in synthetic(n):
            works.append((*work[:5], to_driver(work[5]), *work[6:]))
            sets.extend((w, s, to_driver(d)) for w, s, d in rows)
            loaded += 1
            if len(works) >= 50_000:
                flush()
                print(f"  {loaded:,} works loaded ({time.perf_counter() - started:.0f} s)", flush=True)
        flush()
        for name, table, columns in INDEXES:
            cursor.execute(f"CREATE INDEX {name} ON {table} ({columns})")
        cursor.execute("ANALYZE")
        raw.commit()
        if store.dialect == "postgresql":  # set the visibility map, as autovacuum would: index-only counts
            raw.driver_connection.autocommit = True  # type: ignore[union-attr]
            cursor.execute("VACUUM ANALYZE works")
            cursor.execute("VACUUM ANALYZE work_sets")
    finally:
        raw.close()
    print(f"built {n:,} works in {time.perf_counter() - started:.0f} s", flush=True)


class Server:
    def __init__(self, app: object) -> None:
        from waitress import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}/oai"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.close()


def get(session: requests.Session, url: str, **params: str) -> tuple[float, etree._Element]:
    started = time.perf_counter()
    response = session.get(url, params=params, timeout=120)
    body = response.content  # decompressed (the client asked for gzip, as harvesters do)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, etree.fromstring(body)


def token_of(root: etree._Element) -> str:
    return root.findtext("o:ListRecords/o:resumptionToken", namespaces=NS) or ""


def timings(session: requests.Session, url: str, params: dict[str, str], repeat: int) -> tuple[float, float]:
    samples = sorted(get(session, url, **params)[0] for _ in range(repeat))
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]


def mint(app: object, store: Store, page: int, set_spec: str | None, total: int) -> str:
    """A token for ``page`` (1-based) made by the app's own codec: the cursor that ends page - 1."""
    offset = (page - 1) * PAGE - 1
    with store.engine.connect() as conn:
        if set_spec is None:
            row = conn.execute(text("SELECT datestamp, id FROM works WHERE ever_published = :t "
                                    "ORDER BY datestamp, id LIMIT 1 OFFSET :o"), {"t": True, "o": offset}).one()
        else:
            row = conn.execute(text("SELECT datestamp, work_id FROM work_sets WHERE set_spec = :s "
                                    "ORDER BY datestamp, work_id LIMIT 1 OFFSET :o"),
                               {"s": set_spec, "o": offset}).one()
    stamp = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(row[0])
    stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp
    codec = app.extensions["huiju.oai"].codec  # type: ignore[attr-defined]
    return codec.dump(Cursor("ListRecords", "oai_dc", set_spec, None, None, stamp, row[1], offset + 1, total))[0]


def measure(app: object, store: Store, url: str, repeat: int, set_spec: str | None, deep: int) -> None:
    session = requests.Session()
    args = {"verb": "ListRecords", "metadataPrefix": "oai_dc", **({"set": set_spec} if set_spec else {})}
    _, first = get(session, url, **args)
    total = int(first.find("o:ListRecords/o:resumptionToken", NS).get("completeListSize"))
    label = set_spec or "all works"
    print(f"\n[{label}] completeListSize={total:,} pages={-(-total // PAGE):,}")
    mid = min(100, -(-total // PAGE) - 1)
    root, real = first, {1: token_of(first)}
    for page in range(2, mid):  # follow real tokens: real[p] asks for page p + 1
        _, root = get(session, url, verb="ListRecords", resumptionToken=token_of(root))
        real[page] = token_of(root)
    # page `mid` via a real token and via a minted one must be the same records
    minted_mid = mint(app, store, mid, set_spec, total)
    ids = [get(session, url, verb="ListRecords", resumptionToken=t)[1].xpath("//o:identifier/text()", namespaces=NS)
           for t in (real[mid - 1], minted_mid)]
    assert ids[0] == ids[1], "a minted token must continue exactly where the real one does"
    deep_token = mint(app, store, deep, set_spec, total)
    rows = [("page 1 (counts the list)", args), ("page 2", {"verb": "ListRecords", "resumptionToken": real[1]}),
            (f"page {mid} (real tokens)", {"verb": "ListRecords", "resumptionToken": real[mid - 1]}),
            (f"page {deep:,}", {"verb": "ListRecords", "resumptionToken": deep_token})]
    results = {}
    for name, params in rows:
        p50, p95 = timings(session, url, params, repeat)
        results[name] = p50
        print(f"  {name:28} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms", flush=True)
    deep_p50 = results[f"page {deep:,}"]
    print(f"  deep/first ratio (p50): {deep_p50 / results['page 1 (counts the list)']:.2f}; "
          f"deep/page-2 ratio: {deep_p50 / results['page 2']:.2f}")


def full_harvest(url: str, budget: float) -> None:
    from sickle import Sickle

    records = Sickle(url, max_retries=2).ListRecords(metadataPrefix="oai_dc")
    started = time.perf_counter()
    count, probe = 0, 50 * PAGE
    for _ in records:
        count += 1
        if count == probe:
            spent = time.perf_counter() - started
            total = int(records.resumption_token.complete_list_size)
            predicted = spent / probe * total
            print(f"\nSickle oai_dc harvest: first {probe:,} records in {spent:.1f} s "
                  f"({probe / spent:,.0f} records/s); predicted full harvest of {total:,}: {predicted:.0f} s")
            if predicted > budget:
                print(f"  EXTRAPOLATED (not run): full harvest ≈ {predicted / 60:.1f} min (> {budget:.0f} s budget)")
                return
    spent = time.perf_counter() - started
    print(f"  MEASURED: full harvest of {count:,} records in {spent:.0f} s ({count / spent:,.0f} records/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--works", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--dir", type=Path, help="keep the SQLite database here and reuse it when present")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--harvest-budget", type=float, default=600.0, help="seconds; 0 skips the full harvest")
    args = parser.parse_args()
    print("machine:", machine(f"SQLite {sqlite3.sqlite_version}"))
    folder = args.dir or Path(tempfile.mkdtemp(prefix="huiju-oai-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'huiju.db'}"
    store = Store(url)
    with store.engine.connect() as conn:
        present = store.revision() is not None and conn.execute(text("SELECT count(*) FROM works")).scalar()
    if present != args.works:
        if present:
            raise SystemExit(f"{url} holds {present:,} works, not {args.works:,}: use an empty database")
        build(store, args.works)
    print(f"database: {store.dialect}" + (f", {os.path.getsize(folder / 'huiju.db') / 2**30:.1f} GiB"
                                          if store.dialect == "sqlite" else ""))
    settings = Settings(environ={}, INSTANCE_PATH=str(folder), SECRET_KEY="bench", OAI_COMMIT_LAG=0)
    app = create_app(settings, store=store)
    server = Server(app)
    try:
        deep = min(5000, args.works // PAGE)
        measure(app, store, server.url, args.repeat, None, deep)
        with store.engine.connect() as conn:
            in_set = conn.execute(text("SELECT count(*) FROM work_sets WHERE set_spec = 'subject:math'")).scalar()
        measure(app, store, server.url, args.repeat, "subject:math", max(2, in_set // PAGE))  # last full page
        if args.harvest_budget:
            full_harvest(server.url, args.harvest_budget)
    finally:
        server.close()
        store.close()


if __name__ == "__main__":
    main()
