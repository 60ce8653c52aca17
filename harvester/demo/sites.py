"""What each simulated platform answers, path by path (the HTTP plumbing is in servers.py).

national   /zxx/ndrs/national_lesson/resources/data_version.json and part_100.json… (1,000 items a part)
municipal  /oai (OAI-PMH: oai_dc, lom) and /resource/<id>.html landing pages
haidian    /course/list-<n>.html, /course/lesson-<id>.html (JSON-LD), robots.txt, sitemaps
chaoyang   /kc/index_<n>.shtml, /kc/<year>/<id>.shtml (JSON-LD); the old 资源库 /zyk/list_<n>.html and
           /zyk/show_<id>.html in plain HTML (no structured data: the fields spider's job)
library    /export/catalogue.xml (MARCXML, deleted records flagged in the leader), /opac/item/HD<id>
partner    /dump/resources.ttl (Turtle), /resource/gba-<id>
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs

import msgspec

from harvester.demo import render
from harvester.demo.catalogue import digest
from harvester.demo.oai_server import OaiEndpoint
from harvester.demo.platforms import BY_NAME, Item, count, item, items, modified
from harvester.demo.state import DemoState
from harvester.demo.styles import ID_OFFSET, JUNIOR_GRADES, UNKNOWN_EDITION, hour_label, record, respell_edition, url_of

PER_PAGE = 20
PART_SIZE = 1000
SITEMAP_SIZE = 5000
NATIONAL_ROOT = "/zxx/ndrs/national_lesson/resources"
HTML, XML, JSON = "text/html; charset=utf-8", "application/xml; charset=utf-8", "application/json; charset=utf-8"
CSS = {
    "haidian": "body{font-family:sans-serif;margin:2em;color:#223}h1{color:#1a5fb4}.meta li{margin:.2em 0}",
    "chaoyang": "body{font-family:serif;background:#fffdf5;margin:2em}h1,h2{color:#a51d2d}"
                "table{border-collapse:collapse}"
                "th,td{border:1px solid #ccc;padding:.3em .6em}",
}


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes | Iterable[bytes]  # an iterable is sent chunked, as it is generated


NOT_FOUND = Reply(404, HTML, render.page("页面不存在", "404", "<h1>404 页面不存在</h1>").encode())


class Site:
    """One platform server's routes over the shared federation state."""

    def __init__(self, server: str, base: str, bases: Callable[[], dict[str, str]]) -> None:
        self.server, self.base, self.bases = server, base, bases
        self.oai = OaiEndpoint(base + "/oai", bases)
        table: dict[str, list[tuple[str, Callable[..., Reply]]]] = {
            "national": [(rf"{NATIONAL_ROOT}/data_version\.json", self.version),
                         (rf"{NATIONAL_ROOT}/part_(\d+)\.json", self.part)],
            "municipal": [(r"/oai", self.oai_reply), (r"/resource/(\d+)\.html", self.landing("municipal"))],
            "haidian": [(r"/robots\.txt", self.robots), (r"/sitemap\.xml", self.sitemap_index("haidian")),
                        (r"/sitemap-(\d+)\.xml", self.sitemap("haidian")),
                        (r"/course/list-(\d+)\.html", self.listing("haidian")),
                        (r"/course/lesson-(\d+)\.html", self.lesson_page("haidian"))],
            "chaoyang": [(r"/robots\.txt", self.robots), (r"/sitemap\.xml", self.sitemap_index("chaoyang")),
                         (r"/sitemap-(\d+)\.xml", self.sitemap("chaoyang")),
                         (r"/kc/index(?:_(\d+))?\.shtml", self.listing("chaoyang")),
                         (r"/kc/\d{4}/(\d+)\.shtml", self.lesson_page("chaoyang")),
                         (r"/zyk/list_(\d+)\.html", self.listing("chaoyang-archive")),
                         (r"/zyk/show_(\d+)\.html", self.archive_page)],
            "library": [(r"/export/catalogue\.xml", self.marc), (r"/opac/item/HD(\d+)", self.landing("library"))],
            "partner": [(r"/dump/resources\.ttl", self.turtle), (r"/resource/gba-(\d+)", self.landing("partner"))],
        }
        self.routes = [(re.compile(p), f) for p, f in table[server]] + [(re.compile("/"), self.home)]

    def answer(self, state: DemoState, path: str, query: str) -> Reply:
        for pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match:
                return handler(state, match, query)
        return NOT_FOUND

    # -- helpers -------------------------------------------------------------------------------

    def _live(self, state: DemoState, platform: str, number: str | None) -> Item | None:
        index = int(number or 0) - ID_OFFSET[platform]
        if not 0 <= index < count(platform, state):
            return None
        found = item(state, platform, index)
        return None if found.deleted or found.defect == "dead-link" else found

    def _page(self, title: str, body: str, *, head: str = "") -> Reply:
        site = BY_NAME[self.server].label if self.server in BY_NAME else self.server
        return Reply(200, HTML, render.page(title, site, body, head=head, css=CSS.get(self.server, "")).encode())

    def home(self, state: DemoState, match: re.Match, query: str) -> Reply:
        if match.string != "/":
            return NOT_FOUND
        links = {"national": [(f"{NATIONAL_ROOT}/data_version.json", "同步课程资源数据（JSON）")],
                 "municipal": [("/oai?verb=Identify", "OAI-PMH 接口")],
                 "haidian": [("/course/list-1.html", "课程资源列表")],
                 "chaoyang": [("/kc/index.shtml", "优质课例"), ("/zyk/list_1.html", "教研资源库（旧版）")],
                 "library": [("/export/catalogue.xml", "馆藏目录导出（MARCXML）")],
                 "partner": [("/dump/resources.ttl", "资源共享数据（Turtle）")]}[self.server]
        items_html = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in links)
        return self._page("首页", f"<h1>{html.escape(self._label())}</h1><ul>{items_html}</ul>")

    def _label(self) -> str:
        return BY_NAME[self.server].label

    # -- national ------------------------------------------------------------------------------

    def version(self, state: DemoState, match: re.Match, query: str) -> Reply:
        parts = math.ceil(count("national", state) / PART_SIZE)
        doc = {"module": "national_lesson", "module_version": digest(state.seed, state.size, state.tick) % 2**31,
               "urls": [f"{self.base}{NATIONAL_ROOT}/part_{100 + k}.json" for k in range(parts)]}
        return Reply(200, JSON, json.dumps(doc, ensure_ascii=False).encode())

    def part(self, state: DemoState, match: re.Match, query: str) -> Reply:
        k = int(match[1]) - 100
        if not 0 <= k < math.ceil(count("national", state) / PART_SIZE):
            return NOT_FOUND
        bases = self.bases()
        objects = [render.smartedu_object(state.seed, it, record(state, it, bases))
                   for it in items(state, "national", k * PART_SIZE, (k + 1) * PART_SIZE) if not it.deleted]
        return Reply(200, JSON, msgspec.json.encode(objects))  # 4× json.dumps: the feed is most of the demo

    # -- municipal and landing pages -------------------------------------------------------------

    def oai_reply(self, state: DemoState, match: re.Match, query: str) -> Reply:
        body = self.oai.respond(state, parse_qs(query, keep_blank_values=True))
        return Reply(200, "text/xml; charset=utf-8", body)

    def landing(self, platform: str) -> Callable[..., Reply]:
        def handler(state: DemoState, match: re.Match, query: str) -> Reply:
            found = self._live(state, platform, match[1])
            if found is None:
                return NOT_FOUND
            rec = record(state, found, self.bases())
            return self._page(rec.title, render.lesson_body(rec, self._label(), "/"))
        return handler

    # -- district sites ------------------------------------------------------------------------------

    def robots(self, state: DemoState, match: re.Match, query: str) -> Reply:
        text = f"User-agent: *\nDisallow: /admin/\nSitemap: {self.base}/sitemap.xml\n"
        return Reply(200, "text/plain; charset=utf-8", text.encode())

    def sitemap_index(self, platform: str) -> Callable[..., Reply]:
        def handler(state: DemoState, match: re.Match, query: str) -> Reply:
            parts = math.ceil(count(platform, state) / SITEMAP_SIZE)
            return Reply(200, XML, render.sitemap_index([f"{self.base}/sitemap-{k + 1}.xml" for k in range(parts)]))
        return handler

    def sitemap(self, platform: str) -> Callable[..., Reply]:
        def handler(state: DemoState, match: re.Match, query: str) -> Reply:
            k = int(match[1]) - 1
            if not 0 <= k < math.ceil(count(platform, state) / SITEMAP_SIZE):
                return NOT_FOUND
            urls = [(url_of(it, self.bases()) or "", modified(state, it))
                    for it in items(state, platform, k * SITEMAP_SIZE, (k + 1) * SITEMAP_SIZE) if not it.deleted]
            return Reply(200, XML, render.sitemap(urls))
        return handler

    def _list_link(self, platform: str, n: int) -> str:
        return {"haidian": f"/course/list-{n}.html",
                "chaoyang": "/kc/index.shtml" if n == 1 else f"/kc/index_{n}.shtml",
                "chaoyang-archive": f"/zyk/list_{n}.html"}[platform]

    def listing(self, platform: str) -> Callable[..., Reply]:
        def handler(state: DemoState, match: re.Match, query: str) -> Reply:
            n = int(match[1] or 1)
            pages = max(1, math.ceil(count(platform, state) / PER_PAGE))
            if not 1 <= n <= pages:
                return NOT_FOUND
            bases, rows = self.bases(), []
            for it in items(state, platform, (n - 1) * PER_PAGE, n * PER_PAGE):
                if it.deleted:
                    continue
                rec = record(state, it, bases)
                href = html.escape(url_of(it, bases) or "")
                when = (rec.modified or rec.created).date().isoformat() if (rec.modified or rec.created) else ""
                if platform == "chaoyang-archive":
                    rows.append(f'<li><a class="zy-link" href="{href}">{html.escape(rec.title)}</a> <i>{when}</i></li>')
                else:
                    rows.append(f'<li><a href="{href}">{html.escape(rec.title)}</a> <span>{when}</span></li>')
            css_class = "zy-list" if platform == "chaoyang-archive" else "list"
            body = (f'<header><a href="/">{html.escape(self._label())}</a></header><h1>资源列表 第{n}页</h1>'
                    f'<ul class="{css_class}">{"".join(rows)}</ul>'
                    + render.pager(n, pages, lambda k: self._list_link(platform, k)))
            return self._page(f"资源列表 第{n}页", body)
        return handler

    def lesson_page(self, platform: str) -> Callable[..., Reply]:
        def handler(state: DemoState, match: re.Match, query: str) -> Reply:
            found = self._live(state, platform, match[1])
            if found is None:
                return NOT_FOUND
            rec = record(state, found, self.bases())
            if rec.url and not rec.url.endswith(match.string):
                return NOT_FOUND  # /kc/<year>/: the year must be the item's
            head = f'<script type="application/ld+json">{render.jsonld(rec)}</script>'
            back = self._list_link(platform, 1 + found.index // PER_PAGE)
            return self._page(rec.title, render.lesson_body(rec, self._label(), back), head=head)
        return handler

    def archive_page(self, state: DemoState, match: re.Match, query: str) -> Reply:
        found = self._live(state, "chaoyang-archive", match[1])
        if found is None:
            return NOT_FOUND
        rec = record(state, found, self.bases())
        body = render.archive_body(rec, self._label(), archive_fields(found, rec),
                                   self._list_link("chaoyang-archive", 1 + found.index // PER_PAGE))
        return self._page(rec.title, body)

    # -- library and partner dumps ----------------------------------------------------------------

    def marc(self, state: DemoState, match: re.Match, query: str) -> Reply:
        def chunks() -> Iterator[bytes]:
            yield render.MARC_HEAD
            bases = self.bases()
            for it in items(state, "library"):
                yield render.marc_record(record(state, it, bases))
            yield render.MARC_TAIL
        return Reply(200, "application/marcxml+xml; charset=utf-8", _batched(chunks()))

    def turtle(self, state: DemoState, match: re.Match, query: str) -> Reply:
        def chunks() -> Iterator[bytes]:
            yield render.TURTLE_HEAD
            bases = self.bases()
            for it in items(state, "partner"):
                if not it.deleted:
                    yield render.turtle(record(state, it, bases))
        return Reply(200, "text/turtle; charset=utf-8", _batched(chunks()))


def _batched(chunks: Iterable[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    buffer: list[bytes] = []
    held = 0
    for chunk in chunks:
        buffer.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield b"".join(buffer)


def archive_fields(it: Item, rec) -> dict[str, str]:  # noqa: ANN001 - a Record
    """The 资源库 table as its editors typed it: 初一, 部编版, 第一课时, 教案/导学案."""
    book, lesson = it.lesson.book, it.lesson
    teacher = next((a for a in rec.agents if a.role == "teacher"), None)
    fields = {"学段": book.stage, "年级": JUNIOR_GRADES.get(book.grade, book.grade), "学科": book.subject,
              "版本": UNKNOWN_EDITION if it.defect == "unmapped" else respell_edition(book.edition),
              "册次": book.volume, "章节": " > ".join(rec.curriculum.chapter_path),
              "课时": hour_label(lesson.hour) if lesson.hours > 1 else "",
              "资源类型": "教案" if it.part == 2 else "导学案",
              "授课教师": teacher.name if teacher else "", "学校": teacher.school if teacher else "",
              "关键词": "，".join(rec.keywords)}
    if it.defect == "missing":
        for key in ("年级", "版本", "册次"):
            fields[key] = ""
    return {k: v for k, v in fields.items() if v}
