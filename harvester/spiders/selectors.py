"""CSS or XPath selectors from a source's options, applied with parsel.

One spelling rule for operators: an expression starting with ``/``, ``./``,
``(`` or ``xpath:`` is XPath, anything else (or ``css:…``) is CSS, so
``h1.title::text`` and ``//h1[@class="title"]`` both work. Kept free of
Scrapy so the parent checks selectors before it starts a crawl.
"""

from __future__ import annotations

from parsel import Selector, SelectorList

from schemas.text import clean

_XPATH_STARTS = ("/", "./", "(", "..")


def select(node: Selector | SelectorList, expr: str) -> SelectorList:
    """Nodes (or strings, for ``::text``/``@attr``) the expression selects under ``node``."""
    if expr.startswith("xpath:"):
        return node.xpath(expr[6:])
    if expr.startswith("css:"):
        return node.css(expr[4:])
    if expr.startswith(_XPATH_STARTS):
        return node.xpath(expr)
    return node.css(expr)


def values(node: Selector | SelectorList, expr: str, *, link: bool = False) -> list[str]:
    """Cleaned, de-duplicated strings: an element gives its text, or with ``link`` its href/src."""
    out: list[str] = []
    for found in select(node, expr):
        if isinstance(found.root, str):
            text = found.root
        elif link:
            text = found.attrib.get("href") or found.attrib.get("src") or ""
        else:
            text = found.xpath("string(.)").get() or ""
        text = clean(text)
        if text and text not in out:
            out.append(text)
    return out


def check(expr: str, what: str) -> None:
    """ValueError naming the option when the expression does not parse."""
    try:
        select(Selector(text="<html></html>"), expr)
    except Exception as exc:  # cssselect and lxml raise their own error types
        raise ValueError(f"bad crawl option {what}: selector {expr!r} does not parse: {exc}") from None
