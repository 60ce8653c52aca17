"""One instance for the teacher-site tests: the demo federation plus hostile records, deduped and indexed.

Built once per session through the real pipeline (load_sample → store_results →
dedupe → reindex). Works with a city member, and the hostile work, are marked
published (what curator approval does); the rest stay unpublished, so the
approved-only default has something to hide. Two apps read it: `client`
(default settings: approved only) and `client_all` (SITE_SHOW_UNPUBLISHED).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from repository.app import create_app
from repository.ingest import ensure_source, store_results
from repository.models import RecordRow, Source, Work
from repository.sample import load_sample
from repository.search import open_backend, reindex
from repository.settings import Settings
from repository.store import Store
from repository.views.browse import close_backend
from repository.works import dedupe
from schemas.record import Agent, Curriculum, Edition, Identifier, Record, Term

EVIL = '<script>alert("x")</script>'
"""Marker in every hostile field; its escaped form is &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;."""
CHAPTER = "</script><script>alert(2)</script>第九章 恶意章节"
MERGED, DELETED = "wmerged0000000000000", "wdeleted000000000000"


def hostile(source: str, n: int) -> Record:
    """A record whose every displayed field carries markup (two sources share an identifier: one work)."""
    return Record(
        source=source, source_record_id=f"evil-{n}", title=f"{EVIL}勾股定理 恶意标题",
        description=f"<img src=x onerror=alert(1)>简介{EVIL}", url="javascript:alert(1)",
        identifiers=[Identifier(scheme="smartedu", value="evil-shared")],
        keywords=[f"<b>关键词</b>{EVIL}"], language="zh",
        curriculum=Curriculum(
            stage=Term(code="junior", zh="初中", en="Junior secondary school"), grade=8, grade_label="八年级",
            subject=Term(code="math", zh="数学", en="Mathematics"),
            edition=Edition(code="evil-ed", label=f"<b>恶意版</b>{EVIL}", publisher=f"<i>出版社</i>{EVIL}"),
            volume=Term(code="vol2", zh="下册", en="Volume 2"), chapter_path=[CHAPTER, f"第1节{EVIL}"], class_hour=1,
        ),
        resource_type=Term(code="courseware", zh="课件", en="Courseware (slides)"), format=f"text/html{EVIL}",
        duration="PT5M", thumbnails=["javascript:alert(4)"], honours=["部优"],
        agents=[Agent(name=f"<i>教师</i>{EVIL}", role="teacher", school=f"<u>学校</u>{EVIL}")],
        licence=f"<svg onload=alert(3)>{EVIL}", rights=f"<svg onload=alert(3)>{EVIL}",
    )


@dataclass
class Site:
    settings: Settings
    store: Store
    root: Path
    evil_work: str
    evil_records: list[str]
    published: set[str]
    unpublished: set[str]


def _instance(root: Path) -> Site:
    settings = Settings(environ={}, INSTANCE_PATH=str(root))
    store = Store(settings.database_url)
    store.init()
    for _ in load_sample(store):
        pass
    for n, name in enumerate(("evil", "evil2")):
        source = ensure_source(store, name, kind="file", location="", level="school")
        if n == 0:
            store.update_source(name, options={"label": f"<b>恶意平台</b>{EVIL}"})
        store_results(store, source, [hostile(name, n)])
    dedupe(store, root / "dedup" / "state.bin")
    evil_records = [hostile(name, n).id for n, name in enumerate(("evil", "evil2"))]
    with store.session(write=True) as s:
        city = s.scalar(select(Source.id).where(Source.name == "city"))
        chosen = set(s.scalars(select(RecordRow.work_id).where(
            (RecordRow.source_id == city) | RecordRow.id.in_(evil_records))))
        s.execute(update(Work).where(Work.id.in_(chosen)).values(published=True, ever_published=True))
        every = set(s.scalars(select(Work.id).where(Work.status == "active")))
        evil_work = s.scalar(select(RecordRow.work_id).where(RecordRow.id == evil_records[0]))
        # tombstones as dedupe leaves them: one merged into a published work, one deleted
        s.add(Work(id=MERGED, status="merged", successor_id=min(chosen), published=False, ever_published=True))
        s.add(Work(id=DELETED, status="deleted", published=False, ever_published=True))
    with open_backend(settings) as backend:
        reindex(store, backend)
    return Site(settings, store, root, evil_work, evil_records, chosen, every - chosen)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return _instance(tmp_path_factory.mktemp("site"))


def _app(site: Site, **overrides: object) -> Iterator[Flask]:
    settings = Settings(environ={}, INSTANCE_PATH=str(site.root), **overrides)
    app = create_app(settings, store=site.store)
    app.config.update(TESTING=True)
    yield app
    close_backend(app)


@pytest.fixture(scope="session")
def app(site: Site) -> Iterator[Flask]:
    yield from _app(site)


@pytest.fixture(scope="session")
def app_all(site: Site) -> Iterator[Flask]:
    yield from _app(site, SITE_SHOW_UNPUBLISHED=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def client_all(app_all: Flask) -> FlaskClient:
    return app_all.test_client()


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    """GET url, check the status, return the body."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def assert_no_raw_markup(html: str) -> None:
    """Hostile harvested text appears only escaped; no unsafe link is rendered."""
    for raw in ('<script>alert("x")', "<img src=x", "<svg onload", "<b>恶意", "<i>教师", "<u>学校", "<b>关键词",
                "<i>出版社", "</script><script>alert(2)"):
        assert raw not in html, raw
    assert 'href="javascript:' not in html and "src=\"javascript:" not in html
