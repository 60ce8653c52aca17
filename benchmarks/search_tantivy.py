"""Index N synthetic works into Tantivy, then time realistic searches.

    .venv/bin/python benchmarks/search_tantivy.py [N] [--queries 500] [--path DIR] [--keep] [--reuse]

Works come from tests/index/synthetic.py (real titles, facet distributions
skewed like the national platform's). Prints the document-build rate (Python
analysis, per core), the indexing rate, then the in-process latency of
`--queries` searches of the form "free text + 2 filters + 6 facet counts",
and of filter-only browsing (the widest aggregations). Target at 1,000,000
works: p95 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import msgspec  # noqa: E402

from benchmarks.machine import machine, percentile  # noqa: E402
from index.analysis import analyse, segmenter  # noqa: E402
from index.backend import SearchBackend, SearchQuery  # noqa: E402
from index.documents import work_document  # noqa: E402
from index.tantivy_backend import TantivyBackend  # noqa: E402
from tests.index.synthetic import TOPICS, synthetic_works  # noqa: E402

FACETS = ["stage", "grade", "subject", "edition", "resource_type", "source_level"]
FILTERABLE = ["stage", "grade", "subject", "edition", "resource_type", "source_level", "has_video", "volume"]
EXTRA_QUERIES = [
    "gougu",
    "ggdl",
    "yuandemianji",
    "部编版 语文",
    "初一 数学",
    "微课 光合作用",
    "math 二次函数",
    "牛顿第一定律 教学设计",
    "鲁迅",
    "课件",
    "圆的面积 第二课时",
    '"勾股定理"',
    "欧姆定律 实验",
]


def best_rate(fn, items: list, repeat: int = 3) -> float:
    """Items per CPU-second of this thread, best of `repeat` (the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        for item in items:
            fn(item)
        best = min(best, time.thread_time() - start)
    return len(items) / best


def analysis_throughput(n: int = 20_000) -> None:
    """Per-core rates of the Python side, on records of title + description ≈ 100 characters."""
    works = list(synthetic_works(n, seed=5))
    texts = [f"{c.title} {c.description}" for _, c, _, _ in works if c.description]
    print(f"analysis: records of {statistics.fmean(map(len, texts)):.0f} characters on average")
    print(f"  analyse(title + description): {best_rate(analyse, texts):,.0f} records/s per core")
    warm = best_rate(lambda w: work_document(*w), works)
    cold = 0.0
    for r in range(3):  # every title new each round: the title cache never hits
        unique = [
            (w, msgspec.structs.replace(c, title=f"{c.title} {r}-{i}"), m, e) for i, (w, c, m, e) in enumerate(works)
        ]
        cold = max(cold, best_rate(lambda w: work_document(*w), unique, repeat=1))
    print(f"  work_document: {warm:,.0f} works/s per core, {cold:,.0f} with every title new (cold caches)")


def build_and_index(backend: TantivyBackend, n: int) -> list[dict]:
    """Stream works → documents → `backend.rebuild()` (what `huiju reindex` runs: shelf order, one
    commit), timing document building apart from the rest; returns a sample of documents."""
    sample: list[dict] = []
    cpu = {"generate": 0.0, "build": 0.0}
    start = time.perf_counter()
    every = max(1, n // 5000)

    def documents() -> Iterator[dict]:
        works = synthetic_works(n)
        for done in range(n):
            t = time.thread_time()
            work = next(works)
            cpu["generate"] += time.thread_time() - t
            t = time.thread_time()
            doc = work_document(*work)
            cpu["build"] += time.thread_time() - t
            if done % every == 0 and len(sample) < 5000:
                sample.append(doc)
            if (done + 1) % 100_000 == 0:
                print(f"  … {done + 1:,} works built and spilled, {(done + 1) / (time.perf_counter() - start):,.0f}/s",
                      flush=True)
            yield doc

    count = backend.rebuild(documents())
    total = time.perf_counter() - start
    rest = total - cpu["generate"] - cpu["build"]
    print(f"document build: {n / cpu['build']:,.0f} works/s per core (CPU time, analysis included)")
    print(f"indexing (encode, shelve, add, commit): {count / rest:,.0f} docs/s ({rest:.1f} s)")
    print(f"end to end: {n / total:,.0f} works/s, {total:.1f} s "
          f"(synthetic generation alone {cpu['generate']:.1f} s CPU)")
    return sample


def queries(sample: list[dict], count: int, seed: int = 3) -> list[SearchQuery]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        doc = rng.choice(sample)
        if i % 5 == 4:
            text = rng.choice(EXTRA_QUERIES)
        else:
            topic = rng.choice(TOPICS.get(doc.get("subject", ""), ["勾股定理"]))
            text = topic if rng.random() < 0.6 else f"{topic} {doc.get('resource_type_label', '')}".strip()
        facets = [f for f in FILTERABLE if f in doc]
        filters = {f: [doc[f]] for f in rng.sample(facets, 2)}
        out.append(SearchQuery(text=text, filters=filters, facets=FACETS, page_size=20))
    return out


def timed(backend: SearchBackend, batch: list[SearchQuery], label: str, digits: int = 2) -> None:
    """Latency percentiles of `batch` on any backend (search_es.py prints one decimal: its times are larger)."""
    for q in batch[:20]:  # warm up
        backend.search(q)
    latencies, totals = [], []
    for q in batch:
        t = time.perf_counter()
        result = backend.search(q)
        latencies.append((time.perf_counter() - t) * 1000)
        totals.append(result.total)
    print(
        f"{label}: {len(batch)} queries, p50 {percentile(latencies, 50):.{digits}f} ms, "
        f"p95 {percentile(latencies, 95):.{digits}f} ms, "
        f"p99 {percentile(latencies, 99):.{digits}f} ms, mean {statistics.fmean(latencies):.{digits}f} ms, "
        f"median hits {int(statistics.median(totals)):,}, zero-hit {sum(t == 0 for t in totals)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("works", nargs="?", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--path", type=Path, help="index folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the index folder")
    parser.add_argument("--reuse", action="store_true", help="search the index already in --path, do not index")
    args = parser.parse_args()
    print("machine:", machine(f"tantivy {version('tantivy')}"))
    path = args.path or Path(tempfile.mkdtemp(prefix="huiju-bench-"))
    segmenter()
    gc.freeze()  # long-lived vocabularies and caches: keep the collector off them
    analysis_throughput()
    backend = TantivyBackend(path, heap_size=512_000_000)
    try:
        if args.reuse and backend.count():
            print(f"reusing the index in {path}")
            sample = [work_document(*w) for w in islice(synthetic_works(args.works), 0, 50_000, 10)]
        else:
            print(f"indexing {args.works:,} synthetic works into {path}")
            sample = build_and_index(backend, args.works)
            t = time.perf_counter()
            backend.close()  # waits for segment merges; searches then run in a reader, as in the web app
            backend = TantivyBackend(path)
            print(f"merges finished {time.perf_counter() - t:.1f} s after the commit; searching from a reader")
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        print(f"index: {backend.count():,} docs, {size / 1e6:,.0f} MB on disk")
        batch = queries(sample, args.queries)
        timed(backend, batch, "free text + 2 filters + 6 facets")
        browse = [SearchQuery(filters=q.filters, facets=FACETS, page_size=20) for q in batch]
        timed(backend, browse, "2 filters + 6 facets, no text")
    finally:
        backend.close()
        if not args.keep and args.path is None:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
