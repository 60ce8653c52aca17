"""A teacher in a real browser: search 勾股定理, filter 八年级, open a work, see its members and provenance."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import assert_clean, new_page, screenshot

pytestmark = pytest.mark.browser

def test_search_filter_open_a_work(server: str, browser: Any) -> None:
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(server + "/")
    page.get_by_label("输入课题、章节、教师姓名或拼音").fill("勾股定理")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert "勾股定理" in page.locator("#results-h").inner_text()
    assert page.locator(".hit mark").count() > 0

    page.locator("#facet-grade + ul a", has_text="八年级").click()
    page.wait_for_url("**grade=8*")
    assert page.locator(".chosen-filters").inner_text().startswith("年级：八年级")
    assert page.locator("#facet-grade + ul a.chosen").count() == 1
    screenshot(page, "search.png")
    assert_clean(page)

    shared = page.locator(".hit", has=page.locator(".badge.platforms")).first
    title = shared.locator("h3 a").inner_text()
    shared.locator("h3 a").click()
    page.wait_for_url("**/works/w*")
    assert page.locator("h1").inner_text() == title
    members = page.locator(".members li")
    assert members.count() >= 2
    platforms = members.locator(".platform strong").all_inner_texts()
    assert "国家中小学智慧教育平台" in platforms
    links = members.locator("a[href^='http']")
    assert all(h.startswith(("http://", "https://")) for h in links.evaluate_all("els => els.map(e => e.href)"))
    # provenance: every merged field names the platform that supplied it, linking to that member
    rows = page.locator("table.provenance tbody tr")
    assert rows.count() >= 10
    assert page.locator("#why-h").is_visible() and page.locator(".why li").count() >= 1
    # JSON-LD is data the CSP leaves alone: present, parseable, not executed
    ld = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert "LearningResource" in ld["@type"] and ld["name"] == title and ld["sameAs"]
    screenshot(page, "work.png")
    first_source = rows.first.locator("td.from a").first
    assert first_source.inner_text() in platforms
    first_source.click()
    assert page.evaluate("location.hash").startswith("#member-")
    assert_clean(page)


def test_phone_and_keyboard(server: str, browser: Any) -> None:
    page = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(server + "/search?q=" + "勾股定理")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    assert page.locator("details.facet-box").get_attribute("open") is None  # folded: results first
    page.locator("details.facet-box summary").click()
    assert page.locator("#facet-grade").is_visible()
    screenshot(page, "search-phone.png", docs=False)
    assert_clean(page)

    desk = new_page(browser, viewport={"width": 1280, "height": 900})
    desk.goto(server + "/")
    desk.keyboard.press("Tab")
    focused = desk.evaluate("[document.activeElement.className, document.activeElement.getBoundingClientRect().top]")
    assert focused[0] == "skip" and focused[1] >= 0  # the skip link is first and shows when focused
    desk.keyboard.press("Tab")  # the brand link: keyboard focus is drawn (:focus-visible)
    assert desk.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    desk.keyboard.press("Shift+Tab")
    desk.keyboard.press("Enter")
    assert desk.evaluate("document.activeElement.id") == "main"
    assert_clean(desk)


def test_hostile_record_stays_text(server: str, browser: Any) -> None:
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(server + "/search?q=恶意标题")
    hit = page.locator(".hit h3 a").first
    assert hit.inner_text().startswith('<img src=x onerror="window.__xss=1">')
    hit.click()
    page.wait_for_url("**/works/w*")
    assert page.locator("h1").inner_text().startswith("<img")
    assert "<script>window.__xss=2</script>" in page.locator(".description").inner_text()
    assert page.locator("a[href^='javascript:']").count() == 0
    ld = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert ld["keywords"] == ["</script><script>window.__xss=3</script>"]
    assert page.evaluate("window.__xss") is None
    assert_clean(page)
