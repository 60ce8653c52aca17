"""Harvest schedules: one APScheduler 3 job per enabled source that has a ``schedule``.

Jobs live in a SQLAlchemyJobStore table (``apscheduler_jobs``) in the store's
own database, so the schedule survives restarts and needs nothing else to run.
Each job calls harvester.runner.harvest_source for its source, with
``max_instances=1`` (a source never overlaps itself; the runner's lock also
guards against other processes), ``coalesce`` (several missed runs become
one) and SCHEDULE_MISFIRE_GRACE (a run missed by longer is skipped).

Schedules are cron expressions read in SCHEDULE_TIMEZONE, "m h dom mon dow"
with cron's own weekday numbers (0 and 7 are Sunday; APScheduler 3 counts
from Monday, so they are translated), aliases such as @daily, or intervals
("every 6h", "30m", "interval:3600"). An interval source first runs one
interval after its last run (at once when it has never run).

Jobs are pickled with only the source name and a key naming the Store in
this process (``register``): never a database URL, which may hold a password.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED, BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Column as SAColumn
from sqlalchemy import Float, MetaData, Table, Unicode, inspect, select

from repository.settings import Settings
from repository.store import Store

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
JOB_PREFIX = "harvest:"
RUN_SOURCE = "harvester.schedule:run_source"
ALIASES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_INTERVAL = re.compile(
    r"^(?:every\s+)?(\d+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$", re.I
)
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
HELP = 'use a cron expression ("0 3 * * *"), an alias (@daily), or an interval ("every 6h", "30m", "interval:3600")'

_STORES: dict[str, tuple[Store, Settings]] = {}


class ScheduleError(ValueError):
    """A schedule text that cannot be used, with a message saying what is wrong."""


# ---------------------------------------------------------------- parsing


def parse_schedule(text: str, *, tz: str | Any = "Asia/Shanghai") -> BaseTrigger | None:
    """The trigger for a source's schedule; None for an empty one; ScheduleError when unusable."""
    text = " ".join((text or "").split())
    if not text:
        return None
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    seconds = _interval_seconds(text)
    if seconds is not None:
        if seconds < 1:
            raise ScheduleError(f"schedule {text!r}: an interval must be at least 1 second")
        return IntervalTrigger(seconds=seconds, timezone=zone)
    cron = ALIASES.get(text.lower(), text)
    fields = cron.split()
    if len(fields) != 5:
        if len(fields) == 1:
            raise ScheduleError(f"schedule {text!r}: not understood; {HELP}")
        raise ScheduleError(f"schedule {text!r}: a cron expression has 5 fields (minute hour day-of-month "
                            f"month day-of-week), this one has {len(fields)}")
    if fields[2] not in ("*", "?") and fields[4] not in ("*", "?"):
        raise ScheduleError(f"schedule {text!r}: restrict the day of the month or the day of the week, not both "
                            "(cron runs when either matches, APScheduler only when both do)")
    values = dict(zip(CRON_FIELDS, fields, strict=True))
    values["day_of_week"] = _weekdays(values["day_of_week"], text)
    for name, value in values.items():
        try:
            CronTrigger(**{name: value.replace("?", "*")}, timezone=zone)
        except ValueError as exc:
            raise ScheduleError(f"schedule {text!r}: bad {name.replace('_', ' ')} field {value!r}: {exc}") from None
    return CronTrigger(**{k: v.replace("?", "*") for k, v in values.items()}, timezone=zone)


def _interval_seconds(text: str) -> int | None:
    if text.lower().startswith("interval:"):
        value = text.split(":", 1)[1].strip()
        if not value.isdigit():
            raise ScheduleError(f"schedule {text!r}: interval:N takes a whole number of seconds")
        return int(value)
    match = _INTERVAL.match(text)
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2)[0].lower()]


def _weekdays(value: str, text: str) -> str:
    """Cron's day-of-week field (0/7 = Sunday, names, ranges, steps) as APScheduler 3 names."""
    if value in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in value.split(","):
        span, _, step_text = part.partition("/")
        if step_text and not step_text.isdigit() or step_text == "0":
            raise ScheduleError(f"schedule {text!r}: bad day-of-week step in {part!r}")
        step = int(step_text or 1)
        if span in ("*", ""):
            low, high = 0, 6
        elif "-" in span:
            low, high = (_day(d, text) for d in span.split("-", 1))
        else:
            low = high = _day(span, text)
            if step_text:
                high = 6
        if high < low:
            raise ScheduleError(f"schedule {text!r}: day-of-week range {span!r} runs backwards")
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(_DAYS[d] for d in sorted(days))


def _day(value: str, text: str) -> int:
    if value.isdigit() and int(value) <= 7:
        return int(value)
    if value[:3].lower() in _DAYS:
        return _DAYS.index(value[:3].lower())
    raise ScheduleError(f"schedule {text!r}: bad day of week {value!r} (0-7 or sun-sat)")


