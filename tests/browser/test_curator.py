"""A curator in a real browser: log in, pick a flagged pending record in the queue with the keyboard, fill the
rubric, approve it; then a teacher's search shows the work that was hidden before."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from repository.models import RecordCheck, RecordRow, Source, Work
from repository.publication import work_record
from repository.review_rubric import dimensions
from repository.store import Store
from tests.browser.conftest import assert_clean, new_page, screenshot

pytestmark = pytest.mark.browser


def _candidates(instance: Path) -> tuple[dict[str, tuple[str, str, bool]], list[str]]:
    """Flagged pending records whose work no one has published, record id → (work id, work title, failed a
    check), and the source names."""
    store = Store(f"sqlite:///{instance / 'huiju.db'}")
    flagged = select(RecordCheck.record_id).where(RecordCheck.outcome.in_(("warn", "fail")))
    failed = select(RecordCheck.record_id).where(RecordCheck.outcome == "fail")
    try:
        with store.session() as s:
            rows = s.execute(
                select(RecordRow.id, Work.id, Work.data, RecordRow.id.in_(failed))
                .join(Work, Work.id == RecordRow.work_id)
                .where(RecordRow.review_status == "pending", RecordRow.deleted.is_(False), Work.published.is_(False),
                       Work.status == "active", RecordRow.id.in_(flagged)))
            found = {rid: (wid, work_record(data).title, bool(bad)) for rid, wid, data, bad in rows if data}
            sources = list(s.scalars(select(Source.name).order_by(Source.name)))
    finally:
        store.close()
    return found, sources


def _teacher_sees(browser: Any, server: str, title: str, work_id: str) -> bool:
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(server + "/search?q=" + quote(title) + "&page_size=100")
    seen = page.locator(f".hit a[href*='/works/{work_id}']").count() > 0
    assert_clean(page)
    page.context.close()
    return seen


def test_curator_reviews_a_flagged_record(server: str, browser: Any, demo_instance: Path) -> None:
    candidates, sources = _candidates(demo_instance)
    assert candidates, "the demo plants flagged records (automatic checks) in sources no one approved"
    password = (demo_instance / "demo" / "curator-password").read_text().strip()
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(server + "/review")
    assert "/login" in page.url, page.url
    page.get_by_label("用户名").fill("curator")
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert page.url.endswith("/review"), (page.url, page.content()[:2000])

    # the queue (flagged first): a candidate on the first page of a source's queue, a warning rather than a failure
    found = []
    for name in sources:
        page.goto(server + "/review?source=" + quote(name))
        ids = page.locator("#queue-table tbody input[type=checkbox]").evaluate_all("els => els.map(e => e.value)")
        found += [(candidates[rid][2], name, i, rid) for i, rid in enumerate(ids) if rid in candidates]
    assert found, "no flagged unpublished record on the first page of any source's queue"
    _bad, name, index, record = min(found)
    page.goto(server + "/review?source=" + quote(name))
    work_id, title, _ = candidates[record]
    assert not _teacher_sees(browser, server, title, work_id)  # hidden until a curator approves

    rows = page.locator("#queue-table tbody tr")
    assert rows.nth(index).locator("td.flags .flag").count() >= 1  # flagged, as the queue shows it
    assert page.locator(".shortcuts kbd", has_text="j").count() == 1  # the legend
    for _ in range(index + 1):
        page.keyboard.press("j")
    assert rows.nth(index).get_attribute("aria-current") == "true"
    box = rows.nth(index).locator("input[type=checkbox]")
    assert not box.is_checked()
    page.keyboard.press("x")
    assert box.is_checked()
    screenshot(page, "review-queue.png")
    page.keyboard.press("x")
    assert not box.is_checked()
    assert_clean(page)
    page.keyboard.press("o")
    page.wait_for_url(f"**/review/{record}")

    # the review page: automatic flags shown, rubric filled, approval
    assert page.locator(".record-checks .flag").count() >= 1
    with page.expect_navigation():
        page.get_by_role("button", name="通过", exact=True).click()  # nothing ticked: refused, with the reason
    assert page.locator("#rr-error").inner_text().startswith("通过前须逐项判定各维度")
    assert len(page.errors) == 1 and "400" in page.errors[0]  # the refused POST, as the console reports it
    page.errors.clear()  # that 400 was the point
    page.goto(server + f"/review/{record}")
    for code in dimensions():
        page.locator(f"#s-{code}-pass").check()
    page.get_by_label("审核意见").fill("自动检查的提示已核对，内容无误。")
    page.locator(".record-checks").evaluate("e => e.scrollIntoView()")  # the README shows this screen: flags, rubric
    screenshot(page, "review.png")
    with page.expect_navigation():  # from the keyboard (a click right after a full-page screenshot can miss)
        page.get_by_role("button", name="通过", exact=True).focus()
        page.keyboard.press("Enter")
    refused = page.locator("#rr-error")
    assert refused.count() == 0, refused.inner_text()
    assert page.url.endswith(f"/review/{record}")
    assert "已记录：已审核" in page.locator(".flashes").inner_text()
    assert page.locator(".facts .status").inner_text() == "已审核"
    trail = page.locator("ol.audit").inner_text()
    assert "curator" in trail and "record.approved" in trail and "版权: 合格" in trail and "待审核 → 已审核" in trail
    assert_clean(page)

    assert _teacher_sees(browser, server, title, work_id)
