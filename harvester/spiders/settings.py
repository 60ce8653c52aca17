"""Scrapy settings for one crawl job: polite, cached, capped, no media.

Why each: robots.txt is obeyed and AutoThrottle adapts to the server
(sources are often a school's small box); the HTTP cache with the RFC 2616
policy makes a recrawl conditional (If-None-Match / If-Modified-Since: an
unchanged page costs a 304 and is read from the cache; see harvester/crawl.py
for ``revalidate``); DOWNLOAD_MAXSIZE caps a body; no item
or media pipelines exist, and the media guard in base.py stops at headers.
"""

from __future__ import annotations

from typing import Any

from harvester.spiders.protocol import CrawlJob


def crawl_settings(job: CrawlJob) -> dict[str, Any]:
    delay = max(job.delay, 0.0)
    return {
        "BOT_NAME": "huiju",
        "USER_AGENT": job.user_agent,
        "ROBOTSTXT_OBEY": True,
        # a delay of 0 is a source configured as local/unthrottled (the demo's platforms): AutoThrottle
        # would still space requests by latency / concurrency, and one request per gap is the ceiling
        "AUTOTHROTTLE_ENABLED": delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(delay, 0.05),
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(job.concurrency),
        "DOWNLOAD_DELAY": delay,
        "CONCURRENT_REQUESTS": job.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": job.concurrency,
        # spiders yield requests, never items: Scrapy starts this many asyncio workers per response to
        # process its output, and the default 100 was ~40 % of a crawl's CPU time
        "CONCURRENT_ITEMS": 4,
        "DOWNLOAD_TIMEOUT": job.timeout,
        "DOWNLOAD_MAXSIZE": job.max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_TIMES": job.retries,
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.RFC2616Policy",
        "HTTPCACHE_STORAGE": "scrapy.extensions.httpcache.FilesystemCacheStorage",
        "HTTPCACHE_DIR": job.cache_dir,
        "HTTPCACHE_GZIP": True,
        # revalidating anyway (max-age=0 on every request), so a response's no-cache must not
        # make Scrapy's policy drop the validators and fetch the whole page again
        "HTTPCACHE_IGNORE_RESPONSE_CACHE_CONTROLS": ["no-cache"] if job.revalidate else [],
        "DEPTH_LIMIT": job.max_depth,
        "CLOSESPIDER_PAGECOUNT": job.max_pages,
        "CLOSESPIDER_TIMEOUT": job.max_seconds,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "ITEM_PIPELINES": {},
        "LOG_LEVEL": "INFO",
    }


def spider_class(name: str) -> type:
    from harvester.spiders.fields import FieldsSpider
    from harvester.spiders.site import SiteSpider

    return {"lrmi": SiteSpider, "fields": FieldsSpider}[name]