# ---------------------------------------------------------------- the scheduler and its jobs


def register(store: Store, settings: Settings | None = None) -> str:
    """Make ``store`` reachable from jobs run in this process; returns the key jobs carry."""
    key = hashlib.blake2b(store.url.encode(), digest_size=8).hexdigest()
    _STORES[key] = (store, settings or _STORES.get(key, (None, Settings()))[1])
    return key


def run_source(store_key: str, name: str) -> None:
    """The scheduled job: one harvest of the source; skipped when it is gone, disabled or busy."""
    from harvester.runner import HarvestBusy, harvest_source

    if store_key not in _STORES:
        raise RuntimeError(f"scheduled harvest of {name!r}: its store is not open in this process")
    store, settings = _STORES[store_key]
    source = store.get_source(name)
    if source is None or not source.enabled:
        log.info("scheduled harvest of %s skipped: the source is %s", name, "gone" if source is None else "disabled")
        return
    try:
        run = harvest_source(store, name, settings=settings)
    except HarvestBusy as exc:
        log.warning("scheduled harvest skipped: %s", exc)
        return
    level = logging.INFO if run.status == "succeeded" else logging.WARNING
    log.log(level, "scheduled harvest of %s: run %s %s%s", name, run.id, run.status,
            f" ({run.message})" if run.message else "")


class HarvestScheduler(BackgroundScheduler):
    """BackgroundScheduler that processes jobs only while running.

    APScheduler 3 wakes its thread once more on shutdown and then processes
    due jobs even when it was started paused: it fails to submit them (the
    executors are gone) yet moves their next run time on in the job store,
    silently skipping a harvest. `huiju` opens paused schedulers to sync jobs.
    """

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


class _JobStore(SQLAlchemyJobStore):
    """The job table in the store's own database, on the store's engine."""

    def shutdown(self) -> None:
        """Leave the engine alone: it is the Store's, which closes it."""


def create_scheduler(store: Store, settings: Settings | None = None, *,
                     workers: int | None = None) -> HarvestScheduler:
    """A scheduler whose jobs persist in the store's database (not started)."""
    settings = settings or Settings()
    register(store, settings)
    return HarvestScheduler(
        jobstores={"default": _JobStore(engine=store.engine, tablename=JOB_TABLE), "internal": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(workers or settings["SCHEDULE_WORKERS"])},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": settings["SCHEDULE_MISFIRE_GRACE"]},
        timezone=ZoneInfo(settings["SCHEDULE_TIMEZONE"]),
    )


def job_id(name: str) -> str:
    return JOB_PREFIX + name


