"""Index N synthetic works into Elasticsearch, then time realistic searches.

    .venv/bin/python benchmarks/search_es.py [N] [--queries 500] [--url URL] [--chunk 1000]

Against the cluster at --url (or HUIJU_ES_URL); without one, an osmem-server
started for the run (in-memory, OpenSearch-compatible: a test server, so its
figures say how the client side and osmem behave, not what a real cluster
does). Works come from tests/index/synthetic.py, documents are built first
(not timed), then `rebuild()` streams them through helpers.streaming_bulk:
the indexing rate is documents per second, end to end, refresh and alias
swap included. Then the client-side latency of `--queries` searches of the
form "free text + 2 filters + 6 facet counts", and of filter-only browsing,
the same queries as benchmarks/search_tantivy.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine  # noqa: E402
from benchmarks.search_tantivy import queries, timed  # noqa: E402
from index.backend import SearchQuery  # noqa: E402
from index.documents import work_document  # noqa: E402
from index.elasticsearch_backend import ElasticsearchBackend  # noqa: E402
from tests.index import es_server  # noqa: E402
from tests.index.synthetic import synthetic_works  # noqa: E402

FACETS = ["stage", "grade", "subject", "edition", "resource_type", "source_level"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("works", nargs="?", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--url", default=os.environ.get(es_server.ENV_URL, ""))
    parser.add_argument("--chunk", type=int, default=1000, help="documents per bulk request")
    parser.add_argument("--prefix", default="huiju-bench")
    args = parser.parse_args()
    print("machine:", machine(f"elasticsearch-py {version('elasticsearch')}"))
    server = None
    url = args.url
    if not url:
        server = es_server.start_osmem(timeout=30)
        url = server.url
        print(f"cluster: osmem-server {version('osmem-server')} at {url} (in memory, same machine)")
    else:
        print(f"cluster: {url}")
    backend = ElasticsearchBackend(url, prefix=args.prefix, replicas=0, chunk_size=args.chunk, request_timeout=120)
    try:
        t = time.perf_counter()
        docs = [work_document(*w) for w in synthetic_works(args.works)]
        print(f"built {len(docs):,} documents in {time.perf_counter() - t:.1f} s (not part of the indexing rate)")
        t, cpu = time.perf_counter(), time.process_time()
        count = backend.rebuild(docs)
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
        print(f"indexing (rebuild: bulk, refresh, alias swap): {count / took:,.0f} docs/s, {took:.1f} s")
        print(f"  client side (serialise + HTTP): {cpu:.1f} s CPU, {count / cpu:,.0f} docs/s per core")
        print(f"index: {backend.count():,} docs")
        sample = docs[:: max(1, len(docs) // 5000)]
        batch = queries(sample, args.queries)
        batch = [SearchQuery(text=q.text, filters=q.filters, facets=FACETS, page_size=20) for q in batch]
        timed(backend, batch, "free text + 2 filters + 6 facets", digits=1)
        browse = [SearchQuery(filters=q.filters, facets=FACETS, page_size=20) for q in batch]
        timed(backend, browse, "2 filters + 6 facets, no text", digits=1)
    finally:
        backend.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
