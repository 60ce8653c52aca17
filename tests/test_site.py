"""The site and JSON API over a small store with hostile and ordinary records (smoke test).

The teacher pages in depth are in tests/site/ (Flask test client) and
tests/browser/ (headless Chromium); this file keeps the quick end-to-end
check: import → dedupe → index → pages and API, with escaping and errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from repository.app import create_app
from repository.ingest import ensure_source, store_results
from repository.search import open_backend, reindex
from repository.settings import Settings
from repository.store import Store
from repository.views.browse import close_backend
from repository.works import dedupe
from schemas.record import Record


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    settings = Settings(environ={}, INSTANCE_PATH=str(tmp_path), SITE_SHOW_UNPUBLISHED=True)
    store = Store(settings.database_url)
    store.init()
    source = ensure_source(store, "city", kind="file", location="", level="municipal")
    records = [
        Record(source="city", source_record_id="x", title='<script>alert("x")</script>勾股定理',
               description="<img src=x onerror=alert(1)>", url="javascript:alert(1)"),
        Record(source="city", source_record_id="y", title="圆的面积", url="https://city.example/y"),
    ]
    store_results(store, source, records)
    dedupe(store, tmp_path / "dedup" / "state.bin")
    with open_backend(settings) as backend:
        reindex(store, backend)
    app = create_app(settings, store=store)
    app.config["TESTING"] = True
    yield app.test_client()
    close_backend(app)


def test_home_lists_and_searches(client: FlaskClient) -> None:
    assert "2 个教学资源" in client.get("/").get_data(as_text=True)
    page = client.get("/search?q=圆的面积").get_data(as_text=True)
    assert "共 1 个资源" in page and "<mark>圆的面积</mark>" in page
    assert "共 0 个资源" in client.get("/search?q=量子").get_data(as_text=True)
    assert "没有可以查找的文字" in client.get("/search?q=%25").get_data(as_text=True)  # explained, not a 500


def test_harvested_text_is_escaped(client: FlaskClient) -> None:
    results = client.get("/search?q=勾股定理").get_data(as_text=True)
    assert "<script>alert" not in results and "&lt;script&gt;alert" in results
    record_id = Record(source="city", source_record_id="x", title="t").id
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert 'href="javascript:' not in page  # unsafe links are not rendered
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_record_page_and_api(client: FlaskClient) -> None:
    record_id = Record(source="city", source_record_id="y", title="t").id
    assert "在city打开" in client.get(f"/records/{record_id}").get_data(as_text=True)
    data = client.get(f"/api/records/{record_id}").get_json()
    assert data["title"] == "圆的面积" and data["source_level"] == "municipal" and data["work_id"]
    found = client.get("/api/search?q=圆").get_json()
    assert found["total"] == 1 and found["hits"][0]["id"] == data["work_id"]


def test_errors(client: FlaskClient) -> None:
    assert client.get("/records/nope").status_code == 404
    response = client.get("/api/records/nope")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == 404
    response = client.get("/api/search?page_size=1000")
    assert response.status_code == 400 and "page_size" in response.get_json()["error"]["message"]
