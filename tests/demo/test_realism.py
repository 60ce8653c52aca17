"""What the platforms serve maps through Huiju's own readers, cleanly, and republications differ.

Each payload is read exactly as the harvester reads it (the smartedu,
LOM/oai_dc, LRMI, MARCXML and RDF readers; the fields spider's selectors and
mapping for the plain-HTML archive), without HTTP: the sites answer in-process.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache

from parsel import Selector

from harvester.demo.platforms import PLATFORMS, item, items
from harvester.demo.sites import NATIONAL_ROOT, PER_PAGE, Site
from harvester.demo.state import DemoState
from harvester.demo.styles import PLACEHOLDER, UNKNOWN_EDITION, record, url_of
from harvester.spiders.mapping import record_from_fields
from harvester.spiders.selectors import values
from repository.demo import source_specs
from schemas.crosswalks import reader
from schemas.normalise import build_curriculum
from schemas.record import Record

from .test_generator import BASES

STATE = DemoState(seed=20261124, size=1500)


def answer(server: str, path: str, query: str = "") -> bytes:
    reply = Site(server, BASES[server], lambda: BASES).answer(STATE, path, query)
    assert reply.status == 200, (server, path, query)
    return reply.body if isinstance(reply.body, bytes) else b"".join(reply.body)


def _oai_pages(prefix: str) -> list[bytes]:
    pages, query = [], f"verb=ListRecords&metadataPrefix={prefix}"
    while query:
        data = answer("municipal", "/oai", query)
        pages.append(data)
        token = data.split(b"<resumptionToken", 1)[-1].split(b">", 1)[-1].split(b"</", 1)[0] \
            if b"<resumptionToken" in data else b""
        query = f"verb=ListRecords&resumptionToken={token.decode()}" if token.strip() else ""
    return pages


def _page_paths(platform: str) -> list[str]:
    return [url_of(it, BASES).removeprefix(BASES[BY_SERVER[platform]])  # type: ignore[union-attr]
            for it in items(STATE, platform) if not it.deleted and it.defect != "dead-link"]


BY_SERVER = {p.name: p.server for p in PLATFORMS}


@lru_cache(maxsize=1)
def harvested() -> dict[str, list[Record]]:
    """Every platform's records, read from what its server answers."""
    out: dict[str, list[Record]] = {}
    version = json.loads(answer("national", f"{NATIONAL_ROOT}/data_version.json"))
    out["national"] = [r for url in version["urls"] for r in reader("smartedu")(
        answer("national", url.removeprefix(BASES["national"])), source="national")]
    out["municipal"] = [r for page in _oai_pages("lom") for r in reader("lom")(page, source="municipal")]
    out["municipal-dc"] = [r for page in _oai_pages("oai_dc") for r in reader("oai_dc")(page, source="municipal")]
    for platform in ("haidian", "chaoyang"):
        out[platform] = [r for path in _page_paths(platform) for r in reader("lrmi")(
            answer(BY_SERVER[platform], path), source=platform)]
    fields = source_specs(BASES, STATE)[4].options["fields"]
    out["chaoyang-archive"] = []
    for path in _page_paths("chaoyang-archive"):
        page = Selector(text=answer("chaoyang", path).decode())
        scraped = {name: found for name, expr in fields.items() if (found := values(page, expr))}
        out["chaoyang-archive"].append(record_from_fields(scraped, source="chaoyang-archive",
                                                         page_url=BASES["chaoyang"] + path))
    out["library"] = list(reader("marcxml")(answer("library", "/export/catalogue.xml"), source="library"))
    out["partner"] = list(reader("rdf")(answer("partner", "/dump/resources.ttl"), source="partner"))
    return out


def test_every_platform_maps_without_rejects() -> None:
    got = harvested()
    for platform, records in got.items():
        rejected = [r for r in records if not isinstance(r, Record)]
        assert not rejected, (platform, rejected[:2])
    for p in PLATFORMS:
        crawled = p.kind == "crawl"  # a dead page gives no record; the library's dead link is only its URL
        live = sum(1 for it in items(STATE, p.name) if not it.deleted and not (crawled and it.defect == "dead-link"))
        assert len(got[p.name]) == live, p.name


