"""The OpenAPI 3.1 document of /api, built from the same constants the API validates with.

Facet parameters, sorts and the page-size limit come from index.backend, so
the document cannot drift from what /api/search accepts; tests check that
every /api route is described here and every path here is a route, and
validate real responses against these schemas.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from index.backend import FACETS, MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SORTS
from repository.review_rubric import DECISIONS, MAX_COMMENT, MAX_NOTE, dimensions

FACET_HELP = {
    "stage": "学段 code, e.g. junior", "grade": "年级 as a number 1-12", "subject": "学科 code, e.g. math",
    "edition": "教材版本 code, e.g. pep or pep-a", "volume": "册次 code, e.g. vol2",
    "resource_type": "资源类型 code, e.g. micro-lecture", "source_level": "来源层级, e.g. national",
    "sources": "source name, e.g. national", "honours": "优课 honour label, e.g. 部优",
    "review_status": "approved or pending; accepted only where the server shows unpublished works",
    "format": "MIME type, e.g. video/mp4", "has_video": "true or false",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "A parameter or the query text is wrong; error.parameter names it."),
    "404": _json(_ref("Error"), "No such item, or not published."),
}


def _facet_parameter(name: str) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "string", "minLength": 1}
    if name == "grade":
        item = {"type": "integer", "minimum": 1, "maximum": 12}
    elif name == "has_video":
        item = {"type": "boolean"}
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
            "description": f"Filter: {FACET_HELP.get(name, name)}. Repeat to OR values; facets are ANDed.",
            "schema": {"type": "array", "items": item, "maxItems": 20}}


def _id_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}}


_SCORE = {"oneOf": [{"enum": ["pass", "fail"]}, {
    "type": "object", "required": ["result"], "additionalProperties": False,
    "properties": {"result": {"enum": ["pass", "fail"]}, "comment": {"type": "string", "maxLength": MAX_NOTE}}}]}
_LABELLED = {"type": "object", "required": ["code", "label"],
             "properties": {"code": {"type": ["string", "integer"]}, "label": {"type": "string"}}}
_STRINGS = {"type": "array", "items": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "type": {"type": "string"}, "message": {"type": "string"},
                       "parameter": {"type": "string"}, "position": {"type": ["integer", "null"]}}}}},
    "Hit": {"type": "object", "required": ["id", "title", "title_html", "snippet_html", "url", "html_url"],
            "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "title_html": {"type": "string", "description": "HTML-escaped title with <mark> around matches."},
                "snippet_html": {"type": "string", "description": "HTML-escaped excerpt with <mark>s."},
                "score": {"type": ["number", "null"]}, "url": {"type": "string", "format": "uri"},
                "html_url": {"type": "string", "format": "uri"}, "published": {"type": "boolean"},
                **{k: _LABELLED for k in ("stage", "grade", "subject", "edition", "volume", "resource_type",
                                          "source_level")},
                "chapter_path": _STRINGS, "class_hour": {"type": "integer"},
                "duration": {"type": "integer", "description": "seconds"},
                "quality": {"type": "number", "minimum": 0, "maximum": 1,
                            "description": "Completeness of the description (not a judgement of the lesson)."},
                "honours": _STRINGS, "sources": _STRINGS, "members_count": {"type": "integer"},
                "datestamp": {"type": "string", "format": "date-time"}, "format": {"type": "string"},
                "has_video": {"type": "boolean"}}},
    "FacetValue": {"type": "object", "required": ["value", "label", "count"], "properties": {
        "value": {"type": ["string", "integer", "boolean"]}, "label": {"type": "string"},
        "count": {"type": "integer", "minimum": 0}}},
    "SearchResponse": {"type": "object", "required": ["total", "page", "page_size", "hits", "facets"], "properties": {
        "total": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"},
        "pages": {"type": "integer"}, "sort": {"enum": list(SORTS)}, "q": {"type": "string"},
        "filters": {"type": "object", "additionalProperties": _STRINGS},
        "hits": {"type": "array", "items": _ref("Hit")},
        "facets": {"type": "object", "additionalProperties": {"type": "array", "items": _ref("FacetValue")}}}},
    "Record": {"type": "object", "required": ["id", "source", "source_record_id", "title"],
               "description": "A record in Huiju's model (docs/metadata-model.md).",
               "properties": {"id": {"type": "string"}, "source": {"type": "string"},
                              "source_record_id": {"type": "string"}, "title": {"type": "string"},
                              "url": {"type": "string"}, "curriculum": {"type": "object"},
                              "work_id": {"type": ["string", "null"]}, "work_url": {"type": ["string", "null"]}},
               "additionalProperties": True},
    "Member": {"type": "object", "required": ["id", "source", "source_label", "title", "api_url"], "properties": {
        "id": {"type": "string"}, "source": {"type": "string"}, "source_label": {"type": "string"},
        "source_level": {"type": ["string", "null"]}, "title": {"type": "string"},
        "url": {"type": ["string", "null"], "description": "The platform's page (http/https only)."},
        "review_status": {"type": "string"}, "api_url": {"type": "string", "format": "uri"}}},
    "Work": {"type": "object", "required": ["id", "record", "provenance", "members"], "properties": {
        "id": {"type": "string"}, "published": {"type": "boolean"}, "html_url": {"type": "string", "format": "uri"},
        "record": _ref("Record"),
        "provenance": {"type": "object", "description": "merged field → the member records that supplied it",
                       "additionalProperties": {"type": "array", "items": {
                           "type": "object", "properties": {"record": {"type": "string"},
                                                            "source": {"type": "string"}}}}},
        "members": {"type": "array", "items": _ref("Member")},
        "explanation": {"type": ["object", "null"], "description": "Why the members were grouped (dedup)."},
        "related": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}}}},
    "ReviewRequest": {
        "type": "object", "required": ["decision"], "additionalProperties": False,
        "properties": {
            "decision": {"enum": list(DECISIONS)},
            "scores": {"type": "object", "description": "Rubric: one verdict per dimension. Approve needs every "
                       "dimension \"pass\"; reject and return need a reason (comment, or a failed dimension's).",
                       "properties": {code: _SCORE for code in dimensions()}, "additionalProperties": False},
            "comment": {"type": "string", "maxLength": MAX_COMMENT}}},
    "ReviewResult": {
        "type": "object", "required": ["record_id", "review_status", "stage"], "properties": {
            "record_id": {"type": "string"},
            "review_status": {"enum": ["pending", "approved", "rejected", "returned"],
                              "description": "pending: an earlier review stage approved; see awaiting."},
            "stage": {"type": "string", "description": "The review stage this decision was taken at."},
            "awaiting": {"type": ["string", "null"], "description": "The next stage, while stages remain."},
            "index_updated": {"type": "boolean",
                              "description": "false: the search index was busy and follows at the next reindex."}}},
}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh copy is not needed: callers only serialise it)."""
    search_parameters = [
        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 1000},
         "description": 'Words and "quoted phrases"; Chinese, pinyin or initials (gougu, ggdl).'},
        *(_facet_parameter(name) for name in FACETS),
        {"name": "sort", "in": "query", "schema": {"enum": list(SORTS), "default": "relevance"}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1},
         "description": f"page × page_size ≤ {MAX_RESULT_WINDOW}."},
        {"name": "page_size", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20}},
        {"name": "lang", "in": "query", "schema": {"enum": ["zh", "en"]}, "description": "Language of labels."},
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "汇聚 Huiju API", "version": "1.0.0",
                 "description": "Search the works (lessons grouped across platforms) that curators approved, "
                                "and read a work with its member records and provenance; curators with a token "
                                "record review decisions (POST /api/review/{record_id})."},
        "paths": {
            "/api/search": {"get": {
                "operationId": "searchWorks", "summary": "Search works with facets",
                "parameters": search_parameters,
                "responses": {"200": _json(_ref("SearchResponse"), "A page of works and facet counts."),
                              "400": ERRORS["400"]}}},
            "/api/works/{work_id}": {"get": {
                "operationId": "getWork", "summary": "A work: merged record, provenance, members",
                "parameters": [_id_parameter("work_id")],
                "responses": {"200": _json(_ref("Work"), "The work."),
                              "301": {"description": "Merged into another work: Location names it."},
                              "404": ERRORS["404"], "410": _json(_ref("Error"), "Deleted.")}}},
            "/api/records/{record_id}": {"get": {
                "operationId": "getRecord", "summary": "One record as its platform described it",
                "parameters": [_id_parameter("record_id")],
                "responses": {"200": _json(_ref("Record"), "The record, with its work."),
                              "404": ERRORS["404"]}}},
            "/api/review/{record_id}": {"post": {
                "operationId": "reviewRecord", "summary": "A curator's decision on one record (token required)",
                "description": "Same rules as the review page: the rubric, the review stages (REVIEW_STAGES; an "
                               "earlier stage's approval leaves the record pending, awaiting the next), one person "
                               "per stage. Every decision is written to the audit log. Get a token with "
                               "`huiju user token NAME`; session cookies are not accepted here.",
                "security": [{"bearerToken": []}],
                "parameters": [_id_parameter("record_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ReviewRequest")}}},
                "responses": {"200": _json(_ref("ReviewResult"), "The decision was recorded."),
                              "400": _json(_ref("Error"), "Bad JSON, or the rubric refuses the decision "
                                                          "(error.type names the rule, e.g. incomplete_rubric)."),
                              "401": _json(_ref("Error"), "No token, or an expired, forged or revoked one."),
                              "403": _json(_ref("Error"), "Not this reviewer's stage, or they signed another "
                                                          "stage of this record."),
                              "404": ERRORS["404"],
                              "409": _json(_ref("Error"), "Already approved.")}}},
            "/api/openapi.json": {"get": {
                "operationId": "getOpenAPI", "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearerToken": {
            "type": "http", "scheme": "bearer", "description": "A curator's token from `huiju user token NAME`."}}},
    }
