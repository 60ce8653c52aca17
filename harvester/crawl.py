"""The "crawl" kind: a Scrapy crawl of a web site, mapped and stored like any harvest.

Process model. Twisted's reactor can run once per process, and a scheduler
or a test harvests many times in one process, so each crawl runs Scrapy in a
fresh child (``python -m harvester.spiders JOB.json --out-fd N``). The child
only fetches: it sends each page to this process as a JSON line on a pipe
(harvester/spiders/protocol.py). This process maps the pages (LRMI via
schemas.crosswalks.lrmi, plain HTML fields via harvester/spiders/mapping.py)
and stores them through repository.ingest.store_results, the one pipeline,
keeping each page as its records' raw payload so they can be mapped again:
format "lrmi" is the page's bytes, exactly what lrmi.read maps (records are
stored as the crosswalk maps them, untouched, so a remap gives the same);
format "crawl-fields" is the page's bytes with its URL and the item's
scraped strings (mapping.read). So the child never opens the store, and a
crash of Scrapy cannot leave a half-written batch.

Caching. Scrapy's HTTP cache with the RFC 2616 policy lives in
<INSTANCE_PATH>/crawl-cache/<source>. By default (option ``revalidate``)
every recrawl revalidates: requests say ``Cache-Control: max-age=0``, so a
cached page is asked for with If-None-Match / If-Modified-Since and an
unchanged one costs a 304 and is read from the cache; a server's heuristic
freshness can never hide a change. With ``revalidate: false`` the server's
own freshness is obeyed (a page marked fresh is not requested at all). Cached
pages are still mapped, so their records count as seen (unchanged).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harvester.http import user_agent
from harvester.processes import stop_process
from harvester.runner import HarvestFailed, Reporter
from harvester.spiders.mapping import FIELDS_FORMAT, fields_payload, record_from_fields
from harvester.spiders.protocol import (
    CrawlJob,
    CrawlOptions,
    Done,
    Event,
    Failure,
    Page,
    decode,
    domains,
    encode,
    parse_options,
    start_urls,
)
from harvester.spiders.selectors import check
from repository.ingest import store_results
from repository.settings import Settings
from repository.store import Store
from schemas.crosswalks import ReadResult, Rejected, lrmi
from schemas.record import Record

NO_DESCRIPTIONS = "no schema.org learning resource descriptions"
_ROOT = Path(__file__).resolve().parent.parent
_CHECKPOINT_EVERY = 25  # pages between run-row updates


@dataclass
class CrawlStats:
    """What a crawl did, kept in the run's checkpoint (the resumption state is the HTTP cache)."""

    pages: int = 0
    cached: int = 0
    records: int = 0
    without_items: int = 0
    skipped: int = 0
    failed: int = 0
    robots_forbidden: int = 0
    first_failure: str = ""
    scrapy: dict[str, Any] = field(default_factory=dict)


def cache_dir(settings: Settings, name: str) -> Path:
    """<INSTANCE_PATH>/crawl-cache/<source>, the name made safe for a file system."""
    safe = re.sub(r"[^\w.-]", "_", name)
    if safe != name:
        safe += "-" + hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
    return settings.instance_path / "crawl-cache" / safe


def make_job(source: Any, settings: Settings) -> tuple[CrawlJob, CrawlOptions]:
    """The child's job from the source row and settings; ValueError names a bad option."""
    options = parse_options(source.options)
    for name in ("item_links", "items", "next_page"):
        if getattr(options, name):
            check(getattr(options, name), name)
    for name, expr in options.fields.items():
        check(expr, f"fields.{name}")
    urls = start_urls(source.location, options)
    job = CrawlJob(
        source=source.name, spider=options.spider, start_urls=urls, allowed_domains=domains(urls, options),
        cache_dir=str(cache_dir(settings, source.name)),
        user_agent=options.user_agent or user_agent(settings["HARVEST_CONTACT"], settings["HARVEST_USER_AGENT"]),
        follow=options.follow, deny=options.deny, sitemaps_from_robots=options.sitemaps_from_robots,
        concurrency=options.concurrency,
        delay=options.delay if options.delay is not None else settings["HARVEST_DELAY"],
        max_pages=options.max_pages, max_depth=options.max_depth,
        max_bytes=options.max_bytes or settings["HARVEST_MAX_BYTES"], max_seconds=options.max_seconds,
        revalidate=options.revalidate,
        timeout=options.timeout if options.timeout is not None else settings["HARVEST_TIMEOUT"],
        retries=options.retries if options.retries is not None else settings["HARVEST_RETRIES"],
        item_links=options.item_links, items=options.items, next_page=options.next_page, fields=options.fields,
    )
    return job, options


def option_problems(location: str, options: dict[str, Any] | None) -> list[str]:
    """Why a crawl source's location or options cannot work ([] when they can), for registration."""
    source = SimpleNamespace(name="check", location=location, options=options or {})
    try:
        make_job(source, Settings())
    except ValueError as exc:
        return [str(exc)]
    return []


