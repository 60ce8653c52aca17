"""The crawl kind: real Scrapy crawls (in their child process) of a local test site.

The site (tests/harvester/sites/) is served on 127.0.0.1 and logs every
request, so robots.txt, the HTTP cache and the media guard are checked from
the server's side. Real LRMI pages come straight from the shared corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.runner import Progress, harvest_source
from repository.settings import Settings
from repository.store import Store
from schemas.crosswalks import lrmi
from schemas.record import Agent, Record, content_hash
from tests.harvester.sites.server import HERE, TestSite
from tests.support.net import free_port

LESSONS = {"sitemaps_from_robots": True, "concurrency": 4, "delay": 0, "max_bytes": 100_000}


@pytest.fixture
def site(corpus: Path) -> Iterator[TestSite]:
    with TestSite(corpus) as running:
        yield running


def _records(store: Store, source: str) -> dict[str, Record]:
    return {r.title: r for r in store.iter_records(source=source)}


def _path(site: TestSite, url: str) -> str:
    return url.removeprefix(site.base)


def test_crawl_maps_stores_obeys_robots_and_recrawls_from_the_cache(
    store: Store, settings: Settings, site: TestSite
) -> None:
    store.add_source("district-site", "crawl", site.base + "/", level="district", options=LESSONS)
    seen: list[Progress] = []
    run = harvest_source(store, "district-site", progress=seen.append, settings=settings)

    assert run.status == "succeeded", run.message
    assert (run.added, run.updated, run.quarantined) == (6, 0, 3)
    records = _records(store, "district-site")
    assert sorted(records) == sorted([
        "勾股定理 第一课时", "勾股定理 第二课时", "圆的面积", "<script>alert('勾股')</script>勾股定理 课后练习",
        "Designing a treasure map", "Tiles, Blocks, Sapphires & Gold: Designing a Treasure Map",
    ])

    first = records["勾股定理 第一课时"]
    c = first.curriculum
    assert first.source_record_id == "urn:example-district:lesson:gougu-1"
    assert first.url == f"{site.base}/lessons/gougu-1.html"
    assert first.source_level == "district" and first.resource_type.code == "micro-lecture"
    assert (c.stage.code, c.grade, c.grade_label, c.subject.code) == ("junior", 8, "八年级", "math")
    assert (c.edition.code, c.edition.label, c.volume.code, c.class_hour) == ("pep", "人教版", "vol2", 1)
    assert c.chapter_path == ["第十七章 勾股定理", "17.1 勾股定理"]
    assert first.agents == [Agent(name="王芳", role="teacher", school="示例区第一中学", title="一级教师")]
    assert (first.duration, first.licence) == ("PT9M30S", "CC-BY-NC-4.0")
    assert first.keywords == ["勾股定理", "直角三角形", "面积法"]
    second = records["勾股定理 第二课时"]
    assert (second.resource_type.code, second.curriculum.grade, second.curriculum.class_hour) == ("courseware", 8, 2)
    circle = records["圆的面积"].curriculum
    assert (circle.stage.code, circle.grade, circle.volume.code) == ("primary", 6, "vol1")
    hostile = records["<script>alert('勾股')</script>勾股定理 课后练习"]  # kept as text; the site escapes it
    assert hostile.description == '<img src=x onerror="alert(1)">答案见附件'
    # one resource published as microdata, RDFa and JSON-LD (real corpus pages): one record
    treasure = records["Designing a treasure map"]
    assert (treasure.source_record_id, treasure.curriculum.grade) == ("http://example.org/lessonplan", 2)
    for page in ("microdata", "rdfa", "jsonld"):
        assert [h.status for h in site.requested(f"/corpus/treasure-map-{page}.html")] == [200]

    # the page is the raw payload, and mapping it again gives the stored record (remap)
    raw = store.get_raw(first.id)
    assert raw.format == "lrmi" and raw.content == site.page_text("lessons/gougu-1.html").replace(
        "{{base}}", site.base).encode()
    (again,) = lrmi.read(raw.content, source="district-site")
    again.source_level = "district"  # as store_results sets it
    assert content_hash(again) == store.get_stored(first.id).content_hash

    quarantined = {(q.stage, _path(site, q.locator), q.reason.split(":")[0]) for q in store.list_quarantine()}
    assert quarantined == {
        ("parse", "/lessons/broken.html", "unreadable json-ld in HTML"),
        ("fetch", "/lessons/missing.html", "HTTP 404"),
        ("fetch", "/lessons/huge.html", "larger than max_bytes (100000 bytes)"),
    }
    broken = next(q for q in store.list_quarantine() if q.stage == "parse")
    assert b"\xe4\xb8\x80\xe6\xac\xa1\xe5\x87\xbd\xe6\x95\xb0" in broken.raw  # 一次函数: the page is kept

    assert site.requested("/private/") == []  # robots.txt disallows it, though linked and in the sitemap
    assert site.requested("/media/gougu.mp4") == []  # media links are not followed
    assert {h.user_agent for h in site.hits} == {"Huiju/0.1.0 (+mailto:harvest-tests@example.org)"}
    assert run.checkpoint["crawl"]["robots_forbidden"] >= 1
    assert seen[-1].pages == run.pages == run.checkpoint["crawl"]["pages"] >= 14
    assert seen[-1].records == 8  # 4 lessons + 3 treasure-map pages + 1 Cooper Hewitt page

    # second crawl: every page is revalidated; unchanged ones are 304s read from the cache,
    # and the one changed page is picked up
    site.clear()
    site.override("/lessons/gougu-2.html", site.page_text("lessons/gougu-2.html").replace(
        "勾股定理 第二课时", "勾股定理 第二课时（修订）"))
    rerun = harvest_source(store, "district-site", settings=settings)
    assert rerun.status == "succeeded", rerun.message
    assert (rerun.added, rerun.updated, rerun.unchanged, rerun.quarantined) == (0, 1, 5, 3)
    assert "勾股定理 第二课时（修订）" in _records(store, "district-site")
    assert [(h.status, h.conditional) for h in site.requested("/lessons/gougu-1.html")] == [(304, True)]
    assert [(h.status, h.conditional) for h in site.requested("/lessons/gougu-2.html")] == [(200, True)]
    corpus_hits = site.requested("/corpus/")
    assert len(corpus_hits) == 4 and {(h.status, h.conditional) for h in corpus_hits} == {(304, True)}
    assert rerun.checkpoint["crawl"]["cached"] >= 12
    assert site.requested("/private/") == []


def test_crawl_from_a_sitemap(store: Store, settings: Settings, site: TestSite) -> None:
    """A sitemap.xml as the location: its pages are read; max_depth 1 stops at them."""
    store.add_source("by-sitemap", "crawl", site.base + "/sitemap.xml", options={"max_depth": 1, "delay": 0})
    run = harvest_source(store, "by-sitemap", settings=settings)
    assert (run.status, run.added, run.quarantined) == ("succeeded", 5, 0)
    assert sorted(r.title for r in store.iter_records(source="by-sitemap")) == [
        "Designing a treasure map", "Tiles, Blocks, Sapphires & Gold: Designing a Treasure Map",
        "勾股定理 第一课时", "勾股定理 第二课时", "圆的面积"]
    assert site.requested("/private/") == [] and site.requested("/lessons/list") == []


def test_without_revalidation_fresh_pages_are_not_asked_for(store: Store, settings: Settings,
                                                              site: TestSite) -> None:
    """revalidate: false obeys the server: a page served with max-age=3600 comes from the cache."""
    store.add_source("fresh", "crawl", site.base + "/corpus/cooperhewitt-microdata.html",
                     options={"revalidate": False, "delay": 0})
    assert harvest_source(store, "fresh", settings=settings).added == 1
    assert len(site.requested("/corpus/")) == 1
    site.clear()
    again = harvest_source(store, "fresh", settings=settings)
    assert (again.status, again.unchanged, again.checkpoint["crawl"]["cached"]) == ("succeeded", 1, 1)
    assert site.requested("/corpus/") == []


PLAIN_FIELDS = {
    "title": "h1.title::text",
    "description": "p.intro",
    "subject": "dd.subject",
    "grade": "//dt[.='年级']/following-sibling::dd[1]",  # XPath works too
    "edition": "dd.edition",
    "volume": "dd.volume",
    "chapter": ".chapter span",
    "resource_type": "dd.type",
    "teacher": "dd.teacher",
    "duration": "dd.duration",
}


def test_field_mapping_spider_follows_list_pages(store: Store, settings: Settings) -> None:
    with TestSite() as site:
        store.add_source("plain", "crawl", site.base + "/plain/list.html?page=1", level="school", options={
            "spider": "fields", "item_links": "a.res", "next_page": "a.next", "fields": PLAIN_FIELDS,
            "delay": 0, "concurrency": 4,
        })
        run = harvest_source(store, "plain", settings=settings)
        paths = {h.path for h in site.hits}
    assert run.status == "succeeded", run.message
    assert (run.added, run.quarantined) == (3, 1)
    assert {"/plain/list.html?page=2", "/plain/res/104.html"} <= paths
    assert not any(p.startswith("/media/") for p in paths)  # download links are not fields: never fetched
    records = _records(store, "plain")
    assert sorted(records) == ["Unit 1 Hello!", "勾股定理 第一课时", "背影"]

    pythagoras = records["勾股定理 第一课时"]
    c = pythagoras.curriculum
    assert pythagoras.source_record_id == pythagoras.url == f"{site.base}/plain/res/101.html"
    assert (c.stage.code, c.grade, c.subject.code, c.edition.code, c.volume.code) == (
        "junior", 8, "math", "pep", "vol2")
    assert c.chapter_path == ["第十七章 勾股定理", "17.1 勾股定理"] and c.class_hour == 1  # 第一课时 from the title
    assert pythagoras.resource_type.code == "micro-lecture"
    assert pythagoras.agents == [Agent(name="李明", role="teacher")]
    assert (pythagoras.duration, pythagoras.description) == ("PT8M30S", "用拼图法探索勾股定理。")
    assert pythagoras.source_level == "school" and pythagoras.unmapped == []
    beiying = records["背影"]
    assert (beiying.curriculum.subject.code, beiying.curriculum.edition.code, beiying.duration) == (
        "chinese", "tongbian", "PT12M")
    english = records["Unit 1 Hello!"]
    c = english.curriculum
    assert (c.grade, c.edition.variant, english.duration) == (3, "三年级起点", "PT40M")

    (untitled,) = store.list_quarantine(source="plain")
    assert untitled.locator == f"{site.base}/plain/res/104.html" and untitled.reason.startswith("no title")

    from harvester.spiders.mapping import read

    raw = store.get_raw(pythagoras.id)
    assert raw.format == "crawl-fields" and "用拼图法" in raw.content.decode()
    (again,) = read(raw.content, source="plain")
    again.source_level = "school"
    assert content_hash(again) == store.get_stored(pythagoras.id).content_hash


def test_fields_from_item_blocks_by_a_direct_call(store: Store, settings: Settings) -> None:
    """The kind called directly (no runner): item blocks on one list page, no item pages fetched."""
    from harvester.crawl import harvest

    with TestSite() as site:
        source = store.add_source("catalogue", "crawl", site.base + "/plain/catalogue.html", options={
            "spider": "fields", "items": "li.item", "delay": 0,
            "fields": {"title": "a.t", "url": "a.t", "grade": "span.g", "subject": "span.s",
                       "resource_type": "span.k"},
        })
        run = store.start_run(source)
        harvest(store, source, run, None)
        assert not site.requested("/plain/res/")
    records = {r.url.removeprefix(site.base): r for r in store.iter_records(source="catalogue")}
    assert sorted(records) == ["/plain/res/101.html", "/plain/res/102.html", "/plain/res/103.html"]
    assert records["/plain/res/103.html"].resource_type.code == "recorded-lesson"
    assert records["/plain/res/102.html"].curriculum.grade == 8
    assert store.get_run(run.id).added == 3



def test_unreachable_or_forbidden_start_fails_the_run(store: Store, settings: Settings) -> None:
    with TestSite() as site:
        store.add_source("forbidden", "crawl", site.base + "/private/teachers-only.html", options={"delay": 0})
        forbidden = harvest_source(store, "forbidden", settings=settings)
        assert site.requested("/private/") == []
    assert forbidden.status == "failed"
    assert "no page fetched" in forbidden.message and "robots.txt" in forbidden.message

    store.add_source("gone", "crawl", f"http://127.0.0.1:{free_port()}/", options={"delay": 0})
    gone = harvest_source(store, "gone", settings=settings)
    assert gone.status == "failed" and "no page fetched" in gone.message
    assert "Connection" in gone.message or "refused" in gone.message.lower()


def test_a_crashing_crawl_process_fails_the_run_with_its_log(store: Store, settings: Settings) -> None:
    """Scrapy runs in a child; if it dies, the parent reports the tail of its log."""
    from harvester.crawl import crawl_events, make_job
    from harvester.runner import HarvestFailed

    source = store.add_source("crash", "crawl", "http://127.0.0.1:9/", options={})
    job, _ = make_job(source, settings)
    job.spider = "no-such-spider"
    with pytest.raises(HarvestFailed, match="crawl process exited with status 1.*KeyError"):
        list(crawl_events(job))


@pytest.mark.parametrize(("options", "message"), [
    ({"folow": ["x"]}, "unknown field"),
    ({"follow": ["("]}, "regular expression"),
    ({"concurrency": "many"}, "concurrency"),
    ({"spider": "fields", "item_links": "a"}, "fields.title"),
    ({"spider": "fields", "fields": {"title": "h1"}}, "item_links"),
    ({"spider": "fields", "items": "li", "fields": {"title": "h1", "colour": "p"}}, "unknown field(s) colour"),
    ({"spider": "fields", "items": "li[", "fields": {"title": "h1"}}, "items: selector"),
    ({"spider": "fields", "items": "li", "fields": {"title": "//h1[@"}}, "fields.title: selector"),
])
def test_bad_options_fail_before_crawling(store: Store, settings: Settings, options: dict, message: str) -> None:
    from harvester.crawl import make_job

    source = store.add_source("bad", "crawl", "http://127.0.0.1:9/", options=options)
    with pytest.raises(ValueError, match="bad crawl option") as raised:
        make_job(source, settings)
    assert message in str(raised.value)
    run = harvest_source(store, "bad", settings=settings)
    assert run.status == "failed" and message in run.message


def test_option_problems_for_registration(settings: Settings) -> None:
    from harvester.crawl import option_problems

    common = {"timeout": 5, "retries": 1, "delay": 2.5, "max_bytes": 1_000_000}  # every kind's options
    assert option_problems("https://www.example.cn/sitemap.xml", common) == []
    assert option_problems("https://www.example.cn/", {"spider": "lrmii"}) != []
    assert "location" in option_problems("", {})[0]


def test_locations_must_be_http(store: Store, settings: Settings) -> None:
    from harvester.crawl import make_job

    for location in ("", "ftp://example.org/", "/var/www/index.html"):
        source = store.add_source(f"loc{len(location)}", "crawl", location)
        with pytest.raises(ValueError, match="location|http"):
            make_job(source, settings)


def test_cache_lives_under_the_instance_folder(settings: Settings) -> None:
    from harvester.crawl import cache_dir

    assert cache_dir(settings, "district-site") == settings.instance_path / "crawl-cache" / "district-site"
    odd = cache_dir(settings, "../市/级")
    assert odd.parent == settings.instance_path / "crawl-cache" and "/" not in odd.name and ".." != odd.name


def test_sites_are_our_own_files() -> None:
    """The test site is written for these tests; corpus pages are served from ../shared, never copied."""
    assert not any(p.suffix == ".json" for p in HERE.rglob("*"))
    assert all("dcmi" not in p.read_text("utf-8", "replace").lower() for p in HERE.rglob("*.html"))
