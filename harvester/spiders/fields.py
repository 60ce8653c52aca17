"""The field-mapping spider for plain HTML lists, driven by the source's selectors.

List pages give item links (``item_links``) and a next-page link
(``next_page``); the fields are read from each item page, or, with
``items``, from each item block on the list page itself. The strings go to
the parent, which maps them (harvester/spiders/mapping.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from parsel import Selector
from scrapy.http import HtmlResponse, Request, Response

from harvester.spiders.base import BaseSpider
from harvester.spiders.selectors import select, values


class FieldsSpider(BaseSpider):
    """Plain HTML: list pages → item pages → fields, all by configured selectors."""

    def extract(self, node: Selector, page_url: str) -> dict[str, list[str]]:
        """Strings per field; relative URLs are resolved by the mapping, against ``page_url``."""
        item = {name: values(node, expr, link=name == "url") for name, expr in self.job.fields.items()}
        return {name: found for name, found in item.items() if found}

    def links(self, response: Response, expr: str) -> list[str]:
        urls = [response.urljoin(v) for v in values(response, expr, link=True)]
        return [u for u in urls if self.allowed(u)]

    def parse_page(self, response: Response) -> Iterator[Request]:
        """A list page: inline items, links to item pages, the next list page."""
        items = []
        if self.job.items:
            items = [self.extract(block, response.url) for block in select(response, self.job.items)]
        self.page(response, "fields" if items else "list", body=bool(items), items=items)
        if self.job.item_links:
            for url in self.links(response, self.job.item_links):
                yield self.request(url, self.parse_item)
        if self.job.next_page:
            for url in self.links(response, self.job.next_page):
                yield self.request(url)

    def parse_item(self, response: Response, **_: Any) -> Iterator[Request]:
        """An item page; a sitemap or a non-HTML document met here goes the generic way."""
        if self.sitemap_body(response) is not None or not isinstance(response, HtmlResponse):
            yield from self.parse(response)
            return
        self.page(response, "fields", body=True, items=[self.extract(response.selector, response.url)])

    def sitemap_callback(self) -> Callable[..., Any]:
        return self.parse_item
