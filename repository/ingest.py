"""One pipeline from payload to store: parse → map → validate → store.

Every record either lands in the store or in the quarantine with its stage
and reason; a bad record never stops the run.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from repository.models import HarvestRun, RawPayload, Setting
from repository.store import Store
from schemas import validate
from schemas.crosswalks import READERS, Rejected, reader
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
    raw: Mapping[str, tuple[str, bytes]] | None = None,
) -> ImportReport:
    """Validate and store mapped records in batches; quarantine the rest.

    ``raw`` maps source record ids to (format, bytes): each stored record's
    own payload, kept so `huiju remap` can map it again without a re-fetch.
    """
    report = ImportReport()
    batch: list[Record] = []
    now = datetime.now(UTC)

    def flush() -> None:
        if not batch:
            return
        payloads = None
        if raw:
            payloads = {r.id: raw[r.source_record_id] for r in batch if r.source_record_id in raw}
        counts = store.upsert_records(source, batch, run=run, raw=payloads)
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


# -- re-mapping stored payloads (`huiju remap`) --------------------------------

_OAI_RECORD = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?<(?:[\w.-]+:)?record[\s>]")
_OAI_HEADER = re.compile(rb"<(?:[\w.-]+:)?header[\s>/]")


def record_document(content: bytes) -> bytes:
    """An OAI-PMH <record> (header + metadata) as a one-record ListRecords page, which
    every XML reader takes; anything else unchanged. The harvester keeps each record's
    own <record> bytes as its raw payload, and both it and remap map them through this."""
    if _OAI_RECORD.match(content) and _OAI_HEADER.search(content, 0, 4096):
        body = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", content, count=1)
        return b"<OAI-PMH><ListRecords>" + body + b"</ListRecords></OAI-PMH>"
    return content


PAYLOAD_READERS: dict[str, str] = {
    "crawl-fields": "harvester.spiders.mapping:read",  # a crawled item: page URL, scraped strings, page
}
"""Raw payload formats that are not input formats of `huiju import` (schemas.crosswalks.READERS)."""


def _payload_reader(fmt: str) -> Any:
    if fmt in READERS:
        return reader(fmt)
    if fmt in PAYLOAD_READERS:
        module, _, name = PAYLOAD_READERS[fmt].partition(":")
        return getattr(import_module(module), name)
    return None


def remap_source(store: Store, name: str, *, batch_size: int = 1000) -> ImportReport:
    """Map a source's stored raw payloads again with today's crosswalks: no fetch.

    Each distinct payload (by format and hash) is mapped once, oldest first,
    so a page behind several records is read once and the newest file wins.
    Records the payloads no longer yield are left as they are.
    """
    source = store.get_source(name)
    if source is None:
        raise KeyError(f"no source named {name!r}")

    def results() -> Iterable[Record | Rejected]:
        after, seen = 0, set()
        while True:
            with store.session() as s:
                rows = s.execute(
                    select(RawPayload.id, RawPayload.record_id, RawPayload.format, RawPayload.content,
                           RawPayload.sha256)
                    .where(RawPayload.source_id == source.id, RawPayload.id > after)
                    .order_by(RawPayload.id).limit(200)
                ).all()
            for row in rows:
                if (row.format, row.sha256) in seen:
                    continue
                seen.add((row.format, row.sha256))
                read = _payload_reader(row.format)
                if read is None:
                    yield Rejected(reason=f"no reader for stored payload format {row.format!r}",
                                   locator=row.record_id or f"payload {row.id}", stage="parse")
                    continue
                yield from read(record_document(row.content), source=source.name)
            if len(rows) < 200:
                return
            after = rows[-1].id

    return store_results(store, source, results(), batch_size=batch_size)


# -- one harvest per source at a time -------------------------------------------

LOCK_PREFIX = "harvest-lock:"


def _alive(holder: dict[str, Any], stale_after: float, run_status: str | None) -> bool:
    """Whether a lock holder may still be harvesting: its run still running and its
    process alive (same host), or its heartbeat recent (another host)."""
    if holder.get("run") is not None and run_status != "running":
        return False
    if holder.get("host") == socket.gethostname():
        pid = int(holder.get("pid") or 0)
        if pid == os.getpid():
            return True  # another thread of this very process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ", 1)[-1][:1] in ("Z", "X"):
            return False  # killed but not yet reaped
        return True
    beat = datetime.fromisoformat(holder.get("beat") or "1970-01-01T00:00:00+00:00")
    return (datetime.now(UTC) - beat).total_seconds() < stale_after


def claim_harvest(store: Store, name: str, *, stale_after: float = 3600) -> tuple[bool, dict[str, Any] | None]:
    """Take the source's harvest lock (a settings row, so it works across processes and hosts).

    Returns (True, stale holder or None) when taken, (False, holder) when a live
    harvest holds it. The row is read FOR UPDATE (PostgreSQL) or under SQLite's
    write lock, and a concurrent first insert loses on the primary key.
    """
    key = LOCK_PREFIX + name
    me = {"pid": os.getpid(), "host": socket.gethostname(), "run": None,
          "beat": datetime.now(UTC).isoformat()}
    try:
        with store.session(write=True) as s:
            row = s.get(Setting, key, with_for_update=True)
            holder = row.value if row is not None else None
            if holder:
                run = s.get(HarvestRun, holder["run"]) if holder.get("run") else None
                if _alive(holder, stale_after, run.status if run else None):
                    return False, holder
            if row is None:
                s.add(Setting(key=key, value=me))
            else:
                row.value = me
    except IntegrityError:
        return False, None
    return True, holder or None


def beat_harvest(store: Store, name: str, run_id: int) -> None:
    """Refresh our lock's heartbeat and name the run it guards."""
    value = {"pid": os.getpid(), "host": socket.gethostname(), "run": run_id,
             "beat": datetime.now(UTC).isoformat()}
    with store.session(write=True) as s:
        row = s.get(Setting, LOCK_PREFIX + name, with_for_update=True)
        if row is not None and row.value and row.value.get("pid") == value["pid"]:
            row.value = value


def release_harvest(store: Store, name: str) -> None:
    """Drop the lock if this process holds it."""
    with store.session(write=True) as s:
        row = s.get(Setting, LOCK_PREFIX + name, with_for_update=True)
        if row is not None and row.value and row.value.get("pid") == os.getpid() \
                and row.value.get("host") == socket.gethostname():
            s.delete(row)


def harvest_holder(store: Store, name: str, *, stale_after: float = 3600) -> dict[str, Any] | None:
    """Who is harvesting the source now, if anyone: a lock left by a dead process does not count."""
    holder = store.get_setting(LOCK_PREFIX + name)
    if not holder:
        return None
    run = store.get_run(holder["run"]) if holder.get("run") else None
    return holder if _alive(holder, stale_after, run.status if run else None) else None