def test_no_unmapped_curriculum_values_except_planted_defects() -> None:
    defects = {}
    for p in PLATFORMS:
        for it in items(STATE, p.name):
            rec = record(STATE, it, BASES)
            defects[(p.name, rec.source_record_id)] = it.defect
    unmapped = Counter()
    for platform, records in harvested().items():
        name = platform.removesuffix("-dc")
        for r in records:
            defect = defects[(name, r.source_record_id)]
            if defect == "unmapped":
                assert [u.value for u in r.unmapped] == [UNKNOWN_EDITION]
                unmapped[platform] += 1
            else:
                assert not r.unmapped, (platform, r.title, r.unmapped)
            if defect is None:
                c = r.curriculum
                assert c.stage and c.subject and c.edition and c.volume and c.chapter_path, (platform, r.title)
                assert r.resource_type is not None, (platform, r.title)
    assert unmapped["chaoyang-archive"] >= 1


def test_textbook_combinations_are_the_platform_trees() -> None:
    """Every stage/grade/subject/edition/volume in the data is one the normaliser knows (no invention)."""
    from harvester.demo.catalogue import books

    for book in books():
        _, problems = build_curriculum({"stage": book.stage, "grade": book.grade, "subject": book.subject,
                                        "edition": book.edition, "volume": book.volume})
        assert not problems, book


def test_republications_are_perturbed_and_still_the_same_lesson() -> None:
    perturbed = Counter()
    for p in PLATFORMS:
        if p.name == "national":
            continue
        for it in items(STATE, p.name):
            if not it.origin or it.origin[0] != "national":
                continue
            mine, original = record(STATE, it, BASES), record(STATE, item(STATE, *it.origin), BASES)
            assert mine.url != original.url and mine.source_record_id != original.source_record_id
            assert (mine.title, mine.description) != (original.title, original.description), (p.name, mine.title)
            assert (mine.curriculum.edition and mine.curriculum.edition.code) == \
                (original.curriculum.edition and original.curriculum.edition.code)
            assert mine.resource_type == original.resource_type
            c = mine.curriculum
            if c.edition and c.edition.label in ("部编版", "人民教育出版社"):
                perturbed["edition spelling"] += 1
            if c.grade_label in ("初一", "初二", "初三"):
                perturbed["grade spelling"] += 1
            if any(ch in mine.title for ch in "課時單練習設計"):
                perturbed["traditional"] += 1
            if mine.description and mine.description.endswith("…"):
                perturbed["truncated"] += 1
            if mine.is_based_on:
                perturbed["is_based_on"] += 1
            if mine.identifiers:
                perturbed["kept the national id"] += 1
            if "【市级优课】" in mine.title:
                perturbed["decorated"] += 1
    for kind in ("edition spelling", "grade spelling", "traditional", "truncated", "is_based_on",
                 "kept the national id", "decorated"):
        assert perturbed[kind] >= 3, (kind, perturbed)


def test_planted_defects_are_there() -> None:
    found = Counter(it.defect for p in PLATFORMS for it in items(STATE, p.name) if it.defect)
    assert {"placeholder", "sensitive", "missing", "unmapped", "dead-link"} <= set(found)
    descriptions = [r.description for records in harvested().values() for r in records]
    assert PLACEHOLDER in descriptions
    assert any(d and "微信" in d for d in descriptions)


def test_lists_paginate_and_sitemaps_list_the_pages() -> None:
    listing = answer("haidian", "/course/list-1.html").decode()
    assert listing.count('href="http://127.0.0.1:5103/course/lesson-') == PER_PAGE
    assert 'class="next" href="/course/list-2.html"' in listing
    sitemap = answer("haidian", "/sitemap-1.xml").decode()
    assert sitemap.count("<loc>") == sum(1 for it in items(STATE, "haidian") if not it.deleted)
    assert "Sitemap: http://127.0.0.1:5103/sitemap.xml" in answer("haidian", "/robots.txt").decode()
    archive = answer("chaoyang", "/zyk/list_1.html").decode()
    assert "application/ld+json" not in archive and 'class="zy-link"' in archive
