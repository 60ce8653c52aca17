"""Curator review pages: every route for anonymous, curator and admin; decisions audited and published."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from repository.models import AuditLog, RecordRow, ReviewAction, Source, User, Work
from repository.review_rubric import dimensions
from repository.search import PENDING, follow_store, open_backend
from repository.views.browse import backend
from tests.site.conftest import EVIL, Site, _app, _instance

PASSWORD = "review pass 123"
ALL_PASS = {f"score-{code}": "pass" for code in dimensions()}
"""The rubric ticked pass on every dimension: what an approval needs (tests/site/test_review_rubric.py)."""


@pytest.fixture(scope="module")
def rsite(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """An instance of its own: these tests approve records, the other site tests count on the shared one."""
    site = _instance(Path(tmp_path_factory.mktemp("review")))
    with site.store.session(write=True) as s:
        s.add(User(username="cura", password_hash=generate_password_hash(PASSWORD), role="curator"))
        s.add(User(username="boss", password_hash=generate_password_hash(PASSWORD), role="admin"))
    return site


@pytest.fixture(scope="module")
def rapp(rsite: Site) -> Iterator[Flask]:
    yield from _app(rsite)


def token(client: FlaskClient, url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert found
    return found.group(1)


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": name, "password": PASSWORD,
                                           "csrf_token": token(client, "/login")})
    assert response.status_code == 302
    return client


@pytest.fixture
def curator(rapp: Flask) -> FlaskClient:
    return signed_in(rapp, "cura")


@pytest.fixture
def admin(rapp: Flask) -> FlaskClient:
    return signed_in(rapp, "boss")


def pending_single(site: Site) -> tuple[str, str, str]:
    """(record id, work id, title) of a pending record that is the only member of an unpublished work."""
    with site.store.session() as s:
        single = select(RecordRow.work_id).group_by(RecordRow.work_id).having(func.count() == 1)
        row = s.execute(select(RecordRow.id, RecordRow.work_id, RecordRow.title)
                        .join(Work, Work.id == RecordRow.work_id)
                        .where(RecordRow.review_status == "pending", Work.published.is_(False),
                               RecordRow.work_id.in_(single)).order_by(RecordRow.id)).first()
    assert row is not None
    return row.id, row.work_id, row.title


def any_record(site: Site) -> str:
    with site.store.session() as s:
        return s.scalar(select(RecordRow.id).order_by(RecordRow.id))


def test_anonymous_is_sent_to_login_everywhere(rapp: Flask, rsite: Site) -> None:
    client = rapp.test_client()
    record = any_record(rsite)
    for url in ("/review", f"/review/{record}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    csrf = token(client, "/login")
    for url, data in ((f"/review/{record}", {"decision": "approve"}), ("/review/approve-source", {"source": "city"})):
        response = client.post(url, data={**data, "csrf_token": csrf})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    with rsite.store.session() as s:
        assert not s.scalar(select(func.count()).select_from(ReviewAction))


def test_wrong_role_is_403(rapp: Flask, rsite: Site) -> None:
    from repository import auth

    @auth.role_required("admin")
    def admin_only() -> str:
        return "ok"

    with rapp.test_request_context("/x"):
        from flask import g
        g.user = {"username": "cura", "role": "curator"}
        with pytest.raises(Exception) as caught:
            admin_only()
        assert getattr(caught.value, "code", None) == 403
        g.user = {"username": "x", "role": "teacher"}  # a role the queue does not know
        from repository.views.review import queue
        with pytest.raises(Exception) as caught:
            queue()
        assert getattr(caught.value, "code", None) == 403


@pytest.mark.parametrize("who", ["curator", "admin"])
def test_queue_filters_and_pages(who: str, request: pytest.FixtureRequest, rsite: Site) -> None:
    client: FlaskClient = request.getfixturevalue(who)
    html = client.get("/review").get_data(as_text=True)
    assert "审核队列" in html and "/review/" in html
    assert EVIL not in html  # hostile titles escaped
    with rsite.store.session() as s:
        city_pending = s.scalar(select(func.count()).select_from(RecordRow).join(Source)
                                .where(Source.name == "city", RecordRow.review_status == "pending"))
    filtered = client.get("/review?source=city").get_data(as_text=True)
    assert f"待审核 {city_pending} 条" in filtered and 'name="source" value="city"' in filtered
    assert client.get("/review?level=school").status_code == 200
    assert client.get("/review?level=galaxy").status_code == 400
    assert client.get("/review?source=nope").status_code == 400
    assert client.get("/review?page=x").status_code == 400
    assert client.get("/review?page=999").status_code == 200


def test_record_page_shows_members_unmapped_and_trail(curator: FlaskClient, rsite: Site) -> None:
    evil = rsite.evil_records[0]
    html = curator.get(f"/review/{evil}").get_data(as_text=True)
    assert "同一作品的其他记录" in html and f"/review/{rsite.evil_records[1]}" in html  # the other member
    assert "未能映射的值" in html and "审核留痕" in html and 'name="csrf_token"' in html
    assert '<script>alert("x")' not in html
    assert curator.get("/review/nosuchrecord").status_code == 404


def test_decisions_are_audited_and_csrf_protected(curator: FlaskClient, rsite: Site) -> None:
    record = rsite.evil_records[1]
    url = f"/review/{record}"
    assert curator.post(url, data={"decision": "reject"}).status_code == 400  # no token
    csrf = token(curator, url)
    assert curator.post(url, data={"decision": "delete", "csrf_token": csrf}).status_code == 400
    response = curator.post(url, data={"decision": "return", "comment": "请补充章节", "csrf_token": csrf})
    assert response.status_code == 302
    html = curator.get(url).get_data(as_text=True)
    assert "退回修改" in html and "请补充章节" in html and "record.returned" in html and "cura" in html
    curator.post(url, data={"decision": "reject", "comment": "版权不明", "csrf_token": csrf})
    with rsite.store.session() as s:
        assert s.scalar(select(RecordRow.review_status).where(RecordRow.id == record)) == "rejected"
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.target_id == record)))
    assert actions == ["record.returned", "record.rejected"]


def test_approval_publishes_and_reaches_teacher_search(rapp: Flask, admin: FlaskClient, rsite: Site) -> None:
    record, work, title = pending_single(rsite)
    teacher = rapp.test_client()
    assert teacher.get(f"/api/works/{work}").status_code == 404
    hits = teacher.get("/api/search", query_string={"q": title, "page_size": 100}).get_json()["hits"]
    assert work not in [h["id"] for h in hits]
    url = f"/review/{record}"
    response = admin.post(url, data={"decision": "approve", "comment": "ok", "csrf_token": token(admin, url),
                                     **ALL_PASS})
    assert response.status_code == 302
    assert teacher.get(f"/api/works/{work}").status_code == 200
    hits = teacher.get("/api/search", query_string={"q": title, "page_size": 100}).get_json()["hits"]
    assert work in [h["id"] for h in hits]
    with rsite.store.session() as s:
        assert s.scalar(select(Work.published).where(Work.id == work))
        assert s.scalar(select(ReviewAction.actor).where(ReviewAction.record_id == record)) == "boss"


def test_busy_index_keeps_the_decision(rapp: Flask, curator: FlaskClient, rsite: Site) -> None:
    """Another process's index writer (here: one held by the test) makes the page wait about
    WEB_INDEX_WAIT, not INDEX_LOCK_TIMEOUT; the decision stands, the page says the index follows
    later, and the next index update (any dedupe, review or harvest) brings the owed work in."""
    from repository.views.review import WEB_INDEX_WAIT

    record, work, title = pending_single(rsite)
    url = f"/review/{record}"
    data = {"decision": "approve", "csrf_token": token(curator, url), **ALL_PASS}
    holder = open_backend(rsite.settings)
    try:
        holder.delete([])  # takes the writer lock without changing anything
        started = time.monotonic()
        response = curator.post(url, data=data)
        waited = time.monotonic() - started
    finally:
        holder.close()
    assert response.status_code == 302
    assert WEB_INDEX_WAIT * 0.8 <= waited < rsite.settings["INDEX_LOCK_TIMEOUT"]
    assert "huiju reindex" in curator.get(url).get_data(as_text=True)
    with rsite.store.session() as s:
        assert s.scalar(select(RecordRow.review_status).where(RecordRow.id == record)) == "approved"
    teacher = rapp.test_client()

    def found() -> bool:
        hits = teacher.get("/api/search", query_string={"q": title, "page_size": 100}).get_json()["hits"]
        return work in [h["id"] for h in hits]

    assert not found() and work in rsite.store.get_setting(PENDING)["changed"]
    follow_store(rsite.settings, rsite.store, set())  # e.g. the next dedupe, with nothing new of its own
    with rapp.app_context():
        backend().refresh()
    assert found() and not rsite.store.get_setting(PENDING)


def test_bulk_approve_a_source(curator: FlaskClient, rsite: Site) -> None:
    with rsite.store.session() as s:
        name = s.scalar(select(Source.name).join(RecordRow).where(RecordRow.review_status == "pending")
                        .group_by(Source.name).order_by(func.count().desc()))
    assert curator.post("/review/approve-source", data={"source": name}).status_code == 400  # no token
    csrf = token(curator, f"/review?source={name}")
    assert curator.post("/review/approve-source", data={"source": "nope", "csrf_token": csrf}).status_code == 400
    response = curator.post("/review/approve-source", data={"source": name, "csrf_token": csrf})
    assert response.status_code == 302
    with rsite.store.session() as s:
        left = s.scalar(select(func.count()).select_from(RecordRow).join(Source)
                        .where(Source.name == name, RecordRow.review_status == "pending",
                               RecordRow.deleted.is_(False)))
    assert left == 0
    assert "待审核 0 条" in curator.get(f"/review?source={name}").get_data(as_text=True)

