"""The review rubric: its rules (repository/review_rubric.py) and the review page that applies them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from repository import review_rubric
from repository.models import AuditLog, RecordRow, ReviewAction, User
from repository.review_rubric import ReviewError, check, dimensions, from_form, from_json
from schemas.vocab import load_data
from tests.site.conftest import EVIL, Site, _app, _instance
from tests.site.test_review import ALL_PASS, PASSWORD, pending_single, signed_in, token

NATIONAL = ["政治性", "导向性", "科学性", "适用性", "规范性", "时效性", "公益性"]


def test_the_dimensions_are_the_national_ones_plus_technical_and_copyright() -> None:
    labels = [term["zh"] for term in load_data("review_dimensions")["terms"]]
    assert labels == [*NATIONAL, "技术性", "版权"]
    assert [review_rubric.dimension_label(code) for code in dimensions()] == labels
    assert review_rubric.dimension_label("copyright", "en") == "Copyright"


def test_approve_needs_every_dimension_passed() -> None:
    verdict = check("approve", from_form(ALL_PASS))
    assert verdict.status == "approved" and set(verdict.scores) == set(dimensions())
    partial = {k: v for k, v in ALL_PASS.items() if k != "score-copyright"}
    with pytest.raises(ReviewError) as caught:
        check("approve", from_form(partial))
    assert caught.value.code == "incomplete_rubric" and caught.value.values["dimensions"] == ["copyright"]
    with pytest.raises(ReviewError) as caught:
        check("approve", from_form({**ALL_PASS, "score-scientific": "fail"}), "looks fine otherwise")
    assert caught.value.code == "failed_dimension" and caught.value.values["dimensions"] == ["scientific"]
    with pytest.raises(ReviewError):
        check("approve", {})


def test_reject_and_return_need_a_written_reason() -> None:
    for decision in ("reject", "return"):
        with pytest.raises(ReviewError) as caught:
            check(decision, {}, "   ")
        assert caught.value.code == "reason_required"
        with pytest.raises(ReviewError):  # a failed dimension without a word about it is not a reason
            check(decision, from_form({"score-copyright": "fail"}))
        assert check(decision, {}, "章节不对").comment == "章节不对"
        verdict = check(decision, from_form({"score-copyright": "fail", "note-copyright": "未注明授权"}))
        assert verdict.failed() == ["copyright"] and verdict.scores["copyright"]["comment"] == "未注明授权"
    with pytest.raises(ReviewError) as caught:
        check("publish", {}, "x")
    assert caught.value.code == "bad_decision"


def test_bad_scores_are_refused() -> None:
    with pytest.raises(ReviewError):
        from_form({"score-political": "maybe"})
    with pytest.raises(ReviewError) as caught:
        from_form({"note-political": "a note without a verdict"})
    assert caught.value.key == "rubric.note_without_result"
    with pytest.raises(ReviewError) as caught:
        from_json({"beauty": "pass"})
    assert caught.value.code == "unknown_dimension"
    for bad in (["pass"], {"political": 1}, {"political": {"result": "pass", "x": 1}},
                {"political": {"result": "pass", "comment": 3}}):
        with pytest.raises(ReviewError):
            from_json(bad)
    both = from_json({"copyright": {"result": "fail", "comment": "x"}, "political": "pass"})
    assert list(both) == ["political", "copyright"]  # the rubric's order
    assert from_json(None) == {}


@pytest.fixture(scope="module")
def rsite(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = _instance(Path(tmp_path_factory.mktemp("rubric")))
    with site.store.session(write=True) as s:
        s.add(User(username="cura", password_hash=generate_password_hash(PASSWORD), role="curator"))
    return site


@pytest.fixture(scope="module")
def rapp(rsite: Site) -> Iterator[Flask]:
    yield from _app(rsite)


@pytest.fixture
def curator(rapp: Flask) -> FlaskClient:
    return signed_in(rapp, "cura")


def _status(site: Site, record: str) -> str:
    with site.store.session() as s:
        return s.scalar(select(RecordRow.review_status).where(RecordRow.id == record))


def test_the_page_shows_the_rubric(curator: FlaskClient, rsite: Site) -> None:
    record, _work, _title = pending_single(rsite)
    html = curator.get(f"/review/{record}").get_data(as_text=True)
    for label in [*NATIONAL, "技术性", "版权"]:
        assert f">{label}</th>" in html
    for code in dimensions():
        assert f'name="score-{code}" value="pass"' in html and f'name="score-{code}" value="fail"' in html
    assert "checked" not in html  # nothing is passed by default


def test_incomplete_rubric_is_refused_with_a_message(curator: FlaskClient, rsite: Site) -> None:
    record, _work, _title = pending_single(rsite)
    url = f"/review/{record}"
    partial = {k: v for k, v in ALL_PASS.items() if k not in ("score-copyright", "score-timeliness")}
    response = curator.post(url, data={"decision": "approve", "comment": "好课", "csrf_token": token(curator, url),
                                       **partial})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "尚未判定：时效性, 版权" in html and 'role="alert"' in html
    assert 'value="pass" aria-label="政治性: 合格" checked' in html and ">好课</textarea>" in html  # kept
    failed = curator.post(url, data={"decision": "approve", "csrf_token": token(curator, url),
                                     **{**ALL_PASS, "score-political": "fail"}})
    assert failed.status_code == 400 and "有不合格的维度，不能通过：政治性" in failed.get_data(as_text=True)
    no_reason = curator.post(url, data={"decision": "reject", "csrf_token": token(curator, url)})
    assert no_reason.status_code == 400 and "须写明理由" in no_reason.get_data(as_text=True)
    assert curator.post(url, data={"decision": "approve", **ALL_PASS}).status_code == 400  # no CSRF token
    assert _status(rsite, record) == "pending"
    with rsite.store.session() as s:
        assert s.scalar(select(ReviewAction.id).where(ReviewAction.record_id == record)) is None


def test_scores_go_to_the_action_the_audit_and_the_trail(curator: FlaskClient, rsite: Site) -> None:
    record, _work, _title = pending_single(rsite)
    url = f"/review/{record}"
    data = {**ALL_PASS, "score-copyright": "fail", "note-copyright": f"授权不明{EVIL}", "decision": "return",
            "csrf_token": token(curator, url)}
    assert curator.post(url, data=data).status_code == 302
    assert _status(rsite, record) == "returned"
    with rsite.store.session() as s:
        action = s.scalar(select(ReviewAction).where(ReviewAction.record_id == record))
        entry = s.scalar(select(AuditLog).where(AuditLog.target_id == record, AuditLog.action == "record.returned"))
    assert action.scores["copyright"] == {"result": "fail", "comment": f"授权不明{EVIL}"}
    assert action.scores["political"] == {"result": "pass"} and action.actor == "cura" and action.level == "district"
    assert entry.before["review_status"] == "pending" and entry.after["review_status"] == "returned"
    assert entry.after["scores"] == action.scores and entry.actor == "cura"
    html = curator.get(url).get_data(as_text=True)
    assert "版权: 不合格" in html and "政治性: 合格" in html and "待审核 → 退回修改" in html
    assert EVIL not in html and "授权不明&lt;script&gt;" in html

    # the record comes back fixed: a full rubric approves it, and the trail keeps both decisions
    response = curator.post(url, data={**ALL_PASS, "decision": "approve", "csrf_token": token(curator, url)})
    assert response.status_code == 302 and _status(rsite, record) == "approved"
    html = curator.get(url).get_data(as_text=True)
    assert "退回修改 → 已审核" in html and html.index("版权: 不合格") < html.index("record.approved")


def test_decisions_need_a_reviewer_role(rapp: Flask, rsite: Site) -> None:
    """Every state-changing review route refuses a signed-in account without a reviewer role (403)."""
    from flask import g

    from repository.views import review

    record, _work, _title = pending_single(rsite)
    routes = ((f"/review/{record}", lambda: review.decide(record), {"decision": "approve", **ALL_PASS}),
              ("/review/approve-selected", review.approve_selected, {"record": record}),
              ("/review/approve-source", review.approve_all, {"source": "city"}))
    for url, view, data in routes:
        with rapp.test_request_context(url, method="POST", data=data):
            g.user = {"username": "cura", "role": "teacher"}
            with pytest.raises(Exception) as caught:
                view()
            assert getattr(caught.value, "code", None) == 403, url
    assert _status(rsite, record) == "pending"
