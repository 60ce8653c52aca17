"""JSON API and its OpenAPI document: shapes, filters, 400s with code and message, route coverage."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from tests.site.conftest import Site


def _validator(client: FlaskClient, schema: str) -> OAS31Validator:
    doc = client.get("/api/openapi.json").get_json()
    return OAS31Validator({"$ref": f"#/components/schemas/{schema}", "components": doc["components"]})


def _error(client: FlaskClient, url: str, status: int = 400) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True))
    assert response.is_json
    body = response.get_json()
    _validator(client, "Error").validate(body)
    assert body["error"]["code"] == status and body["error"]["message"]
    return body["error"]


def test_search_shape_filters_and_facets(client_all: FlaskClient) -> None:
    data = client_all.get("/api/search?q=勾股定理&grade=8&page_size=5").get_json()
    _validator(client_all, "SearchResponse").validate(data)
    assert data["total"] == 21 and len(data["hits"]) == 5 and data["pages"] == 5  # 20 demo lessons + the hostile one
    hit = data["hits"][0]
    assert "<mark>" in hit["title_html"] and hit["grade"] == {"code": 8, "label": "八年级"}
    assert hit["html_url"].endswith(f"/works/{hit['id']}") and hit["url"].endswith(f"/api/works/{hit['id']}")
    facets = data["facets"]
    assert {"stage", "grade", "subject", "edition", "resource_type", "source_level", "sources", "honours",
            "has_video"} <= set(facets)
    assert {"value": "lesson-plan", "label": "教学设计", "count": 4} in facets["resource_type"]
    # repeated parameters OR values of one facet; different facets AND
    both = client_all.get("/api/search?grade=7&grade=8&subject=math").get_json()
    seven = client_all.get("/api/search?grade=7&subject=math").get_json()["total"]
    eight = client_all.get("/api/search?grade=8&subject=math").get_json()["total"]
    assert both["total"] == seven + eight and both["filters"] == {"grade": ["7", "8"], "subject": ["math"]}
    newest = client_all.get("/api/search?sort=newest&page=2&page_size=100").get_json()
    assert newest["page"] == 2 and newest["sort"] == "newest" and len(newest["hits"]) == 100


@pytest.mark.parametrize(("query", "parameter"), [
    ("page_size=101", "page_size"), ("page_size=0", "page_size"), ("page=0", "page"), ("page=abc", "page"),
    ("page=200&page_size=100", "page"), ("sort=best", "sort"), ("grade=eight", "grade"), ("grade=13x", "grade"),
    ("has_video=maybe", "has_video"), ("grades=8", "grades"), ("review_status=approved", "review_status"),
    ("q=" + "字" * 1001, "q"),
])
def test_bad_parameters_are_400_json(client: FlaskClient, query: str, parameter: str) -> None:
    error = _error(client, f"/api/search?{query}")
    assert error["type"] == "bad_parameter" and error["parameter"] == parameter


def test_query_syntax_is_400_json(client_all: FlaskClient) -> None:
    error = _error(client_all, '/api/search?q="勾股')
    assert error["type"] == "query_syntax" and "引号" in error["message"]
    assert "quote" in _error(client_all, '/api/search?q="勾股&lang=en')["message"]
    assert _error(client_all, "/api/search?q=title:勾股")["parameter"] == "q"


def test_work_and_record(client_all: FlaskClient, site: Site) -> None:
    hit = client_all.get("/api/search?q=勾股定理&sources=city&sources=district").get_json()["hits"][0]
    work = client_all.get(f"/api/works/{hit['id']}").get_json()
    _validator(client_all, "Work").validate(work)
    assert work["record"]["title"] == hit["title"] and len(work["members"]) >= 2
    assert {p["source"] for p in work["provenance"]["title"]} <= {m["source"] for m in work["members"]}
    assert work["explanation"]["canonical"] in {m["id"] for m in work["members"]}
    assert set(work["related"]) == {"lesson", "chapter", "editions"}
    member = work["members"][0]
    record = client_all.get(member["api_url"]).get_json()
    _validator(client_all, "Record").validate(record)
    assert record["work_id"] == work["id"] and record["id"] == member["id"]
    assert _error(client_all, "/api/works/wnope", 404)["type"] == "not_found"
    assert _error(client_all, "/api/records/rnope", 404)["type"] == "not_found"
    evil = client_all.get(f"/api/works/{site.evil_work}").get_json()
    assert all(m["url"] is None for m in evil["members"])  # javascript: links are never handed out


def test_unpublished_works_are_404_by_default(client: FlaskClient, site: Site) -> None:
    hidden = sorted(site.unpublished)[0]
    assert _error(client, f"/api/works/{hidden}", 404)["type"] == "not_found"
    shown = sorted(site.published)[0]
    assert client.get(f"/api/works/{shown}").status_code == 200
    assert all(h["published"] for h in client.get("/api/search?page_size=100").get_json()["hits"])


def test_openapi_document_is_valid_and_covers_every_route(client: FlaskClient, app: Flask) -> None:
    doc = client.get("/api/openapi.json").get_json()
    validate(doc)  # OpenAPI 3.1 (openapi-spec-validator)
    assert doc["openapi"].startswith("3.1")
    routes = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert routes == set(doc["paths"]), "every /api route is documented, and every documented path exists"
    documented = {p["name"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    from index.backend import FACETS

    assert set(FACETS) | {"q", "sort", "page", "page_size", "lang"} == documented
