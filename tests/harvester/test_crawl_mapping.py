"""The fields spider's crosswalk and selectors, without a crawl (pure functions)."""

from __future__ import annotations

import pytest
from parsel import Selector

from harvester.spiders.mapping import FieldsPayload, fields_payload, iso_duration, read, record_from_fields
from harvester.spiders.protocol import Done, Failure, Page, decode, encode
from harvester.spiders.selectors import values
from schemas.crosswalks import Rejected
from schemas.record import Record, Unmapped


@pytest.mark.parametrize(("text", "iso"), [
    ("08:30", "PT8M30S"), ("1:02:03", "PT1H2M3S"), ("12分30秒", "PT12M30S"), ("12分", "PT12M"),
    ("1小时5分钟", "PT1H5M"), ("45 min", "PT45M"), ("pt9m30s", "PT9M30S"), ("90s", "PT90S"),
    ("大约十分钟", None), ("00:00", None), ("", None),
])
def test_durations(text: str, iso: str | None) -> None:
    assert iso_duration(text) == iso


def test_record_from_fields_maps_curriculum_and_reports_what_it_cannot() -> None:
    record = record_from_fields({
        "title": ["勾股定理 第二课时"], "url": ["/res/7.html"], "grade": ["初二"], "subject": ["数学"],
        "edition": ["人教版"], "volume": ["下册"], "chapter": ["第十七章 勾股定理", "17.1 勾股定理"],
        "resource_type": ["随便什么"], "teacher": ["王芳", "李明"], "school": ["示例区第一中学"],
        "duration": ["一会儿"], "keywords": ["勾股定理、直角三角形"],
    }, source="s", page_url="http://127.0.0.1:8000/list.html?page=1")
    assert isinstance(record, Record)
    assert record.source_record_id == record.url == "http://127.0.0.1:8000/res/7.html"
    assert (record.curriculum.grade, record.curriculum.class_hour, record.curriculum.volume.code) == (8, 2, "vol2")
    assert [a.name for a in record.agents] == ["王芳", "李明"] and record.agents[0].school == "示例区第一中学"
    assert record.keywords == ["勾股定理", "直角三角形"] and record.resource_type is None
    assert record.unmapped == [Unmapped("resource_type", "随便什么"), Unmapped("duration", "一会儿")]


def test_untitled_items_are_rejected_and_payloads_map_again() -> None:
    rejected = record_from_fields({"subject": ["数学"]}, source="s", page_url="http://x.cn/1.html")
    assert isinstance(rejected, Rejected) and rejected.reason.startswith("no title")
    item = {"title": ["背影"], "grade": ["八年级"]}
    payload = fields_payload("http://x.cn/2.html", item, "<html>背影</html>".encode())
    (again,) = read(payload, source="s")
    assert again == record_from_fields(item, source="s", page_url="http://x.cn/2.html")
    (bad,) = read(b"<html>", source="s")
    assert isinstance(bad, Rejected) and bad.stage == "parse"
    assert FieldsPayload(url="u", item={}).page == b""


def test_selectors_css_xpath_text_and_links() -> None:
    page = Selector(text='<div><h1> 圆的 面积 </h1><a class="r" href="/a">甲</a><a class="r" href="/b">乙</a>'
                         '<dl><dt>年级</dt><dd>六年级</dd></dl></div>')
    assert values(page, "h1") == ["圆的 面积"]
    assert values(page, "h1::text") == ["圆的 面积"]
    assert values(page, "a.r", link=True) == ["/a", "/b"]
    assert values(page, "a.r::attr(href)") == ["/a", "/b"]
    assert values(page, "//dt[.='年级']/following-sibling::dd[1]") == ["六年级"]
    assert values(page, "xpath:string(//h1)") == ["圆的 面积"]
    assert values(page, "css:dd") == ["六年级"]


def test_events_round_trip_bytes() -> None:
    events = [Page(url="u", status=200, kind="lrmi", cached=True, body=b"\x00\xff<html>"),
              Failure(url="u", reason="HTTP 404", status=404), Done(stats={"pages": 3})]
    assert [decode(encode(e)) for e in events] == events
