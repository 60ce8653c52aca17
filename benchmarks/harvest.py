"""OAI-PMH harvest throughput: a local generator server -> harvest_source -> a fresh SQLite store.

    .venv/bin/python benchmarks/harvest.py [--records 100000] [--page-size 500] [--db URL]

The server (a separate process, so it does not share the harvester's GIL)
generates oai_dc records that look like a district platform's lessons
(Chinese titles, curriculum subjects, descriptions) and chains pages with
resumption tokens. The harvest is the production path (runner, polite
client, per-record mapping, raw payloads, batched upserts); the benchmark
only wraps its stages with timers to split the wall time into fetch (HTTP,
including the server's generation), parse (page XML), map (per-record
serialisation + crosswalk) and store (validate + upsert + raw payloads +
checkpoints).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.machine import machine  # noqa: E402

STAGES = ("Identify", "初中", "小学", "高中")
SUBJECTS = ("数学", "语文", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治", "信息技术")
GRADES = {
    "小学": ("一年级", "三年级", "五年级"), "初中": ("七年级", "八年级", "九年级"), "高中": ("高一", "高二", "高三"),
}
EDITIONS = ("人教版", "北师大版", "苏教版", "沪教版")
TOPICS = (
    "勾股定理", "一元二次方程", "圆的面积", "光的折射", "化学反应速率", "细胞的结构", "古诗词鉴赏", "函数的单调性",
)

IDENTIFY = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-09-01T00:00:00Z</responseDate>
<request verb="Identify">http://127.0.0.1/oai</request><Identify><repositoryName>区资源平台</repositoryName>
<baseURL>http://127.0.0.1/oai</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>a@b.example</adminEmail>
<earliestDatestamp>2020-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent</deletedRecord>
<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>""".encode()


def record_xml(n: int) -> str:
    stage = STAGES[1 + n % 3]
    grade = GRADES[stage][n // 3 % 3]
    subject, edition, topic = SUBJECTS[n % 10], EDITIONS[n // 7 % 4], TOPICS[n // 11 % 8]
    hour = n % 3 + 1
    title = escape(f"{topic}（第{hour}课时）{subject}{grade} 第{n}号")
    return (
        f"<record><header><identifier>oai:district.example:{n}</identifier>"
        f"<datestamp>2024-0{1 + n % 9}-1{n % 10}T08:00:00Z</datestamp><setSpec>k12</setSpec></header>"
        "<metadata><oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" "
        "xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        f"<dc:title>{title}</dc:title><dc:creator>李老师{n % 97}</dc:creator>"
        f"<dc:subject>{stage}</dc:subject><dc:subject>{grade}</dc:subject><dc:subject>{subject}</dc:subject>"
        f"<dc:subject>{edition}</dc:subject><dc:subject>上册</dc:subject><dc:subject>第{hour}课时</dc:subject>"
        f"<dc:description>本课围绕“{topic}”展开，包含导入、新授、练习与小结四个环节，适合{grade}{subject}课堂使用。"
        "</dc:description>"
        f"<dc:publisher>某区教师发展中心</dc:publisher><dc:date>2023-0{1 + n % 9}-01</dc:date>"
        "<dc:type>教学设计</dc:type><dc:format>application/pdf</dc:format>"
        f"<dc:identifier>https://res.district.example/lesson/{n}</dc:identifier><dc:language>zh</dc:language>"
        "<dc:rights>CC BY-NC 4.0</dc:rights></oai_dc:dc></metadata></record>"
    )


def page(offset: int, size: int, total: int) -> bytes:
    end = min(offset + size, total)
    token = (f'<resumptionToken completeListSize="{total}" cursor="{offset}">{end}</resumptionToken>'
             if end < total else "")
    body = "".join(record_xml(n) for n in range(offset, end))
    return ('<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            "<responseDate>2024-09-01T00:00:00Z</responseDate><request verb=\"ListRecords\">http://127.0.0.1/oai"
            f"</request><ListRecords>{body}{token}</ListRecords></OAI-PMH>").encode()


def serve(port_pipe: Any, total: int, size: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            params = dict(parse_qsl(urlsplit(self.path).query))
            if params.get("verb") == "Identify":
                body = IDENTIFY
            else:
                body = page(int(params.get("resumptionToken") or 0), size, total)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_pipe.send(server.server_address[1])
    server.serve_forever()


def timed(name: str, fn: Callable[..., Any], spent: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            spent[name] += time.perf_counter() - start
    return wrapper


def timed_reader(fn: Callable[..., Any], spent: dict[str, float]) -> Callable[..., Any]:
    """A reader whose whole iteration (parse of the one-record document + crosswalk) counts as map."""
    def read(data: bytes, **kw: Any) -> list[Any]:
        start = time.perf_counter()
        try:
            return list(fn(data, **kw))
        finally:
            spent["map"] += time.perf_counter() - start
    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a fresh SQLite file in a temp folder)")
    args = parser.parse_args()

    import harvester.http
    import harvester.oai as oai
    from harvester.runner import harvest_source
    from repository.settings import Settings
    from repository.store import Store

    spent: dict[str, float] = defaultdict(float)
    client = harvester.http.HttpClient
    client.get = timed("fetch", client.get, spent)  # type: ignore[method-assign]
    oai.parse_page = timed("parse", oai.parse_page, spent)
    oai.store_results = timed("store", oai.store_results, spent)
    real_reader = oai.reader
    oai.reader = lambda fmt: timed_reader(real_reader(fmt), spent)

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(send, args.records, args.page_size), daemon=True)
    server.start()
    port = receive.recv()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        with Store(url) as store:
            store.init()
            store.add_source("bench", "oai", f"http://127.0.0.1:{port}/oai", level="district",
                             options={"prefix": "oai_dc"})
            settings = Settings(environ={}, INSTANCE_PATH=tmp)
            start = time.perf_counter()
            run = harvest_source(store, "bench", settings=settings)
            wall = time.perf_counter() - start
            stored = store.count_records(source="bench")
    server.terminate()
    if run.status != "succeeded":
        sys.exit(f"harvest {run.status}: {run.message}")
    n = run.added + run.updated + run.unchanged + run.quarantined
    print("machine:", machine(f"SQLite {sqlite3.sqlite_version}"))
    engine = "SQLite" if url.startswith("sqlite") else url.split(":", 1)[0]
    print(f"harvested {stored} records ({run.pages} pages of {args.page_size}) into {engine} "
          f"in {wall:.1f} s: {n / wall:,.0f} records/s")
    other = wall - sum(spent.values())
    for stage in ("fetch", "parse", "map", "store"):
        share = spent[stage] / wall * 100
        print(f"  {stage:6} {spent[stage]:7.2f} s  {share:5.1f}%  {n / spent[stage]:>10,.0f} records/s")
    print(f"  {'other':6} {other:7.2f} s  {other / wall * 100:5.1f}%  "
          "(per-record serialisation, checkpoints, run bookkeeping)")


if __name__ == "__main__":
    main()
