"""The review queue ordered and filtered by the automatic checks, and the record page's check table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from repository.checks.base import SEVERITY
from repository.checks.registry import CHECKS
from repository.checks.runner import run_checks
from repository.db import utcnow
from repository.i18n import CATALOGUE_DIR
from repository.models import RecordCheck, RecordRow, User
from repository.settings import Settings
from tests.site.conftest import Site, _app, _instance, assert_no_raw_markup

PASSWORD = "checks pass 123"
ROW = re.compile(r'<tr><td>(?:<input[^>]*></td><td>)?<a href="/review/(r[0-9a-f]+)">')


@pytest.fixture(scope="module")
def csite(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Its own instance (these tests change datestamps), checked once."""
    site = _instance(Path(tmp_path_factory.mktemp("checks")))
    run_checks(site.store, Settings(environ={}))
    with site.store.session(write=True) as s:
        s.add(User(username="checker", password_hash=generate_password_hash(PASSWORD), role="curator"))
    return site


@pytest.fixture(scope="module")
def capp(csite: Site) -> Iterator[Flask]:
    yield from _app(csite)


@pytest.fixture
def curator(capp: Flask) -> FlaskClient:
    client = capp.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    response = client.post("/login", data={"username": "checker", "password": PASSWORD, "csrf_token": token[1]})
    assert response.status_code == 302
    return client


def listed(html: str) -> list[str]:
    return ROW.findall(html)


def severity_of(site: Site) -> dict[str, int]:
    with site.store.session() as s:
        found: dict[str, int] = {}
        for rid, outcome in s.execute(select(RecordCheck.record_id, RecordCheck.outcome)):
            found[rid] = max(found.get(rid, 0), SEVERITY[outcome])
        return found


def test_every_finding_code_and_check_name_is_in_every_catalogue() -> None:
    wanted = {f"check.name.{c.name}" for c in CHECKS} | {f"check.{code}" for c in CHECKS for code in c.codes}
    wanted |= {"check.error", "check.unreadable"} | {f"check.outcome.{o}" for o in SEVERITY}
    for path in CATALOGUE_DIR.glob("*.json"):
        missing = wanted - set(json.loads(path.read_text("utf-8")))
        assert not missing, (path.name, sorted(missing))


def test_queue_puts_failures_first_then_warnings_then_the_oldest(curator: FlaskClient, csite: Site) -> None:
    html = curator.get("/review").get_data(as_text=True)
    ids = listed(html)
    assert len(ids) == 50
    severities = severity_of(csite)
    ranks = [severities.get(rid, 0) for rid in ids]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] == 2  # the hostile records fail technical checks
    assert csite.evil_records[0] in ids[:5]
    with csite.store.session() as s:
        stamps = dict(s.execute(select(RecordRow.id, RecordRow.datestamp).where(RecordRow.id.in_(ids))).all())
    for rank in set(ranks):
        same = [stamps[rid] for rid, r in zip(ids, ranks, strict=True) if r == rank]
        assert same == sorted(same)
    assert 'class="flag fail"' in html and "技术字段" in html  # the row's flags, labelled
    assert_no_raw_markup(html)


def test_the_oldest_record_of_a_severity_comes_first(curator: FlaskClient, csite: Site) -> None:
    severities = severity_of(csite)
    with csite.store.session() as s:
        clean = s.scalars(select(RecordRow.id).where(RecordRow.review_status == "pending")
                          .order_by(RecordRow.id.desc())).all()
    chosen = next(rid for rid in clean if severities.get(rid, 0) == 0)
    with csite.store.session(write=True) as s:
        s.execute(update(RecordRow).where(RecordRow.id == chosen).values(datestamp=utcnow() - timedelta(days=400)))
    ids = listed(curator.get("/review?age=300").get_data(as_text=True))
    assert ids == [chosen]  # the age filter: unchanged for at least 300 days
    assert curator.get("/review?age=x").status_code == 400
    page = 1
    while True:  # the pass records start after every flagged one; the old one leads them
        ids = listed(curator.get(f"/review?page={page}").get_data(as_text=True))
        clean_here = [rid for rid in ids if severities.get(rid, 0) == 0]
        if clean_here:
            assert clean_here[0] == chosen
            break
        page += 1


def test_filter_by_flag(curator: FlaskClient, csite: Site) -> None:
    with csite.store.session() as s:
        expected = set(s.scalars(select(RecordCheck.record_id).join(RecordRow, RecordRow.id == RecordCheck.record_id)
                                 .where(RecordCheck.name == "technical", RecordCheck.outcome != "pass",
                                        RecordRow.review_status == "pending")))
    assert expected and set(csite.evil_records) <= expected
    html = curator.get("/review?flag=technical").get_data(as_text=True)
    assert set(listed(html)) == expected and f"待审核 {len(expected)} 条" in html
    assert 'value="technical" selected' in html
    assert listed(curator.get("/review?flag=link").get_data(as_text=True)) == []  # links were not checked
    assert curator.get("/review?flag=nonsense").status_code == 400


def test_filter_by_subject_and_keep_filters_across_pages(curator: FlaskClient, csite: Site) -> None:
    with csite.store.session() as s:
        pending = s.execute(select(RecordRow.id, RecordRow.data).where(RecordRow.review_status == "pending",
                                                                       RecordRow.deleted.is_(False))).all()
    physics = {rid for rid, data in pending if json.loads(data).get("curriculum", {}).get("subject", {})
               .get("code") == "physics"}
    assert physics
    html = curator.get("/review?subject=physics").get_data(as_text=True)
    assert f"待审核 {len(physics)} 条" in html and set(listed(html)) <= physics
    assert curator.get("/review?subject=alchemy").status_code == 400
    total = len(pending)
    assert total > 50
    html = curator.get("/review?subject=math&flag=required").get_data(as_text=True)
    for link in re.findall(r'rel="next" href="([^"]+)"', html):
        assert "subject=math" in link and "flag=required" in link


def test_record_page_shows_its_checks_beside_its_duplicates(curator: FlaskClient, csite: Site) -> None:
    evil, other = csite.evil_records
    html = curator.get(f"/review/{evil}").get_data(as_text=True)
    section = html[html.index('class="record-checks"'):]
    assert "自动检查" in section and "本记录" in section and "技术字段" in section and "未通过" in section
    assert "链接不是 http/https" in section  # a finding, translated
    assert f'href="/review/{other}"' in section  # the duplicate's column
    assert_no_raw_markup(html)  # findings quote harvested values: escaped
    english = curator.get(f"/review/{evil}?lang=en").get_data(as_text=True)
    assert "Automatic checks" in english and "The link is not http/https" in english


def test_record_without_results_says_so(curator: FlaskClient, csite: Site) -> None:
    with csite.store.session(write=True) as s:
        rid = s.scalar(select(RecordRow.id).order_by(RecordRow.id))
        s.execute(RecordCheck.__table__.delete().where(RecordCheck.record_id == rid))
    html = curator.get(f"/review/{rid}").get_data(as_text=True)
    assert "尚未检查" in html
    run_checks(csite.store, Settings(environ={}))
    with csite.store.session() as s:
        assert s.scalar(select(func.count()).select_from(RecordCheck).where(RecordCheck.record_id == rid)) == 6
