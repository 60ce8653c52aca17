"""The generic spider: every HTML (or JSON-LD) page goes to the parent to be read as LRMI.

It follows sitemaps and in-domain links (narrowed by the ``follow`` and
``deny`` patterns); which pages carry learning resources is decided by
schemas.crosswalks.lrmi in the parent, not guessed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Request, Response
from scrapy.linkextractors import LinkExtractor

from harvester.spiders.base import BaseSpider, content_type


class SiteSpider(BaseSpider):
    """schema.org LearningResource / LRMI pages: JSON-LD, microdata, RDFa."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # domains are checked by self.allowed(): LinkExtractor's allow_domains compares host:port
        self.links = LinkExtractor(allow=self.job.follow, deny=self.job.deny)

    def parse_page(self, response: Response) -> Iterator[Request]:
        self.page(response, "lrmi", body=True)
        yield from self.follow_links(response, self.links)
        # <link rel="alternate" type="application/ld+json" href="…">: the page's own description
        for href in response.css('link[type="application/ld+json"]::attr(href)').getall():
            url = response.urljoin(href)
            if self.allowed(url):
                yield self.request(url)

    def parse_other(self, response: Response) -> Iterator[Request]:
        kind = content_type(response.headers)
        self.page(response, "lrmi" if "json" in kind else "other", body="json" in kind)
        return iter(())