@dataclass
class SyncReport:
    """What sync_jobs changed, and the sources whose schedule could not be used."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def wanted_triggers(store: Store, tz: Any) -> tuple[dict[str, tuple[Any, BaseTrigger]], dict[str, str]]:
    """(source name → (source, trigger)) for enabled, harvestable, scheduled sources; and errors."""
    from harvester.runner import KINDS

    wanted: dict[str, tuple[Any, BaseTrigger]] = {}
    errors: dict[str, str] = {}
    for source in store.list_sources(enabled=True):
        if not (source.schedule or "").strip():
            continue
        if source.kind not in KINDS:
            errors[source.name] = f"kind {source.kind!r} is imported, not harvested: its schedule is ignored"
            continue
        try:
            trigger = parse_schedule(source.schedule, tz=tz)
        except ScheduleError as exc:
            errors[source.name] = str(exc)
            continue
        if trigger is not None:
            wanted[source.name] = (source, trigger)
    return wanted, errors


def first_run(store: Store, source: Any, trigger: BaseTrigger, tz: Any) -> datetime | None:
    """An interval source's first run: one interval after its last run, else now (cron: None, the trigger's)."""
    if not isinstance(trigger, IntervalTrigger):
        return None
    now = datetime.now(tz)
    last = store.last_run(source)
    if last is None:
        return now
    return max(now, last.started.astimezone(tz) + trigger.interval)


def sync_jobs(store: Store, scheduler: BaseScheduler) -> SyncReport:
    """Make the scheduler's harvest jobs match the sources: add, update and remove.

    The scheduler must be started (``start(paused=True)`` is enough): before
    that, APScheduler 3 does not show the jobs already in the job store.
    """
    if scheduler.state == STATE_STOPPED:
        raise RuntimeError("sync_jobs needs a started scheduler (start(paused=True) will do)")
    key = register(store)
    grace = _STORES[key][1]["SCHEDULE_MISFIRE_GRACE"]  # jobs keep theirs when pickled: follow the setting
    report = SyncReport()
    wanted, report.errors = wanted_triggers(store, scheduler.timezone)
    existing = {job.id: job for job in scheduler.get_jobs(jobstore="default") if job.id.startswith(JOB_PREFIX)}
    for jid in sorted(set(existing) - {job_id(n) for n in wanted}):
        scheduler.remove_job(jid, jobstore="default")
        report.removed.append(jid.removeprefix(JOB_PREFIX))
    for name, (source, trigger) in sorted(wanted.items()):
        label = f"{name}: {' '.join(source.schedule.split())}"
        job = existing.get(job_id(name))
        if job is None:
            extra = {}
            start = first_run(store, source, trigger, scheduler.timezone)
            if start is not None:
                extra["next_run_time"] = start
            scheduler.add_job(RUN_SOURCE, trigger, args=[key, name], id=job_id(name), name=label,
                              jobstore="default", replace_existing=True, **extra)
            report.added.append(name)
        elif job.name != label or list(job.args) != [key, name] or job.misfire_grace_time != grace:
            scheduler.modify_job(job.id, "default", name=label, args=[key, name], misfire_grace_time=grace)
            if job.name != label:
                scheduler.reschedule_job(job.id, "default", trigger=trigger)
            report.updated.append(name)
    for name, problem in report.errors.items():
        log.warning("source %s not scheduled: %s", name, problem)
    return report


# ---------------------------------------------------------------- reading the schedule (huiju schedule list)


@dataclass
class Entry:
    """One scheduled source as `huiju schedule list` shows it."""

    name: str
    schedule: str
    next_run: datetime | None = None
    planned: bool = False  # next_run comes from the job store (a worker has scheduled it)
    problem: str | None = None
    last_run: Any = None


def list_schedule(store: Store, settings: Settings | None = None) -> list[Entry]:
    """Every enabled source with a schedule and its next run, read without touching the job store."""
    settings = settings or Settings()
    tz = ZoneInfo(settings["SCHEDULE_TIMEZONE"])
    wanted, errors = wanted_triggers(store, tz)
    planned = _planned_runs(store)
    entries = []
    for source in store.list_sources(enabled=True):
        if not (source.schedule or "").strip():
            continue
        entry = Entry(source.name, " ".join(source.schedule.split()), problem=errors.get(source.name),
                      last_run=store.last_run(source))
        if source.name in wanted:
            if job_id(source.name) in planned:
                stamp = planned[job_id(source.name)]
                entry.next_run = datetime.fromtimestamp(stamp, UTC).astimezone(tz) if stamp else None
                entry.planned = True
            else:
                trigger = wanted[source.name][1]
                now = datetime.now(tz)
                entry.next_run = first_run(store, source, trigger, tz) or trigger.get_next_fire_time(None, now)
        entries.append(entry)
    return entries


def _planned_runs(store: Store) -> dict[str, float | None]:
    """Job id → next run (UTC timestamp) straight from the job table; {} when there is none yet."""
    with store.engine.connect() as conn:
        if not inspect(conn).has_table(JOB_TABLE):
            return {}
        table = Table(JOB_TABLE, MetaData(), SAColumn("id", Unicode(191)), SAColumn("next_run_time", Float))
        return {row.id: row.next_run_time for row in conn.execute(select(table.c.id, table.c.next_run_time))}


# ---------------------------------------------------------------- the worker (huiju schedule run)


def work(store: Store, settings: Settings, stop: threading.Event, *, sync_every: float = 60.0,
         echo: Callable[[str], None] = log.info) -> None:
    """Run scheduled harvests until ``stop`` is set, re-reading the sources every ``sync_every``
    seconds; then start nothing new and wait for the harvests under way to finish."""
    scheduler = create_scheduler(store, settings)
    scheduler.start(paused=True)
    try:
        _sync(store, scheduler, echo)
        scheduler.add_job(_sync, "interval", seconds=sync_every, args=[store, scheduler, echo], id="huiju:sync",
                          jobstore="internal", replace_existing=True)
        scheduler.resume()
        echo(f"scheduler running: {len(scheduler.get_jobs(jobstore='default'))} source(s) scheduled "
             f"({settings['SCHEDULE_TIMEZONE']}); Ctrl-C or SIGTERM stops it")
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)


def _sync(store: Store, scheduler: BaseScheduler, echo: Callable[[str], None]) -> None:
    try:
        report = sync_jobs(store, scheduler)
    except Exception:  # noqa: BLE001 - a database hiccup must not stop the worker; next sync retries
        log.exception("could not re-read the sources")
        return
    for verb, names in (("scheduled", report.added), ("rescheduled", report.updated),
                        ("unscheduled", report.removed)):
        if names:
            echo(f"{verb}: {', '.join(names)}")
    for name, problem in report.errors.items():
        echo(f"not scheduled: {name}: {problem}")
