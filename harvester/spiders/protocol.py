"""What the crawl parent and its Scrapy child say to each other.

The parent (harvester/crawl.py) turns a source into a `CrawlJob`, writes it to
a file and starts ``python -m harvester.spiders JOB --out-fd N``; the child
writes one JSON line per event (`Page`, `Failure`, `Done`) to that pipe. The
types live here, free of Scrapy and of the store, so both sides agree on them
and the options are checked before any process starts.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

import msgspec

SPIDERS = ("lrmi", "fields")
FIELDS = (
    "title", "description", "keywords", "stage", "school_system", "grade", "subject", "edition", "volume",
    "chapter", "class_hour", "resource_type", "teacher", "school", "duration", "url",
)


class CrawlOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A crawl source's ``options`` (docs/harvesting.md, "Crawling"); unknown keys are refused."""

    label: str = ""  # the platform name shown to teachers (every kind accepts it)
    local_links: bool | list[str] = False  # for the link checker (repository/checks/links.py; every kind has it)
    spider: Literal["lrmi", "fields"] = "lrmi"
    start_urls: list[str] = []
    sitemaps_from_robots: bool = False
    allowed_domains: list[str] = []
    follow: list[str] = []
    deny: list[str] = []
    item_pages: str = ""
    concurrency: int = 2
    delay: float | None = None
    max_pages: int = 10_000
    max_depth: int = 0
    max_bytes: int | None = None
    max_seconds: float = 0.0
    timeout: float | None = None
    retries: int | None = None
    revalidate: bool = True
    user_agent: str = ""
    batch_size: int = 100
    item_links: str = ""
    items: str = ""
    next_page: str = ""
    fields: dict[str, str] = {}


class CrawlJob(msgspec.Struct, kw_only=True):
    """Everything the child needs, resolved: it reads no settings and opens no store."""

    source: str
    spider: str
    start_urls: list[str]
    allowed_domains: list[str]
    cache_dir: str
    user_agent: str
    follow: list[str] = []
    deny: list[str] = []
    sitemaps_from_robots: bool = False
    concurrency: int = 2
    delay: float = 1.0
    max_pages: int = 10_000
    max_depth: int = 0
    max_bytes: int = 64 * 1024 * 1024
    max_seconds: float = 0.0
    timeout: float = 30.0
    retries: int = 2
    revalidate: bool = True
    item_links: str = ""
    items: str = ""
    next_page: str = ""
    fields: dict[str, str] = {}


class Page(msgspec.Struct, tag="page"):
    """One fetched document. ``kind``: sitemap | list | lrmi (map the body) | fields (map the items) | other."""

    url: str
    status: int
    kind: str
    cached: bool = False
    body: bytes = b""
    items: list[dict[str, list[str]]] = []


class Failure(msgspec.Struct, tag="failure"):
    """A request that gave no page. ``skipped`` ones (robots.txt, off-site, media) are not errors."""

    url: str
    reason: str
    status: int = 0
    skipped: bool = False


class Done(msgspec.Struct, tag="done"):
    """Scrapy's own counters at the end of the crawl (pages, cache hits, robots.txt refusals…)."""

    stats: dict[str, int | float | str] = {}


Event = Page | Failure | Done
encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder(Event).decode


def parse_options(options: dict[str, object] | None) -> CrawlOptions:
    """Checked options, with a clear error naming the bad key or value."""
    try:
        parsed = msgspec.convert(options or {}, CrawlOptions, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"bad crawl option: {exc}") from None
    for pattern in (*parsed.follow, *parsed.deny, *([parsed.item_pages] if parsed.item_pages else [])):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad crawl option: regular expression {pattern!r}: {exc}") from None
    if parsed.concurrency < 1 or parsed.max_pages < 1 or parsed.batch_size < 1:
        raise ValueError("bad crawl option: concurrency, max_pages and batch_size must be at least 1")
    unknown = sorted(set(parsed.fields) - set(FIELDS))
    if unknown:
        raise ValueError(f"bad crawl option: unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    if parsed.spider == "fields":
        if not parsed.fields.get("title"):
            raise ValueError("bad crawl option: the fields spider needs fields.title (a CSS or XPath selector)")
        if not (parsed.item_links or parsed.items):
            raise ValueError("bad crawl option: the fields spider needs item_links (links to item pages) "
                             "or items (item blocks on the list pages)")
    return parsed


def start_urls(location: str, options: CrawlOptions) -> list[str]:
    """The location first, then any extra start URLs; each must be http(s)."""
    urls = [u for u in [location, *options.start_urls] if u]
    if not urls:
        raise ValueError("a crawl source needs a location: a site root, list page or sitemap.xml URL")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"crawl start URL must be http(s)://host/…: {url!r}")
    return urls


def domains(urls: list[str], options: CrawlOptions) -> list[str]:
    """Allowed domains: as configured, else the hosts of the start URLs (subdomains included)."""
    if options.allowed_domains:
        return list(options.allowed_domains)
    found: list[str] = []
    for url in urls:
        host = urlsplit(url).hostname or ""
        if host and host not in found:
            found.append(host)
    return found
