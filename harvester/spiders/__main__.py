"""``python -m harvester.spiders JOB.json [--out-fd N]``: one crawl, in its own process.

Twisted's reactor cannot be restarted, so every crawl runs here, in a fresh
interpreter started by harvester/crawl.py; events go out as JSON lines on
the inherited file descriptor (stdout when none is given), logs to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harvester.spiders.protocol import CrawlJob, Done, Event, encode
from harvester.spiders.settings import crawl_settings, spider_class


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harvester.spiders", description=__doc__)
    parser.add_argument("job", type=Path, help="CrawlJob as JSON (written by harvester.crawl)")
    parser.add_argument("--out-fd", type=int, help="file descriptor for the event lines (default stdout)")
    args = parser.parse_args(argv)

    import msgspec
    from scrapy.crawler import CrawlerProcess

    job = msgspec.json.decode(args.job.read_bytes(), type=CrawlJob)
    out = os.fdopen(args.out_fd, "wb") if args.out_fd is not None else sys.stdout.buffer

    def sink(event: Event) -> None:
        out.write(encode(event) + b"\n")
        out.flush()

    process = CrawlerProcess(crawl_settings(job))
    crawler = process.create_crawler(spider_class(job.spider))
    process.crawl(crawler, job=job, sink=sink)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    sink(Done(stats={k: v if isinstance(v, (int, float, str)) else str(v) for k, v in stats.items()}))
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
