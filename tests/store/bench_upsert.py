"""Upsert throughput of the store (a script, not a test: timings never go into tests).

    .venv/bin/python -m tests.store.bench_upsert [sqlite|postgresql] [--records 20000] [--raw]

Prints records/s for first insert, unchanged re-harvest and changed re-harvest,
each the best of three runs, in batches of 1,000 records of about 1.2 KB of JSON.
PostgreSQL runs in a throwaway schema of the test database (tests/store/conftest.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import msgspec

from repository.store import Store
from schemas.record import Agent, Record, to_json
from tests.store.conftest import PG_URL, make_record, pg_execute

LONG = "本节课通过实验探究、合作交流等方式，引导学生理解勾股定理的证明过程，体会数形结合思想。"


def records(n: int, gen: int) -> list[Record]:
    out = []
    for i in range(n):
        out.append(make_record(
            i, source="bench", title=f"勾股定理（第{i % 3 + 1}课时）{i}{' 修订' * gen}",
            description=LONG * 4, keywords=["数学", "勾股定理", "八年级", "下册", "人教版"],
            agents=[Agent(name="王丽", role="teacher", school="北京市第一中学"),
                    Agent(name="国家中小学智慧教育平台", role="provider", kind="organization")],
            thumbnails=[f"https://example.edu.cn/thumb/{i}.jpg"],
        ))
    return out


def timed(store: Store, source: object, recs: list[Record], raw: bool) -> float:
    start = time.perf_counter()
    for i in range(0, len(recs), 1000):
        batch = recs[i : i + 1000]
        payloads = {r.id: ("oai_dc", to_json(r)) for r in batch} if raw else None
        store.upsert_records(source, batch, raw=payloads)  # type: ignore[arg-type]
    return len(recs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", choices=["sqlite", "postgresql"], nargs="?", default="sqlite")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--raw", action="store_true", help="also store a raw payload per record")
    args = parser.parse_args()
    first, second = records(args.records, 0), records(args.records, 1)
    size = sum(len(to_json(r)) for r in first[:1000]) / 1000
    print(f"{args.backend}: {args.records} records of {size:.0f} B JSON, raw={args.raw}")
    best: dict[str, float] = {}
    for _ in range(3):
        schema = None
        with tempfile.TemporaryDirectory() as tmp:
            if args.backend == "sqlite":
                store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
            else:
                schema = f"bench_{uuid.uuid4().hex[:12]}"
                pg_execute(f"CREATE SCHEMA {schema}")
                store = Store(PG_URL, schema=schema)
            try:
                store.init()
                source = store.add_source("bench", "file")
                for label, recs in (("insert", first), ("unchanged", first), ("changed", second)):
                    rate = timed(store, source, [msgspec.structs.replace(r) for r in recs], args.raw)
                    best[label] = max(best.get(label, 0.0), rate)
            finally:
                store.close()
                if schema:
                    pg_execute(f"DROP SCHEMA {schema} CASCADE")
    for label, rate in best.items():
        print(f"  {label:10s} {rate:10,.0f} records/s")


if __name__ == "__main__":
    main()
