"""One pipeline from payload to store: parse → map → validate → store.

Every record either lands in the store or in the quarantine with its stage
and reason; a bad record never stops the run.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from repository.store import Store
from schemas import validate
from schemas.crosswalks import Rejected, reader
from schemas.record import Record, to_json


@dataclass
class ImportReport:
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        text = (
            f"{self.read} read: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.deleted} deleted, {self.rejected} quarantined"
        )
        for reason, count in self.reasons.most_common(5):
            text += f"\n  {count} × {reason}"
        return text


def ensure_source(store: Store, name: str, *, kind: str, location: str, level: str | None) -> object:
    """The named source, created on first use; --level updates it."""
    source = store.get_source(name)
    if source is None:
        return store.add_source(name=name, kind=kind, location=location, level=level)
    if level and source.level != level:
        store.update_source(name, level=level)
        source = store.get_source(name)
    return source


def store_results(
    store: Store,
    source: object,
    results: Iterable[Record | Rejected],
    *,
    run: object = None,
    batch_size: int = 1000,
    level: str | None = None,
) -> ImportReport:
    """Validate and store mapped records in batches; quarantine the rest."""
    report = ImportReport()
    batch: list[Record] = []
    now = datetime.now(timezone.utc)

    def flush() -> None:
        if not batch:
            return
        counts = store.upsert_records(source, batch, run=run)
        report.added += counts.added
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        report.deleted += counts.deleted
        batch.clear()

    for result in results:
        report.read += 1
        if isinstance(result, Rejected):
            _quarantine(store, source, run, report, result.stage, result.reason, result.locator, result.raw)
            continue
        record = result
        if record.source != source.name:
            record.source = source.name
            record.id = ""
            record.__post_init__()
        problems = validate.problems(record)
        if problems:
            _quarantine(store, source, run, report, "validate", "; ".join(problems),
                        record.source_record_id, to_json(record))
            continue
        if record.source_level is None:
            record.source_level = level or source.level
        record.harvested = now
        batch.append(record)
        if len(batch) >= batch_size:
            flush()
    flush()
    return report


def _quarantine(store: Store, source: object, run: object, report: ImportReport,
                stage: str, reason: str, locator: str, raw: bytes) -> None:
    store.quarantine(source=source, run=run, stage=stage, reason=reason, locator=locator, raw=raw)
    report.rejected += 1
    report.reasons[reason[:120]] += 1


def import_payload(
    store: Store,
    data: bytes,
    *,
    format: str,
    source_name: str,
    location: str = "",
    level: str | None = None,
    batch_size: int = 1000,
) -> ImportReport:
    """Import one file's bytes as a recorded run of the named source."""
    source = ensure_source(store, source_name, kind="file", location=location, level=level)
    run = store.start_run(source)
    store.save_payload(source=source, run=run, format=format, content=data,
                       sha256=hashlib.sha256(data).hexdigest())
    try:
        report = store_results(
            store, source, reader(format)(data, source=source_name),
            run=run, batch_size=batch_size, level=level,
        )
    except BaseException as exc:
        store.finish_run(run, status="failed", counts={}, errors=[f"{type(exc).__name__}: {exc}"])
        raise
    store.finish_run(
        run,
        status="succeeded",
        counts={"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                "deleted": report.deleted, "quarantined": report.rejected},
        errors=[],
    )
    return report
