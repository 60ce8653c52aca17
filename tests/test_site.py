"""The site and JSON API over a store with hostile and ordinary records."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from repository.app import create_app
from repository.ingest import ensure_source, store_results
from repository.settings import Settings
from repository.store import Store
from schemas.record import Record


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    settings = Settings(environ={}, INSTANCE_PATH=str(tmp_path))
    store = Store(settings.database_url)
    store.init()
    source = ensure_source(store, "city", kind="file", location="", level="municipal")
    records = [
        Record(source="city", source_record_id="x", title='<script>alert("x")</script>勾股定理',
               description="<img src=x onerror=alert(1)>", url="javascript:alert(1)"),
        Record(source="city", source_record_id="y", title="圆的面积", url="https://city.example/y"),
    ]
    store_results(store, source, records)
    app = create_app(settings, store=store)
    app.config["TESTING"] = True
    return app.test_client()


def test_home_lists_and_searches(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "共 2 条资源" in page and "圆的面积" in page
    page = client.get("/?q=圆的").get_data(as_text=True)
    assert "共 1 条资源" in page and "圆的面积" in page
    assert "共 0 条资源" in client.get("/?q=%25").get_data(as_text=True)  # LIKE wildcards are literal


def test_harvested_text_is_escaped(client: FlaskClient) -> None:
    home = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in home and "&lt;script&gt;alert" in home
    record_id = Record(source="city", source_record_id="x", title="t").id
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert 'href="javascript:' not in page  # unsafe links are not rendered
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_record_page_and_api(client: FlaskClient) -> None:
    record_id = Record(source="city", source_record_id="y", title="t").id
    assert "在来源平台打开" in client.get(f"/records/{record_id}").get_data(as_text=True)
    data = client.get(f"/api/records/{record_id}").get_json()
    assert data["title"] == "圆的面积" and data["source_level"] == "municipal"
    listing = client.get("/api/records?q=圆").get_json()
    assert listing["total"] == 1


def test_errors(client: FlaskClient) -> None:
    assert client.get("/records/nope").status_code == 404
    response = client.get("/api/records/nope")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == 404
    response = client.get("/api/records?page_size=1000")
    assert response.status_code == 400 and "page_size" in response.get_json()["error"]["message"]
