"""Hostile harvested text on every page that shows it: nothing executes, no unsafe link, no spoofing.

The hostile records arrive the way a harvest brings them: oai_dc XML through
the crosswalk and store_results, then dedupe and reindex, then published.
Every page that shows them (search results, work, record, browse, JSON API,
OAI-PMH, the curator's review pages) is checked for: no executable markup,
only http(s) links, no user text inside style attributes, and no
right-to-left override characters (decided: stripped at normalisation,
schemas.text.clean, so no page, export or index ever carries them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree, html
from sqlalchemy import select

from repository.models import RecordRow
from repository.settings import Settings
from repository.store import Store
from tests.reliability.hostile_site import BIDI, HOSTILE, PASSWORD


def get(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def assert_safe_html(text: str) -> None:
    """No executable markup from the records, only http(s) links, no record text in style attributes."""
    tree = html.fromstring(text)
    for script in tree.iter("script"):
        assert "evil" not in (script.get("src") or "")
        if script.get("type") == "application/ld+json":  # data, not code: must stay one JSON value
            assert "<" not in (script.text or "")
            assert_safe_links(json.loads(script.text or "null"))
        else:
            assert "alert" not in (script.text or ""), etree.tostring(script)
    assert not list(tree.iter("style")) or all("expression" not in (s.text or "") for s in tree.iter("style"))
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert not name.startswith("on"), (element.tag, name, value)
            if name == "style":
                assert "javascript" not in value and "expression" not in value and "勾股" not in value
            if name in ("href", "src", "action", "formaction", "poster", "srcset"):
                squeezed = re.sub(r"\s", "", value).lower()
                assert not squeezed.startswith(("javascript:", "vbscript:", "data:text", "//evil")), (name, value)
    for tag in ("svg", "img", "textarea", "iframe", "object", "embed"):
        for element in tree.iter(tag):
            assert element.get("src") != "x", etree.tostring(element)
    for char in BIDI:
        assert char not in text, f"bidi control U+{ord(char):04X} rendered"


def assert_safe_links(value: object, key: str = "") -> None:
    """Every URL-valued field of a JSON document is http(s) or site-relative."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert_safe_links(v, k)
    elif isinstance(value, list):
        for item in value:
            assert_safe_links(item, key)
    elif isinstance(value, str) and key.lower() in ("url", "link", "href", "contenturl", "sameas", "thumbnailurl",
                                                    "@id", "embedurl", "thumbnail"):
        assert value.startswith(("http://", "https://", "/")) and not value.startswith("//"), (key, value)


Built = tuple[Settings, Store, Path]


def work_and_record_ids(store: Store) -> list[tuple[str, str]]:
    with store.session() as s:
        return [(r.work_id, r.id) for r in s.scalars(select(RecordRow).order_by(RecordRow.id))]


def test_rtl_overrides_are_stripped_at_normalisation(hostile_site: Built) -> None:
    _, store, _ = hostile_site
    for record in store.iter_records():
        for text in (record.title, record.description or "", *(a.name for a in record.agents)):
            assert not set(BIDI) & set(text), ascii(text)
    assert any(r.title == "勾股定理 exe.文课 反向" for r in store.iter_records())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_search_results_and_browse_are_safe(hostile_app: Flask, lang: str) -> None:
    client = hostile_app.test_client()
    text = get(client, f"/search?q={quote('勾股定理')}&lang={lang}")
    assert "恶意" in text  # the hostile works are really on the page, escaped
    assert_safe_html(text)
    for url in ("/", "/browse", f"/search?q={quote('expression')}", f"/search?q={quote('script alert')}"):
        assert_safe_html(get(client, url))


def test_every_work_and_record_page_is_safe(hostile_app: Flask, hostile_site: Built) -> None:
    client = hostile_app.test_client()
    for work_id, record_id in work_and_record_ids(hostile_site[1]):
        assert_safe_html(get(client, f"/works/{work_id}"))
        assert_safe_html(get(client, f"/records/{record_id}"))


def test_api_json_carries_only_safe_links_and_escaped_html(hostile_app: Flask, hostile_site: Built) -> None:
    client = hostile_app.test_client()
    response = client.get(f"/api/search?q={quote('勾股定理')}&page_size=50")
    assert response.status_code == 200 and response.mimetype == "application/json"
    hits = response.get_json()["hits"]
    assert len(hits) >= len(HOSTILE)
    for hit in hits:
        for key in ("title_html", "snippet_html"):
            if hit.get(key):
                assert_safe_html(f"<div>{hit[key]}</div>")
    for work_id, record_id in work_and_record_ids(hostile_site[1]):
        for url in (f"/api/works/{work_id}", f"/api/records/{record_id}"):
            body = client.get(url)
            assert body.status_code == 200
            assert_safe_links(body.get_json())


def test_oai_pmh_output_is_well_formed_and_inert(hostile_app: Flask) -> None:
    client = hostile_app.test_client()
    for prefix in ("oai_dc", "lom", "marc21", "lrmi"):
        response = client.get(f"/oai?verb=ListRecords&metadataPrefix={prefix}")
        assert response.status_code == 200
        root = etree.fromstring(response.data)
        assert root.findall(".//{http://www.openarchives.org/OAI/2.0/}record"), prefix  # the hostile works are in it
        assert not [e for e in root.iter() if isinstance(e.tag, str) and e.tag.rsplit("}", 1)[-1] in
                    ("script", "style", "svg", "img")], prefix
        assert "\u202e" not in response.get_data(as_text=True)


def test_review_pages_for_a_curator_are_safe(hostile_app: Flask, hostile_site: Built) -> None:
    client = hostile_app.test_client()
    form = get(client, "/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf
    response = client.post("/login", data={"username": "cura", "password": PASSWORD, "csrf_token": csrf.group(1)})
    assert response.status_code == 302
    assert_safe_html(get(client, "/review"))
    for _, record_id in work_and_record_ids(hostile_site[1]):
        assert_safe_html(get(client, f"/review/{record_id}"))
