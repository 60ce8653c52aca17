"""`huiju demo`: the main job out of the box, on six simulated platforms.

It starts the platforms (harvester/demo, a child process of HTTP servers on
127.0.0.1), registers them as sources (idempotent), harvests each through
the real harvesters, groups records into works, applies the review policy
(national and municipal sources are trusted and auto-approved; the district
platforms, the library and the partner wait in the review queue), rebuilds
the search index and keeps a curator account whose password lives in
<INSTANCE_PATH>/demo/curator-password. `huiju demo --tick` moves the
platforms on (adds, edits and deletes lessons) for the next harvest.
See docs/demo.md.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sql_select

from harvester.demo.platforms import BY_NAME, PLATFORMS, TRUSTED, count
from harvester.demo.sites import NATIONAL_ROOT
from harvester.demo.state import DemoState
from harvester.processes import stop_process
from harvester.sources import SourceSpec, register
from repository.models import Quarantine, RecordRow, User, Work
from repository.settings import Settings
from repository.store import Store
from repository.worker_pool import worker_count

ROOT = Path(__file__).resolve().parent.parent
CURATOR = "curator"
PASSWORD_FILE = "curator-password"
STARTUP_TIMEOUT = 60.0



def demo_folder(settings: Settings) -> Path:
    return settings.instance_path / "demo"


class DemoPlatforms:
    """The platforms' child process for the duration of a with-block (SIGTERM stops it too)."""

    def __init__(self, settings: Settings, *, size: int | None = None, host: str = "127.0.0.1") -> None:
        self.folder, self.host = demo_folder(settings), host
        self.state = DemoState.load(self.folder)
        if size:
            self.state.size = size
        self.bases: dict[str, str] = {}
        self.moved: list[str] = []
        self._child: subprocess.Popen[bytes] | None = None
        self._previous: Any = None

    def __enter__(self) -> DemoPlatforms:
        self.state.save(self.folder)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        log = (self.folder / "platforms.log").open("ab")
        self._child = subprocess.Popen(
            [sys.executable, "-m", "harvester.demo", str(self.folder), "--host", self.host,
             "--ports", json.dumps(self.state.ports)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True)
        log.close()
        self._previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            ports = self._ready()
        except BaseException:
            self.stop()
            raise
        self.moved = sorted(k for k, v in ports.items() if self.state.ports.get(k) not in (None, v))
        self.state.ports = ports
        self.state.save(self.folder)
        self.bases = {name: f"http://{self.host}:{port}" for name, port in ports.items()}
        return self

    def _ready(self) -> dict[str, int]:
        assert self._child is not None and self._child.stdout is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                break
            readable, _, _ = select.select([self._child.stdout], [], [], 0.2)
            if readable:
                line = self._child.stdout.readline()
                if line:
                    return {k: int(v) for k, v in json.loads(line)["ports"].items()}
        tail = (self.folder / "platforms.log").read_text("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError("the demo platforms did not start: " + " | ".join(tail))

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        stop_process(child)
        if child.stdout:
            child.stdout.close()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


# -- sources --------------------------------------------------------------------------------------

def source_specs(bases: dict[str, str], state: DemoState) -> list[SourceSpec]:
    """One source per platform section; crawls stay on their own site (all share 127.0.0.1)."""
    def crawl(**options: Any) -> dict[str, Any]:
        return {"concurrency": 8, "delay": 0, "max_pages": state.size + 10_000, **options}

    haidian, chaoyang = bases["haidian"], bases["chaoyang"]
    cell = '//table[@class="zy-info"]//th[.="{}"]/following-sibling::td[1]'
    fields = {"title": "h2.zy-title", "description": "div.zy-summary", "stage": cell.format("学段"),
              "grade": cell.format("年级"), "subject": cell.format("学科"), "edition": cell.format("版本"),
              "volume": cell.format("册次"), "chapter": cell.format("章节") + "/span",
              "class_hour": cell.format("课时"), "resource_type": cell.format("资源类型"),
              "teacher": cell.format("授课教师"), "school": cell.format("学校"), "keywords": cell.format("关键词")}
    found = {
        "national": ("smartedu", f"{bases['national']}{NATIONAL_ROOT}/data_version.json", {}),
        "municipal": ("oai", f"{bases['municipal']}/oai", {"prefix": "lom"}),
        "haidian": ("crawl", f"{haidian}/", crawl(spider="lrmi", sitemaps_from_robots=True,
                    follow=[f"^{re.escape(haidian)}/course/"], item_pages=r"/course/lesson-\d+\.html$")),
        "chaoyang": ("crawl", f"{chaoyang}/kc/index.shtml", crawl(spider="lrmi", sitemaps_from_robots=True,
                     follow=[f"^{re.escape(chaoyang)}/kc/"], item_pages=r"/kc/\d{4}/\d+\.shtml$")),
        "chaoyang-archive": ("crawl", f"{chaoyang}/zyk/list_1.html", crawl(spider="fields",
                             item_links="ul.zy-list a.zy-link", next_page="div.pager a.next", fields=fields)),
        "library": ("marc", f"{bases['library']}/export/catalogue.xml", {"format": "marcxml"}),
        "partner": ("rdf", f"{bases['partner']}/dump/resources.ttl", {}),
    }
    # local_links: the platforms are on 127.0.0.1, which the link checker refuses for any other source
    return [SourceSpec(name, kind, location, BY_NAME[name].level,
                       {**options, "label": BY_NAME[name].label, "local_links": True}, auto_approve=name in TRUSTED)
            for name, (kind, location, options) in found.items()]


# -- the run --------------------------------------------------------------------------------------

def prepare_demo(store: Store, settings: Settings, platforms: DemoPlatforms, *, site: str | None,
                 links: bool = True) -> Iterator[str]:
    """Register, harvest, dedupe, review, index, curator; yields what it does, line by line."""
    state = platforms.state
    yield (f"Huiju demo: {len(PLATFORMS) - 1} platforms, {sum(count(p.name, state) for p in PLATFORMS):,} records "
           f"(size {state.size:,}, seed {state.seed}, tick {state.tick}); instance {settings.instance_path}")
    if platforms.moved:
        yield f"  note: port(s) of {', '.join(platforms.moved)} were taken and changed; their pages get new URLs"
    specs = source_specs(platforms.bases, state)
    changes = dict(register(store, specs))
    for spec in specs:
        label = BY_NAME[spec.name].label
        yield f"  {spec.name:17} {spec.kind:8} {label}  {spec.location}  [{changes[spec.name]}]"
    quiet = logging.getLogger("harvester")
    level = quiet.level
    quiet.setLevel(max(quiet.getEffectiveLevel(), logging.ERROR))  # each run's line already says its problems
    try:
        yield from harvest_all(store, settings, [s.name for s in specs])
    finally:
        quiet.setLevel(level)
    yield from review_and_works(store, settings, links=links)
    username, password, note = ensure_curator(store, platforms.folder)
    yield f"curator login: {username} / {password}  ({note})"
    if site:
        yield f"Open {site}  (Ctrl-C stops the site and the platforms; `huiju demo --tick` in another terminal, " \
              "then `huiju harvest --all`, shows lessons added, edited and deleted)"
    else:
        yield "prepared (--no-serve): `huiju demo` serves the site with the platforms running"


FEED_PROCESSES = 2
"""Feeds harvested at once, each in a process of its own: a feed's mapping, checks and store writes are
Python, so feeds that shared this process shared one core (and a feed also waits on its platform, another
process); the crawls stay in this process, beside them."""


def harvest_all(store: Store, settings: Settings, names: list[str]) -> Iterator[str]:
    """Harvest every source: the feeds FEED_PROCESSES at a time in processes of their own, the crawls one
    after another in a thread here (a crawl's fetching is done by its Scrapy child process). Each source's
    lines come in registration order, the crawls' after the feeds'. Ctrl-C ends the feed processes at once."""
    from concurrent.futures import ThreadPoolExecutor

    yield f"harvesting {len(names)} sources:"
    crawls = [n for n in names if (source := store.get_source(n)) is not None and source.kind == "crawl"]
    crawl_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-crawl")
    feed_pool = _spawned_pool(FEED_PROCESSES)
    try:
        pending: dict[str, Any] = {name: crawl_pool.submit(_harvest_one, store, settings, name) for name in crawls}
        feeds = {name: feed_pool.apply_async(_harvest_in_process, (settings, name)) for name in names
                 if name not in pending}
        for name in [n for n in names if n not in crawls]:
            yield from feeds[name].get()
        feed_pool.close()
        for name in crawls:
            yield from pending[name].result()
    finally:
        feed_pool.terminate()  # Ctrl-C or a failure: the feeds stop now (they are done otherwise)
        crawl_pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: stop the platforms without waiting


def _spawned_pool(processes: int) -> Any:
    """A pool of spawned processes (never forked: this one holds threads and connections) that leave Ctrl-C
    to this one, which ends them (one report, no tracebacks)."""
    return multiprocessing.get_context("spawn").Pool(processes, initializer=_ignore_interrupts)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _process_store(settings: Settings) -> Iterator[Store]:
    """A spawned process's own logging and store connection, closed when its job is done."""
    logging.basicConfig(level=settings["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = Store(settings.database_url, busy_timeout=settings["DATABASE_BUSY_TIMEOUT"])
    try:
        yield store
    finally:
        store.close()


def _harvest_in_process(settings: Settings, name: str) -> list[str]:
    """One feed's harvest in a spawned process."""
    with _process_store(settings) as store:
        logging.getLogger("harvester").setLevel(logging.ERROR)  # as in prepare_demo: the run's line says it all
        return _harvest_one(store, settings, name)


def _harvest_one(store: Store, settings: Settings, name: str) -> list[str]:
    from harvester.runner import HarvestBusy, harvest_source

    started = last = time.monotonic()

    def progress(p: Any) -> None:
        nonlocal last
        if time.monotonic() - last >= 5.0:
            last = time.monotonic()
            print(f"    {name}: {p.records:,} records so far, {p.rate:,.0f}/s", flush=True)

    try:
        run = harvest_source(store, name, progress=progress, settings=settings)
    except HarvestBusy as exc:
        return [f"  {name:17} skipped: {exc}"]
    took = time.monotonic() - started
    lines = [f"  {name:17} {run.status}: {run.added} added, {run.updated} updated, {run.deleted} deleted, "
             f"{run.unchanged} unchanged, {run.quarantined} quarantined ({took:.1f} s)"]
    if run.message:
        lines.append(f"    {run.message[:200]}")
    return lines


def review_and_works(store: Store, settings: Settings, *, links: bool = True) -> Iterator[str]:
    from repository.publication import approve_source, refresh
    from repository.search import open_backend, reindex
    from repository.works import dedupe

    approved = sum(approve_source(store, name, actor="demo-policy").changed for name in TRUSTED)
    started = time.monotonic()
    report = dedupe(store, settings.instance_path / "dedup" / "state.bin")
    deduped = time.monotonic()
    beside = worker_count(report.records_in_works) > 0
    pool = _spawned_pool(1) if beside else None
    try:
        checks = pool.apply_async(_checks_in_process, (settings,)) if pool else None
        refresh(store, actor="demo-policy")
        steps = {**report.seconds, "publication": time.monotonic() - deduped}
        yield f"works: {report.summary()} ({time.monotonic() - started:.1f} s)"
        yield "    " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())
        if checks is None:
            yield from run_demo_checks(store, settings, links=False)
        with open_backend(settings) as backend:
            indexed = reindex(store, backend)
        if checks is not None:
            yield from checks.get()
    finally:
        if pool is not None:
            pool.terminate()  # Ctrl-C or a failure: the checks stop now (they are done otherwise)
    with store.session() as s:
        live = (RecordRow.deleted.is_(False),)
        pending = s.scalar(sql_select(func.count()).select_from(RecordRow)
                           .where(*live, RecordRow.review_status == "pending")) or 0
        spans = sql_select(RecordRow.work_id).where(*live, RecordRow.work_id.is_not(None)).group_by(
            RecordRow.work_id).having(func.count(func.distinct(RecordRow.source_id)) >= 3)
        wide = s.scalar(sql_select(func.count()).select_from(spans.subquery())) or 0
        published = s.scalar(sql_select(func.count()).select_from(Work).where(Work.published.is_(True))) or 0
        quarantined = s.scalar(sql_select(func.count()).select_from(Quarantine)) or 0
    yield (f"  {wide} works hold records from 3 or more sources; {published} works published "
           f"(trusted: {', '.join(TRUSTED)}{f', {approved} records approved now' if approved else ''})")
    yield f"review queue: {pending} records pending (district platforms, library, partner); {quarantined} in quarantine"
    yield f"search index: {indexed} works indexed"
    if links:
        yield from run_demo_checks(store, settings, links=True)
    else:
        yield "link checks: skipped (--no-link-checks; `huiju checks run --links` does them)"


def run_demo_checks(store: Store, settings: Settings, *, links: bool) -> Iterator[str]:
    """The automatic checks after dedupe (duplicates are known now: only those results change), then,
    once everything is indexed, the link checks of every record (the platforms are up).

    Link checks are network round trips, not ingest: a teacher can search while they run in
    production (a scheduled `huiju checks run --links`), and the demo reports them on their own line.
    """
    from repository.checks.runner import run_checks

    report = run_checks(store, settings, links=links)
    yield f"{'link checks' if links else 'checks'}: {report.summary()}".replace("\n", "\n  ")


def _checks_in_process(settings: Settings) -> list[str]:
    """The checks dedupe made due, in a spawned process beside the publication refresh and the reindex:
    they read only records and works, and both of those are one core's work (at 1,000,000 records the
    checks were 62 s on their own, with the other core idle)."""
    with _process_store(settings) as store:
        first, newline, rest = next(run_demo_checks(store, settings, links=False)).partition("\n")
        return [f"{first} (beside publication and the index){newline}{rest}"]


def ensure_curator(store: Store, folder: Path) -> tuple[str, str, str]:
    """The curator account: password generated once, kept in the demo folder, printed every time."""
    from werkzeug.security import check_password_hash, generate_password_hash

    path = folder / PASSWORD_FILE
    fresh = not path.exists()
    if fresh:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(12) + "\n")
    password = path.read_text("utf-8").strip()
    with store.session(write=True) as s:
        user = s.scalar(sql_select(User).where(User.username == CURATOR))
        if user is None:
            s.add(User(username=CURATOR, password_hash=generate_password_hash(password), role="curator"))
            return CURATOR, password, f"account created; password kept in {path}"
        if fresh:
            user.password_hash = generate_password_hash(password)
            return CURATOR, password, f"password reset; kept in {path}"
        if not check_password_hash(user.password_hash, password):
            return CURATOR, password, f"changed since on the site: {path} is out of date"
    return CURATOR, password, f"kept in {path}"


def tick_demo(settings: Settings) -> Iterator[str]:
    """Advance the platforms one tick: what changed, per platform."""
    from harvester.demo.platforms import added_per_tick, item

    folder = demo_folder(settings)
    state = DemoState.load(folder)
    tick = state.advance()
    state.save(folder)
    yield f"tick {tick} at {state.ticks[-1]}: the platforms changed (size {state.size:,})"
    for platform in PLATFORMS:
        before = count(platform.name, state) - added_per_tick(platform.name, state.size)
        edited = deleted = 0
        for i in range(before):
            it = item(state, platform.name, i)
            if it.changed == tick:
                deleted += it.deleted
                edited += not it.deleted
        yield (f"  {platform.name:17} {added_per_tick(platform.name, state.size)} added, {edited} edited, "
               f"{deleted} deleted")
    yield "harvest them with `huiju harvest --all` while `huiju demo` serves the platforms (or run `huiju demo`)"
