"""The main job on the embedded default: load the sample federation.

At this stage the demo imports the bundled sample records of three simulated
platforms; the harvesters will replace this with live demo platforms.
"""

from __future__ import annotations

from collections.abc import Iterator

from repository.ingest import ensure_source, store_results
from repository.sample import SOURCES, sample_records
from repository.store import Store


def load_demo(store: Store, *, batch_size: int = 1000) -> Iterator[str]:
    """Import the sample records source by source; yields progress lines."""
    by_source: dict[str, list] = {}
    for record in sample_records():
        by_source.setdefault(record.source, []).append(record)
    for name, records in by_source.items():
        label, level = SOURCES[name]
        source = ensure_source(store, name, kind="file", location=f"sample:{label}", level=level)
        run = store.start_run(source)
        report = store_results(store, source, records, run=run, batch_size=batch_size, level=level)
        store.finish_run(run, status="succeeded", counts={
            "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
            "deleted": report.deleted, "quarantined": report.rejected}, errors=[])
        yield f"{name} ({label}, {level}): {report.summary()}"
