"""Scheduling: parsing, the persistent job store, jobs that really harvest, no overlap, the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from harvester import schedule
from harvester.schedule import ScheduleError, create_scheduler, list_schedule, parse_schedule, sync_jobs
from repository.settings import Settings
from repository.store import Store
from tests.harvester.sites.server import TestSite

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2025, 9, 1, 0, 0, tzinfo=SHANGHAI)


def _next(text: str, after: datetime = MONDAY) -> datetime:
    trigger = parse_schedule(text)
    assert isinstance(trigger, CronTrigger)
    return trigger.get_next_fire_time(None, after)


def test_cron_is_read_as_cron_reads_it() -> None:
    assert _next("0 3 * * *") == datetime(2025, 9, 1, 3, 0, tzinfo=SHANGHAI)
    assert _next("30 2 1 * *") == datetime(2025, 9, 1, 2, 30, tzinfo=SHANGHAI)
    # weekday numbers are cron's: 0 and 7 are Sunday (APScheduler 3 alone would take 0 as Monday)
    assert _next("0 3 * * 0") == _next("0 3 * * 7") == _next("0 3 * * sun") == datetime(2025, 9, 7, 3, tzinfo=SHANGHAI)
    assert _next("0 3 * * 1-5", datetime(2025, 9, 5, 4, tzinfo=SHANGHAI)) == datetime(2025, 9, 8, 3, tzinfo=SHANGHAI)
    assert _next("0 8 * * 5-7", datetime(2025, 9, 1, tzinfo=SHANGHAI)) == datetime(2025, 9, 5, 8, tzinfo=SHANGHAI)
    assert _next("0 8 * * 0-1", datetime(2025, 9, 2, tzinfo=SHANGHAI)) == datetime(2025, 9, 7, 8, tzinfo=SHANGHAI)
    assert _next("*/15 * * * *", datetime(2025, 9, 1, 10, 7, tzinfo=SHANGHAI)).minute == 15
    assert _next("@daily", datetime(2025, 9, 1, 10, tzinfo=SHANGHAI)) == datetime(2025, 9, 2, tzinfo=SHANGHAI)
    assert _next("@weekly") == datetime(2025, 9, 7, tzinfo=SHANGHAI)
    # the time zone is SCHEDULE_TIMEZONE's: 03:00 in Shanghai is 19:00 UTC the day before
    utc = parse_schedule("0 3 * * *", tz="UTC").get_next_fire_time(None, MONDAY)
    assert utc == datetime(2025, 9, 1, 3, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(("text", "seconds"), [
    ("every 6h", 6 * 3600), ("6h", 6 * 3600), ("30m", 1800), ("every 2 days", 172800), ("interval:3600", 3600),
    ("EVERY 90 SECONDS", 90), ("1w", 604800), ("every 45 min", 2700),
])
def test_intervals(text: str, seconds: int) -> None:
    trigger = parse_schedule(text)
    assert isinstance(trigger, IntervalTrigger) and trigger.interval == timedelta(seconds=seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("sometimes", "not understood"),
    ("0 3 * *", "5 fields"),
    ("61 * * * *", "bad minute field '61'"),
    ("0 25 * * *", "bad hour field"),
    ("0 3 * 13 *", "bad month field"),
    ("0 3 * * 8", "bad day of week '8'"),
    ("0 3 * * 5-1", "runs backwards"),
    ("0 3 1 * 1", "not both"),
    ("every 0h", "at least 1 second"),
    ("interval:soon", "whole number of seconds"),
])
def test_bad_schedules_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message) as raised:
        parse_schedule(text)
    assert text in str(raised.value)


def test_empty_schedule_means_none() -> None:
    assert parse_schedule("") is None and parse_schedule("   ") is None


def _jobs(store: Store, settings: Settings) -> dict[str, tuple[str, datetime | None]]:
    """Job id → (name, next run) as a fresh scheduler instance sees the job store."""
    scheduler = create_scheduler(store, settings)
    scheduler.start(paused=True)
    try:
        return {job.id: (job.name, job.next_run_time) for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


def test_sync_adds_updates_and_removes_jobs_in_the_persistent_store(store: Store, settings: Settings) -> None:
    store.add_source("city", "oai", "https://oai.example.cn/oai", level="municipal", schedule="0 3 * * *")
    store.add_source("site", "crawl", "https://www.example.cn/", level="district", schedule="every 6h")
    store.add_source("quiet", "crawl", "https://q.example.cn/", level="school")  # no schedule
    store.add_source("off", "crawl", "https://off.example.cn/", level="school", schedule="@daily", enabled=False)
    store.add_source("typo", "crawl", "https://t.example.cn/", level="school", schedule="0 3 * *")

    scheduler = create_scheduler(store, settings)
    scheduler.start(paused=True)
    before = datetime.now(SHANGHAI)
    report = sync_jobs(store, scheduler)
    assert (report.added, report.updated, report.removed) == (["city", "site"], [], [])
    assert "5 fields" in report.errors["typo"]
    scheduler.shutdown(wait=False)

    jobs = _jobs(store, settings)  # a new scheduler instance reads them back from the database
    assert set(jobs) == {"harvest:city", "harvest:site"}
    name, city_next = jobs["harvest:city"]
    assert name == "city: 0 3 * * *" and (city_next.hour, city_next.minute) == (3, 0)
    assert city_next.utcoffset() == timedelta(hours=8)
    # never harvested: an interval source runs at once
    assert before - timedelta(seconds=1) <= jobs["harvest:site"][1] <= datetime.now(SHANGHAI)
    # the schedule list reads the same job table without starting a scheduler
    listed = {e.name: e for e in list_schedule(store, settings)}
    assert listed["city"].planned and listed["city"].next_run == city_next
    assert listed["typo"].problem and listed["typo"].next_run is None and "quiet" not in listed

    store.update_source("city", schedule="30 4 * * 1")
    store.update_source("site", enabled=False)
    store.update_source("typo", schedule="@hourly")
    scheduler = create_scheduler(store, settings)
    scheduler.start(paused=True)
    report = sync_jobs(store, scheduler)
    assert (report.added, report.updated, report.removed, report.errors) == (["typo"], ["city"], ["site"], {})
    assert sync_jobs(store, scheduler).changed is False  # idempotent
    scheduler.shutdown(wait=False)

    scheduler = create_scheduler(store, Settings(SCHEDULE_MISFIRE_GRACE=60))
    scheduler.start(paused=True)
    assert sync_jobs(store, scheduler).updated == ["city", "typo"]  # a new grace reaches stored jobs
    assert {job.misfire_grace_time for job in scheduler.get_jobs()} == {60}
    scheduler.shutdown(wait=False)

    jobs = _jobs(store, settings)
    assert set(jobs) == {"harvest:city", "harvest:typo"}
    assert jobs["harvest:city"][0] == "city: 30 4 * * 1"
    assert jobs["harvest:city"][1].weekday() == 0 and jobs["harvest:city"][1].hour == 4


def test_interval_source_first_runs_one_interval_after_its_last_run(store: Store, settings: Settings) -> None:
    source = store.add_source("site", "crawl", "https://www.example.cn/", schedule="every 6h")
    run = store.start_run(source)
    store.finish_run(run, "succeeded")
    started = store.get_run(run.id).started
    scheduler = create_scheduler(store, settings)
    scheduler.start(paused=True)
    try:
        sync_jobs(store, scheduler)
        (job,) = scheduler.get_jobs()
        assert abs(job.next_run_time - (started + timedelta(hours=6))) < timedelta(seconds=1)
    finally:
        scheduler.shutdown(wait=False)


def test_sync_needs_a_started_scheduler(store: Store, settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="started scheduler"):
        sync_jobs(store, create_scheduler(store, settings))


def test_a_due_job_really_harvests_in_a_background_scheduler(store: Store, settings: Settings) -> None:
    """A crawl source that never ran is due at once; the background scheduler harvests it."""
    with TestSite() as site:
        store.add_source("catalogue", "crawl", site.base + "/plain/catalogue.html", level="school",
                         schedule="every 1h", options={
                             "spider": "fields", "items": "li.item", "delay": 0,
                             "fields": {"title": "a.t", "url": "a.t", "grade": "span.g", "subject": "span.s"},
                         })
        scheduler = create_scheduler(store, settings)
        done = threading.Event()
        scheduler.add_listener(lambda event: done.set(), EVENT_JOB_EXECUTED)
        scheduler.start()
        try:
            assert sync_jobs(store, scheduler).added == ["catalogue"]
            assert done.wait(30), "the scheduled harvest did not run within 30 s"
        finally:
            scheduler.shutdown(wait=True)
        assert site.requested("/plain/catalogue.html")
    run = store.last_run("catalogue")
    assert run.status == "succeeded" and run.added == 3
    assert store.count_records(source="catalogue") == 3
    (job,) = _jobs(store, settings).values()
    assert job[1] > datetime.now(SHANGHAI) + timedelta(minutes=59)  # next run: an hour after this one


def test_max_instances_keeps_one_harvest_per_source(store: Store, settings: Settings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that fires every second while each harvest takes 1.5 s never overlaps itself."""
    import harvester.runner

    lock = threading.Lock()
    running, most, calls = 0, 0, 0

    def slow_harvest(_store: Store, name: str, **_kwargs: object) -> object:
        nonlocal running, most, calls
        with lock:
            running, calls = running + 1, calls + 1
            most = max(most, running)
        time.sleep(1.5)
        with lock:
            running -= 1
        return type("Run", (), {"id": calls, "status": "succeeded", "message": None})()

    monkeypatch.setattr(harvester.runner, "harvest_source", slow_harvest)
    store.add_source("busy", "crawl", "https://busy.example.cn/", schedule="interval:1")
    scheduler = create_scheduler(store, settings, workers=4)
    refused = threading.Event()
    scheduler.add_listener(lambda event: refused.set(), EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    try:
        sync_jobs(store, scheduler)
        assert refused.wait(10), "no run was refused for max_instances"
        deadline = time.monotonic() + 10
        while calls < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert calls >= 2 and most == 1


def test_a_job_for_a_source_gone_since_does_nothing(store: Store, settings: Settings) -> None:
    key = schedule.register(store, settings)
    schedule.run_source(key, "no-such-source")  # logs and returns: the next sync removes the job
    with pytest.raises(RuntimeError, match="not open in this process"):
        schedule.run_source("0" * 16, "x")


def _huiju(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "repository", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_schedule_list_command(fast_env: dict[str, str], store: Store) -> None:
    assert "no source has a schedule" in _huiju(fast_env, "schedule", "list").stdout
    store.add_source("city", "oai", "https://oai.example.cn/oai", level="municipal", schedule="0 3 * * *")
    store.add_source("typo", "oai", "https://t.example.cn/oai", level="school", schedule="sometimes")
    done = store.finish_run(store.start_run("typo"), "failed")
    out = _huiju(fast_env, "schedule", "list").stdout
    assert "city" in out and "0 3 * * *" in out and " 03:00*" in out and "last: never" in out
    assert f"last: failed {store.get_run(done.id).started.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" in out
    assert "typo" in out and "NOT SCHEDULED" in out and "not understood" in out


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_schedule_run_stops_cleanly_on_a_signal(fast_env: dict[str, str], store: Store, stop: int) -> None:
    store.add_source("city", "oai", "https://oai.example.cn/oai", level="municipal", schedule="0 3 * * *")
    worker = subprocess.Popen([sys.executable, "-m", "repository", "schedule", "run"], cwd=ROOT,
                              env={**os.environ, **fast_env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = worker.stdout.readline()
            lines.append(line)
            if "scheduler running" in line or not line:
                break
        assert "scheduler running: 1 source(s) scheduled" in "".join(lines), "".join(lines)
        worker.send_signal(stop)
        out, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, out
    assert "stopping" in out and "scheduler stopped" in out
    assert "scheduled: city" in "".join(lines)