def crawl_events(job: CrawlJob) -> Iterator[Event]:
    """Run the crawl in a child process and yield its events as they arrive.

    Closing the generator early (the consumer failed) terminates the child.
    Raises HarvestFailed when the child exits with an error, with its log's tail.
    """
    with tempfile.TemporaryDirectory(prefix="huiju-crawl-") as tmp:
        job_path, log_path = Path(tmp, "job.json"), Path(tmp, "scrapy.log")
        job_path.write_bytes(encode(job))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
        read_fd, write_fd = os.pipe()
        with open(log_path, "wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "harvester.spiders", str(job_path), "--out-fd", str(write_fd)],
                pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=tmp,
            )
        os.close(write_fd)
        try:
            with os.fdopen(read_fd, "rb") as pipe:
                for line in pipe:
                    yield decode(line)
            code = child.wait()
        finally:
            stop_process(child)
        if code != 0:
            tail = log_path.read_text("utf-8", "replace").strip().splitlines()[-8:]
            raise HarvestFailed(f"crawl process exited with status {code}: " + " | ".join(tail)[-1500:])


class _PayloadOnce(dict[str, tuple[str, bytes]]):
    """Raw payloads by source record id, each dropped once store_results has taken it,
    so a long crawl holds only the pages of the batch being stored."""

    def __getitem__(self, key: str) -> tuple[str, bytes]:
        return self.pop(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self.pop(key, default)


def _where(url: str, locator: str) -> str:
    return url if not locator or locator == url else f"{url} ({locator})"


class _Mapper:
    """Events → ReadResults, counting as it goes and reporting progress per page."""

    def __init__(self, store: Store, run: Any, job: CrawlJob, options: CrawlOptions, progress: Reporter) -> None:
        self.store, self.run, self.job, self.progress = store, run, job, progress
        self.item_pages = re.compile(options.item_pages) if options.item_pages else None
        self.raw = _PayloadOnce()
        self.stats = CrawlStats()

    def results(self, events: Iterator[Event]) -> Iterator[ReadResult]:
        for event in events:
            if isinstance(event, Page):
                yield from self.page(event)
            elif isinstance(event, Failure):
                yield from self.failure(event)
            elif isinstance(event, Done):
                self.stats.scrapy = event.stats
                self.stats.robots_forbidden = int(event.stats.get("robotstxt/forbidden", 0))

    def page(self, page: Page) -> Iterator[ReadResult]:
        stats = self.stats
        stats.pages += 1
        stats.cached += page.cached
        found = 0
        if page.kind == "lrmi":
            for result in self.lrmi(page):
                if isinstance(result, Record):
                    found += 1
                    self.raw[result.source_record_id] = ("lrmi", page.body)
                yield result
        elif page.kind == "fields":
            for item in page.items:
                result = record_from_fields(item, source=self.job.source, page_url=page.url)
                if isinstance(result, Record):
                    found += 1
                    self.raw[result.source_record_id] = (FIELDS_FORMAT, fields_payload(page.url, item, page.body))
                else:
                    result = Rejected(reason=result.reason, locator=result.locator, stage=result.stage,
                                      raw=fields_payload(page.url, item, page.body))
                yield result
        stats.records += found
        if page.kind in ("lrmi", "fields") and not found:
            stats.without_items += 1
        self.progress.page(found)
        if stats.pages % _CHECKPOINT_EVERY == 0:
            self.checkpoint()

    def lrmi(self, page: Page) -> Iterator[ReadResult]:
        for result in lrmi.read(page.body, source=self.job.source):
            if isinstance(result, Record):
                yield result  # as the crosswalk maps it, so `huiju remap` of the page gives the same
            elif result.reason.startswith(NO_DESCRIPTIONS):
                if self.item_pages is not None and self.item_pages.search(page.url):
                    yield Rejected(reason=result.reason, locator=page.url, raw=page.body, stage="map")
            else:
                yield Rejected(reason=result.reason, locator=_where(page.url, result.locator), raw=page.body,
                               stage=result.stage)

    def failure(self, failure: Failure) -> Iterator[ReadResult]:
        if failure.skipped:
            self.stats.skipped += 1
            return
        self.stats.failed += 1
        self.stats.first_failure = self.stats.first_failure or f"{failure.url}: {failure.reason}"
        yield Rejected(reason=failure.reason, locator=failure.url, stage="fetch")

    def checkpoint(self) -> None:
        self.store.checkpoint(self.run, {"crawl": asdict(self.stats)}, pages=self.stats.pages)


def harvest(store: Store, source: Any, run: Any, progress: Reporter | None = None) -> None:
    """Crawl the source's site once; see the module docstring for how and why."""
    if progress is None:
        progress = Reporter(store, source, run, Settings())
    try:
        job, options = make_job(source, progress.settings)
    except ValueError as exc:
        raise HarvestFailed(str(exc)) from None
    Path(job.cache_dir).mkdir(parents=True, exist_ok=True)
    mapper = _Mapper(store, run, job, options, progress)
    store_results(store, source, mapper.results(crawl_events(job)), run=run,
                  batch_size=options.batch_size, raw=mapper.raw)
    mapper.checkpoint()
    stats = mapper.stats
    if stats.pages == 0:
        why = stats.first_failure or ("every start URL is forbidden by robots.txt" if stats.robots_forbidden
                                      else "nothing was reachable")
        raise HarvestFailed(f"no page fetched from {job.start_urls[0]}: {why}")
    if stats.failed:
        progress.error(f"{stats.failed} page(s) could not be fetched (quarantined, stage fetch); "
                       f"first: {stats.first_failure}")
