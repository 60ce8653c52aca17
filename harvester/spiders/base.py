"""What both crawl spiders share: start, sitemaps, link following, failures, the media guard.

Spiders never map or store anything: they report each fetched document to
the parent as an event (harvester/spiders/protocol.py), so the one pipeline
in repository.ingest decides what becomes a record.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from harvester.spiders.protocol import CrawlJob, Event, Failure, Page

# Bodies a crawl may read; anything else (video, audio, images, office files) is cut off at the headers.
TEXTUAL = ("text/", "application/xhtml", "application/xml", "application/ld+json", "application/json",
           "application/rss", "application/atom")
ARCHIVED_XML = ("application/gzip", "application/x-gzip", "application/octet-stream")
_SITEMAP_ROOT = re.compile(rb"^\s*(?:<\?[^>]*\?>\s*|<!--.*?-->\s*)*<(?:\w+:)?(?:urlset|sitemapindex)[\s>]", re.S)


def content_type(headers: Any) -> str:
    value = headers.get(b"Content-Type") or b""
    return value.decode("latin-1").split(";")[0].strip().lower()


class BaseSpider(scrapy.Spider):
    """Starts from the job's URLs; subclasses say what a page is (parse_page) and what to follow."""

    name = "huiju"

    def __init__(self, job: CrawlJob, sink: Callable[[Event], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.sink = sink
        self.allowed_domains = list(job.allowed_domains)
        self._deny = [re.compile(p) for p in job.deny]

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> BaseSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_headers, signal=signals.headers_received)
        return spider

    # -- requests ----------------------------------------------------------------

    def request(self, url: str, callback: Callable[..., Any] | None = None) -> Request:
        headers = {"Cache-Control": "max-age=0"} if self.job.revalidate else {}
        return Request(url, callback=callback or self.parse, errback=self.failed, headers=headers)

    def allowed(self, url: str) -> bool:
        """In an allowed domain (or a subdomain), http(s), and not denied by the job."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https"):
            return False
        if not any(host == d or host.endswith("." + d) for d in self.allowed_domains):
            return False
        return not any(p.search(url) for p in self._deny)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.job.start_urls:
            yield self.request(url)
        if self.job.sitemaps_from_robots:
            roots = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.job.start_urls}
            for root in sorted(roots):
                yield self.request(f"{root}/robots.txt", callback=self.parse_robots)

    # -- responses ---------------------------------------------------------------

    def emit(self, event: Event) -> None:
        self.sink(event)

    def page(self, response: Response, kind: str, *, body: bool = False,
             items: list[dict[str, list[str]]] | None = None) -> None:
        self.emit(Page(url=response.url, status=response.status, kind=kind, cached="cached" in response.flags,
                       body=response.body if body else b"", items=items or []))

    def parse(self, response: Response, **_: Any) -> Iterator[Request]:
        body = self.sitemap_body(response)
        if body is not None:
            yield from self.parse_sitemap(response, body)
        elif isinstance(response, HtmlResponse) or "html" in content_type(response.headers):
            yield from self.parse_page(response)
        else:
            yield from self.parse_other(response)

    def parse_page(self, response: Response) -> Iterator[Request]:
        raise NotImplementedError

    def parse_other(self, response: Response) -> Iterator[Request]:
        self.page(response, "other")
        return iter(())

    def sitemap_callback(self) -> Callable[..., Any]:
        """Callback for the pages a sitemap lists."""
        return self.parse

    def parse_robots(self, response: Response) -> Iterator[Request]:
        self.page(response, "other")
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            if self.allowed(url):
                yield self.request(url)

    def sitemap_body(self, response: Response) -> bytes | None:
        """The sitemap XML when the response is one (plain or gzipped), else None."""
        body = response.body
        if gzip_magic_number(response):
            try:
                body = gunzip(body, max_size=self.job.max_bytes)
            except Exception:  # a corrupt or oversized archive is no sitemap
                return None
        if isinstance(response, (XmlResponse, TextResponse)) or response.url.endswith((".xml", ".gz")):
            if _SITEMAP_ROOT.match(body[:4096]):
                return body
        return None

    def parse_sitemap(self, response: Response, body: bytes) -> Iterator[Request]:
        self.page(response, "sitemap")
        sitemap = Sitemap(body)
        callback = self.parse if sitemap.type == "sitemapindex" else self.sitemap_callback()
        for entry in sitemap:
            loc = (entry.get("loc") or "").strip()
            if loc and self.allowed(loc):
                yield self.request(loc, callback)

    # -- failures and the media guard ---------------------------------------------

    def failed(self, failure: Any) -> None:
        """Report a request that gave no page; robots.txt, off-site and media refusals are skips."""
        exc, url = failure.value, failure.request.url
        if isinstance(exc, HttpError):
            status = exc.response.status
            self.emit(Failure(url=url, reason=f"HTTP {status}", status=status))
        elif isinstance(exc, StopDownload):
            self.emit(Failure(url=url, reason="not a page (media or binary): not downloaded", skipped=True))
        elif isinstance(exc, IgnoreRequest):
            self.emit(Failure(url=url, reason=str(exc) or "ignored", skipped=True))
        else:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if "max size" in reason or "maxsize" in reason:
                reason = f"larger than max_bytes ({self.job.max_bytes} bytes): not downloaded"
            self.emit(Failure(url=url, reason=reason[:300]))

    def on_headers(self, headers: Any, request: Request, **_: Any) -> None:
        """Stop before the body when the server announces media rather than a page."""
        kind = content_type(headers)
        if not kind or kind.startswith(TEXTUAL):
            return
        if kind in ARCHIVED_XML and urlsplit(request.url).path.endswith((".xml", ".gz")):
            return
        raise StopDownload(fail=True)

    def follow_links(self, response: Response, extractor: LinkExtractor) -> Iterator[Request]:
        for link in extractor.extract_links(response):
            if self.allowed(link.url):
                yield self.request(link.url)
