"""Run one harvest of one source, whatever its kind.

The runner owns what every kind needs the same way: one run at a time per
source (a lock row in the store, so it holds across processes), the run row
and its final status, handing an interrupted or failed run's checkpoint to
the next run so it can resume, errors, and progress reports. A kind only
fetches and maps: ``harvest(store, source, run, progress) -> None``; it raises
HarvestFailed to end the run failed with a reason, and anything else it
raises fails the run too (the records stored so far stay stored).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from harvester.http import HttpClient
from repository.ingest import beat_harvest, claim_harvest, release_harvest
from repository.settings import Settings
from repository.store import Store, database_problem

log = logging.getLogger(__name__)

KINDS: dict[str, str] = {
    "oai": "harvester.oai:harvest",
    "smartedu": "harvester.smartedu:harvest",
    "marc": "harvester.files:harvest_marc",
    "rdf": "harvester.files:harvest_rdf",
    "crawl": "harvester.crawl:harvest",
}
"""Kind name -> "module:function", imported on first use so one broken kind cannot break the others."""

RESUMABLE = ("interrupted", "failed")
_BEAT_EVERY = 10.0  # seconds between lock heartbeats
MAX_ERRORS = 100  # kept per run; a source that repeats one problem on every page must not bloat the row


@dataclass
class Progress:
    """A snapshot handed to the progress callback after every page."""

    pages: int = 0
    records: int = 0  # records (and rejects) read by this run
    rate: float = 0.0  # records per second in this run
    total: int | None = None  # size of the whole list, when the source says (OAI completeListSize)
    position: int | None = None  # how far into the whole list, counting earlier runs it resumes
    elapsed: float = 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, when the total is known and records are flowing."""
        if not self.total or self.rate <= 0:
            return None
        done = self.position if self.position is not None else self.records
        return max(0.0, (self.total - done) / self.rate)


ProgressCallback = Callable[[Progress], None]


class HarvestBusy(RuntimeError):
    """Another live harvest of the same source holds its lock."""


class HarvestFailed(Exception):
    """Raised by a kind to end the run failed with this one-line reason."""


class Reporter:
    """What a kind receives as ``progress``: call it with a Progress, or use
    page() to count; also gives the run's settings, HTTP client and error list."""

    def __init__(self, store: Store, source: Any, run: Any, settings: Settings,
                 callback: ProgressCallback | None = None) -> None:
        self.store, self.source, self.run, self.settings = store, source, run, settings
        self.callback = callback
        self.errors: list[str] = []
        self.dropped = 0
        self.progress = Progress()
        self._start = self._beat = time.monotonic()
        self._client: HttpClient | None = None

    def client(self) -> HttpClient:
        """The run's HTTP client (HARVEST_* settings, the source's options win)."""
        if self._client is None:
            self._client = HttpClient.from_settings(self.settings, self.source.options or {})
        return self._client

    def __call__(self, progress: Progress) -> None:
        self.progress = progress
        if self.callback is not None:
            try:
                self.callback(progress)
            except Exception:  # noqa: BLE001 - a broken display must not stop a harvest
                log.exception("progress callback failed")

    def page(self, records: int, *, total: int | None = None, position: int | None = None) -> Progress:
        """Count one page of ``records``; refreshes the lock heartbeat now and then."""
        p = self.progress
        elapsed = time.monotonic() - self._start
        done = p.records + records
        progress = Progress(pages=p.pages + 1, records=done, rate=done / elapsed if elapsed > 0 else 0.0,
                            total=total if total is not None else p.total, position=position, elapsed=elapsed)
        now = time.monotonic()
        if now - self._beat >= _BEAT_EVERY:
            self._beat = now
            beat_harvest(self.store, self.source.name, self.run.id)
        self(progress)
        return progress

    def error(self, message: str) -> None:
        """Note a problem that did not stop the run (the first MAX_ERRORS are kept in the run's errors)."""
        log.warning("%s: %s", self.source.name, message)
        self.dropped += len(self.errors) >= MAX_ERRORS
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def all_errors(self) -> list[str]:
        return self.errors + ([f"… and {self.dropped} more"] if self.dropped else [])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _resolve(spec: str) -> Callable[..., None]:
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)  # type: ignore[no-any-return]


def harvest_source(store: Store, name: str, *, progress: ProgressCallback | None = None,
                   settings: Settings | None = None) -> Any:
    """Harvest the named source once and return its finished HarvestRun.

    Raises KeyError for an unknown source, ValueError for a kind that cannot be
    harvested and HarvestBusy when a live harvest of the source is under way.
    """
    settings = settings or Settings()
    source = store.get_source(name)
    if source is None:
        raise KeyError(f"no source named {name!r}")
    if source.kind not in KINDS:
        raise ValueError(f"source {name!r} is of kind {source.kind!r}, which is imported, not harvested")
    taken, holder = claim_harvest(store, name, stale_after=settings["HARVEST_STALE_AFTER"])
    if not taken:
        who = f"run {holder.get('run')}, pid {holder.get('pid')} on {holder.get('host')}" if holder else "another run"
        raise HarvestBusy(f"source {name!r} is already being harvested ({who}); try again when it ends")
    reporter = None
    try:
        _close_abandoned(store, source, holder)
        previous = store.last_run(source)
        run = store.start_run(source)
        beat_harvest(store, name, run.id)
        if previous is not None and previous.status in RESUMABLE and previous.checkpoint:
            state = {**previous.checkpoint, "resumed_from": previous.id}
            store.checkpoint(run, state)
            run.checkpoint = state
        reporter = Reporter(store, source, run, settings, progress)
        status, message = "succeeded", None
        try:
            _resolve(KINDS[source.kind])(store, source, run, reporter)
        except HarvestFailed as exc:
            status, message = "failed", str(exc)
        except KeyboardInterrupt:
            store.finish_run(run, "interrupted", errors=reporter.all_errors(), message="interrupted by the operator")
            raise
        except Exception as exc:  # noqa: BLE001 - the run records why; the caller gets the run
            status, message = "failed", database_problem(exc)
            if message is None:  # a bug rather than the environment: keep the traceback
                log.exception("harvest of %s failed", name)
                message = f"{type(exc).__name__}: {exc}"
            else:
                log.error("harvest of %s failed: %s", name, message)
        if status == "succeeded" and reporter.errors:
            message = f"{len(reporter.errors) + reporter.dropped} problem(s), first: {reporter.errors[0]}"
        store.finish_run(run, status, errors=reporter.all_errors(), message=message)
        from repository.checks.runner import check_after_harvest  # quality checks of what this run stored

        check_after_harvest(store, settings, name)
        return store.get_run(run.id)
    finally:
        if reporter is not None:
            reporter.close()
        release_harvest(store, name)


def _close_abandoned(store: Store, source: Any, holder: dict[str, Any] | None) -> None:
    """Mark a run whose process died (its lock was stale, or it left no lock) interrupted."""
    stale = store.get_run(holder["run"]) if holder and holder.get("run") else None
    last = store.last_run(source)
    for run in {r.id: r for r in (stale, last) if r is not None and r.status == "running"}.values():
        store.finish_run(run, "interrupted", message="the harvesting process stopped without finishing")
