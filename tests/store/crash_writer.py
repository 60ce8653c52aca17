"""Writer process for the crash test: upserts numbered batches until it is killed.

Usage: python crash_writer.py URL SCHEMA|- SOURCE BATCH_SIZE

Batch n writes BATCH_SIZE new records ``b{n}-{i}`` (each with a raw payload)
and rewrites BATCH_SIZE shared records ``shared-{i}`` to title ``gen {n}``, all
in one upsert_records call, then prints ``n`` once that call has committed.
"""

from __future__ import annotations

import sys

from repository.store import Store
from schemas.record import Record


def main() -> None:
    url, schema, source_name, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = Store(url, schema=None if schema == "-" else schema)
    source = store.get_source(source_name)
    assert source is not None
    description = "人教版八年级数学下册《勾股定理》微课视频。" * 8
    for n in range(100_000):
        records = [
            Record(source=source_name, source_record_id=f"b{n}-{i}", title=f"batch {n} #{i}",
                   description=description, keywords=["数学", str(n)])
            for i in range(size)
        ]
        records += [
            Record(source=source_name, source_record_id=f"shared-{i}", title=f"gen {n}")
            for i in range(size)
        ]
        raw = {r.id: ("oai_dc", f"<dc>{n}:{i}</dc>".encode() * 20) for i, r in enumerate(records[:size])}
        store.upsert_records(source, records, raw=raw)
        print(n, flush=True)


if __name__ == "__main__":
    main()
