"""Facet labels from the per-process maps, the sources cache, and the search answer's work URLs."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from repository.views import labels


def test_labels_come_from_the_vocabularies_in_the_asked_language(app: Flask) -> None:
    with app.test_request_context("/"):
        assert labels.label("grade", 8) == labels.label("grade", "08") == "八年级"
        assert labels.label("subject", "math") == "数学"
        assert labels.label("subject", "math", "en") == "Mathematics"
        assert labels.label("review_status", "approved", "en") != labels.label("review_status", "approved", "zh")
        assert labels.label("subject", "no-such-code") == "no-such-code"  # the code, never an empty string


def test_source_labels_are_reread_after_their_cache_time(app: Flask, site, monkeypatch: pytest.MonkeyPatch) -> None:
    before = site.store.get_source("evil2").options
    try:
        with app.test_request_context("/"):
            first = labels.source_info("evil2")["label"]
            site.store.update_source("evil2", options={"label": "新平台名"})
            assert labels.source_info("evil2")["label"] == first  # cached: no store query per request
            monkeypatch.setattr(labels, "SOURCES_SECONDS", -1.0)
            assert labels.source_info("evil2")["label"] == "新平台名"
    finally:
        site.store.update_source("evil2", options=before)
        app.extensions.pop("huiju.sources", None)


def test_search_hits_link_the_same_urls_as_the_router(client_all: FlaskClient, app_all: Flask) -> None:
    hits = client_all.get("/api/search?q=&page_size=5").get_json()["hits"]
    assert hits
    with app_all.test_request_context("/"):
        for hit in hits:
            assert hit["url"] == url_for("api.work", work_id=hit["id"], _external=True)
            assert hit["html_url"] == url_for("pages.work", work_id=hit["id"], _external=True)
