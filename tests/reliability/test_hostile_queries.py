"""Hostile search queries and OAI-PMH arguments: a clear answer, never a 500.

Search: FTS5 and Lucene syntax, unbalanced quotes, NUL bytes, 10,000
characters, on the HTML page and the JSON API, on both backends (Tantivy
always; Elasticsearch through the tests' osmem-server, skipped when it cannot
run). A query is either searched (200) or refused with a 400 whose message is
in the reader's language (zh by default, en with ?lang=en). Decided: NUL and
other control characters are dropped from the query, not refused.

OAI-PMH: injection attempts in every argument get the protocol's error
codes in well-formed XML, and no argument is echoed unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from lxml import etree

from repository.app import create_app
from repository.search import open_backend, reindex
from repository.settings import Settings
from repository.store import Store
from repository.views.browse import close_backend

CJK = re.compile("[\u4e00-\u9fff]")
REFUSED = [
    '"勾股', '"', '"勾股" "定理', "title:勾股", "勾股 AND 定理", "NOT 勾股", "勾股 OR", "勾股 || 定理", "'", "''",
    "勾股 && 定理", "a:b:c", "' OR 1=1 --", "*", "?", "()", "^", "~", "\\", ":", "--", "\x00" * 3 + "*",
    "勾" * 10_000, "a" * 10_000, '"' + "勾股 " * 2500 + '"',
]
SEARCHED = [
    '勾股"定理"x', "勾股 NEAR 定理", "勾股*", "(勾股", "勾股)", "勾股~2", "勾股^3", "{a TO b}", "[1 TO 5]",
    "NEAR(勾股 定理)", "-勾股", "+勾股",
    "勾股\x00定理", "\x00", '""', "/regex/", "勾股:", "%00", "<script>alert(1)</script>",
    '"a" "b" "c" "d" "e" "f" "g" "h" "i" "j"', "勾股 " * 199, "勾股" + "\u202e" + "定理",
]


@pytest.fixture(scope="module", params=["tantivy", "elasticsearch"])
def search_app(request: pytest.FixtureRequest, hostile_site: tuple[Settings, Store, Path]) -> Iterator[Flask]:
    """The hostile site searched through one backend (its own index, rebuilt from the store)."""
    _, store, root = hostile_site
    overrides: dict[str, object] = {"SEARCH_BACKEND": request.param}
    if request.param == "elasticsearch":
        from tests.index import es_server

        if not es_server.is_osmem():
            pytest.skip("the site writes the default index name: run against osmem-server, not HUIJU_ES_URL")
        overrides["ES_URL"] = es_server.cluster_url()  # skips when osmem-server cannot run
        request.addfinalizer(es_server.shutdown)
    settings = Settings(environ={}, INSTANCE_PATH=str(root), **overrides)
    with open_backend(settings) as backend:
        reindex(store, backend)
    app = create_app(settings, store=store)
    app.config.update(TESTING=True)
    yield app
    close_backend(app)


def answer(app: Flask, path: str, q: str, lang: str) -> tuple[int, str]:
    """(status, the error message shown) for one query; fails on anything but 200 or 400."""
    response = app.test_client().get(path, query_string={"q": q, "lang": lang})
    assert response.status_code in (200, 400), (path, q[:40], response.status_code)
    if response.status_code == 200:
        return 200, ""
    if path.startswith("/api/"):
        error = response.get_json()["error"]
        assert error["parameter"] == "q"
        return 400, error["message"]
    found = re.search(r'role="alert">\s*<h2>.*?</h2>\s*<p>(.*?)</p>', response.get_data(as_text=True), re.S)
    assert found, q[:40]
    return 400, found.group(1)


@pytest.mark.parametrize("path", ["/search", "/api/search"])
def test_refused_queries_are_400_in_the_readers_language(search_app: Flask, path: str) -> None:
    for q in REFUSED:
        status, message = answer(search_app, path, q, "zh")
        assert status == 400, q[:40]
        assert CJK.search(message.replace("勾股定理", "")), (q[:40], message)
        status, message = answer(search_app, path, q, "en")
        assert status == 400 and message and not CJK.search(message.replace("勾股定理", "")), (q[:40], message)


@pytest.mark.parametrize("path", ["/search", "/api/search"])
def test_odd_but_harmless_queries_are_searched(search_app: Flask, path: str) -> None:
    for q in SEARCHED:
        assert answer(search_app, path, q, "zh")[0] == 200, q[:40]


def test_nul_bytes_are_dropped_not_matched(search_app: Flask) -> None:
    client = search_app.test_client()
    plain = client.get("/api/search", query_string={"q": "勾股定理"}).get_json()
    with_nul = client.get("/api/search", query_string={"q": "勾股\x00定理"}).get_json()
    assert plain["total"] > 0 and [h["id"] for h in with_nul["hits"]] == [h["id"] for h in plain["hits"]]


def test_invalid_utf8_in_the_query_string_is_never_a_500(search_app: Flask) -> None:
    client = search_app.test_client()
    for raw in ("%ED%A0%80", "%FF%FE", "%C0%AE", "%E5%8B%BE%E8"):
        for path in ("/search", "/api/search"):
            assert client.get(f"{path}?q={raw}").status_code in (200, 400), (path, raw)


# -- OAI-PMH -------------------------------------------------------------------------------------------------

OAI = "{http://www.openarchives.org/OAI/2.0/}"
INJECTIONS = ["' OR '1'='1", "1; DROP TABLE records; --", '"><script>alert(1)</script>', "]]><x>", "&amp;&lt;",
              "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
              "%00", "\u202e", "x" * 100_000]


def oai(app: Flask, query: str) -> tuple[etree._Element, str]:
    response = app.test_client().get("/oai?" + query)
    assert response.status_code == 200, (query[:80], response.status_code)
    assert response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    return etree.fromstring(response.data), body


def codes(root: etree._Element) -> set[str]:
    return {e.get("code") for e in root.iter(f"{OAI}error")}


def assert_not_echoed(body: str, value: str) -> None:
    for raw in ("<script>", "<x>", "<!DOCTYPE", "]]><x>"):
        if raw in value:
            assert raw not in body, raw


@pytest.mark.parametrize("value", INJECTIONS, ids=lambda v: v[:20])
def test_oai_injections_get_protocol_errors(hostile_app: Flask, value: str) -> None:
    v = quote(value)
    cases = {
        f"verb={v}": {"badVerb"},
        f"verb=ListRecords&metadataPrefix={v}": {"cannotDisseminateFormat"},
        f"verb=GetRecord&metadataPrefix=oai_dc&identifier={v}": {"idDoesNotExist"},
        f"verb=ListRecords&metadataPrefix=oai_dc&set={v}": {"noRecordsMatch", "badArgument", "noSetHierarchy"},
        f"verb=ListRecords&metadataPrefix=oai_dc&from={v}": {"badArgument"},
        f"verb=ListIdentifiers&metadataPrefix=oai_dc&until={v}": {"badArgument"},
        f"verb=ListRecords&resumptionToken={v}": {"badResumptionToken"},
        f"verb=Identify&{v}=1": {"badArgument"},
    }
    for query, expected in cases.items():
        root, body = oai(hostile_app, query)
        found = codes(root)
        assert found and found <= expected | {"badArgument"}, (query[:80], found)
        assert_not_echoed(body, value)


def test_forged_resumption_tokens_are_refused(hostile_app: Flask) -> None:
    root, _ = oai(hostile_app, "verb=ListRecords&metadataPrefix=oai_dc")
    token = root.findtext(f".//{OAI}resumptionToken") or ""
    forged = [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x", token.upper(),
              "eyJvZmZzZXQiOjB9.forged", "." * 50] if token else ["eyJvZmZzZXQiOjB9.forged", "." * 50]
    for value in forged:
        root, _ = oai(hostile_app, f"verb=ListRecords&resumptionToken={quote(value)}")
        assert codes(root) == {"badResumptionToken"}, value


def test_repeated_and_huge_arguments(hostile_app: Flask) -> None:
    root, _ = oai(hostile_app, "verb=ListRecords&verb=ListRecords&metadataPrefix=oai_dc")
    assert codes(root) <= {"badArgument", "badVerb"} and codes(root)
    root, body = oai(hostile_app, "verb=ListRecords&metadataPrefix=oai_dc&" + "&".join(f"a{n}=1" for n in range(500)))
    assert codes(root) == {"badArgument"} and len(body) < 100_000
