"""Scrapy spiders for the ``crawl`` source kind; they run in a child process (see __main__.py).

protocol.py (job and events) and mapping.py (fields → Record) import no
Scrapy, so the parent, harvester/crawl.py, can use them without a reactor.
"""
