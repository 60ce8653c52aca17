"""JSON API for partners and scripts: search works, read a work or a record; curators' review decisions.

Every error is {"error": {"code": <HTTP status>, "type": …, "message": …}}
(the app's handler makes the same shape for 404/405/…); a bad parameter or
unreadable query text is a 400 naming the parameter. The OpenAPI document at
/api/openapi.json (repository/openapi.py) describes exactly these routes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from flask import Blueprint, Response, current_app, has_request_context, jsonify, redirect, request, url_for

from index.backend import Hit, QuerySyntaxError
from repository import openapi
from repository.app import get_store
from repository.i18n import current_locale, user_message
from repository.views import browse, work_page
from repository.views.browse import TEACHER_FACETS, BadParameter
from repository.views.labels import label, source_info
from repository.views.pages import record_visible
from schemas.record import Record, to_dict

bp = Blueprint("api", __name__)
API_FACETS = (*TEACHER_FACETS, "has_video")
_encode_json = msgspec.json.Encoder().encode


def error(status: int, kind: str, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify(error={"code": status, "type": kind, "message": message, **extra}), status


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.document())


@bp.get("/search")
def search() -> Response | tuple[Response, int]:
    try:
        state = browse.parse_search(request.args, strict=True)
        facets = API_FACETS + (("review_status",) if browse.show_unpublished() else ())
        result = browse.run(state, facets)
    except BadParameter as exc:
        return error(400, "bad_parameter", user_message(exc), parameter=exc.parameter)
    except QuerySyntaxError as exc:
        return error(400, "query_syntax", user_message(exc), parameter="q", position=exc.position)
    locale = current_locale()
    urls = WorkUrls()
    labels = Labels(locale)
    return json_response({
        "total": result.total, "page": state.page, "page_size": state.page_size,
        "pages": -(-result.total // state.page_size), "sort": state.sort, "q": state.q,
        "filters": {name: list(values) for name, values in state.filters.items()},
        "hits": [hit_json(hit, locale, urls, labels) for hit in result.hits],
        "facets": {name: [{"value": v, "label": labels(name, v), "count": n} for v, n in values]
                   for name, values in result.facets.items() if name in facets},
    })


def json_response(payload: dict[str, Any]) -> Response:
    """msgspec rather than Flask's json for the search answer: a page of hits encodes ~10x faster."""
    return current_app.response_class(_encode_json(payload), mimetype="application/json")


class WorkUrls:
    """A work's API and page URLs, routed once per site address rather than twice per hit."""

    SAFE = "!$&'()*+,/:;=@"
    """What Werkzeug's path converter leaves unquoted (werkzeug.routing.converters.BaseConverter.to_url)."""

    def __init__(self) -> None:
        # Per app, (scheme, host, script root) → (API prefix, page prefix): nothing else changes an external URL.
        prefixes = current_app.extensions.setdefault("huiju.work_url_prefixes", {})
        key = (request.scheme, request.host, request.root_path) if has_request_context() else None
        found = prefixes.get(key) if key else None
        if found is None:
            found = (url_for("api.work", work_id="x", _external=True)[:-1],
                     url_for("pages.work", work_id="x", _external=True)[:-1])
            if key and len(prefixes) < 64:  # a handful of addresses per site; never grows without bound
                prefixes[key] = found
        self.api, self.page = found

    def __call__(self, work_id: str) -> tuple[str, str]:
        quoted = quote(work_id, safe=self.SAFE)
        return self.api + quoted, self.page + quoted


class Labels:
    """label() remembered for one answer: its hits repeat the same few stages, grades and subjects."""

    def __init__(self, locale: str | None) -> None:
        self.locale = locale
        self.known: dict[tuple[str, Any], str] = {}

    def __call__(self, facet: str, value: Any) -> str:
        if not isinstance(value, str | int):  # bool is an int; anything else (a list?) is labelled as it comes
            return label(facet, value, self.locale)
        key = (facet, value)
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = label(facet, value, self.locale)
        return found


def hit_json(hit: Hit, locale: str | None = None, urls: WorkUrls | None = None,
             labels: Labels | None = None) -> dict[str, Any]:
    f = hit.fields
    labels = labels or Labels(locale)
    api_url, html_url = (urls or WorkUrls())(hit.id)
    out: dict[str, Any] = {
        "id": hit.id, "title": hit.title, "title_html": hit.title_html, "snippet_html": hit.snippet,
        "score": hit.score, "url": api_url, "html_url": html_url,
        "published": f.get("review_status") == "approved",
    }
    for key in ("stage", "grade", "subject", "edition", "volume", "resource_type", "source_level"):
        if key in f:
            out[key] = {"code": f[key], "label": labels(key, f[key])}
    for key in ("chapter_path", "class_hour", "duration", "quality", "honours", "sources", "members_count",
                "datestamp", "format", "has_video"):
        if key in f:
            out[key] = f[key]
    return out


@bp.get("/works/<work_id>")
def work(work_id: str) -> Response | tuple[Response, int]:
    store = get_store()
    page = work_page.load(store, work_id)
    if page is None:
        row = work_page.work_row(store, work_id)
        if row is not None and row.status == "merged" and row.successor_id:
            return redirect(url_for("api.work", work_id=row.successor_id), 301)  # type: ignore[return-value]
        if row is not None and row.status == "deleted":
            return error(410, "gone", f"work {work_id} was deleted: no record describes it any more")
        return error(404, "not_found", f"no work {work_id}")
    if not page.row.published and not browse.show_unpublished():
        return error(404, "not_found", f"no work {work_id}")
    explained = work_page.explanation(work_id)
    return jsonify(
        id=work_id, published=page.row.published,
        html_url=url_for("pages.work", work_id=work_id, _external=True),
        record=to_dict(page.record),
        provenance={name: [{"record": m.record.id, "source": m.record.source} for m in members]
                    for name, members in work_page.provenance_rows(page)},
        members=[member_json(m.record, m.review_status) for m in page.members],
        explanation=None if explained is None else {
            "canonical": explained.canonical,
            "members": [{"record": m.record, "source": m.source,
                         "joined_via": None if m.joined_via is None else {
                             "other": m.joined_via.other, "how": m.joined_via.how,
                             "score": m.joined_via.score, "signals": m.joined_via.signals}}
                        for m in explained.members],
        },
        related={name: [{"id": f["id"], "title": f.get("title", ""),
                         "url": url_for("api.work", work_id=f["id"], _external=True)} for f in hits]
                 for name, hits in work_page.related(page.record, work_id).items()},
    )


def member_json(record: Record, review_status: str) -> dict[str, Any]:
    info = source_info(record.source)
    return {"id": record.id, "source": record.source, "source_label": info["label"],
            "source_level": record.source_level, "title": record.title, "url": browse.safe_url(record.url),
            "review_status": review_status, "api_url": url_for("api.record", record_id=record.id, _external=True)}


@bp.get("/records/<record_id>")
def record(record_id: str) -> Response | tuple[Response, int]:
    stored = get_store().get_stored(record_id)
    if stored is None or stored.record.deleted or not record_visible(stored.work_id, stored.review_status):
        return error(404, "not_found", f"no record {record_id}")
    data = to_dict(stored.record)
    data["work_id"] = stored.work_id
    data["work_url"] = url_for("api.work", work_id=stored.work_id, _external=True) if stored.work_id else None
    return jsonify(data)


@bp.post("/review/<record_id>")
def review(record_id: str) -> Response | tuple[Response, int]:
    """A curator's decision on one record: {decision, scores, comment} with `Authorization: Bearer <token>`.

    Only the token counts (a session cookie is never read here, so CSRF cannot reach this route); the same
    rubric and stage rules as the review page apply (repository/review_decisions.py)."""
    from repository import api_tokens, review_decisions, review_levels, review_rubric
    from repository.views.review import follow_index, refusal

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        answer, status = error(401, "unauthorized", "send Authorization: Bearer <token> (huiju user token NAME)")
        answer.headers["WWW-Authenticate"] = 'Bearer realm="huiju"'
        return answer, status
    settings = current_app.extensions["huiju.settings"]
    try:
        reviewer = api_tokens.verify(current_app.config["SECRET_KEY"], token.strip(), get_store(),
                                     settings["API_TOKEN_LIFETIME"])
    except api_tokens.TokenError as exc:
        answer, status = error(403 if exc.code == "forbidden" else 401, exc.code, exc.message)
        answer.headers["WWW-Authenticate"] = 'Bearer realm="huiju", error="invalid_token"'
        return answer, status
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("decision"), str) \
            or not isinstance(data.get("comment", ""), str):
        return error(400, "bad_request", 'send a JSON object: {"decision": "approve"|"reject"|"return", '
                                         '"scores": {dimension: "pass"|"fail"}, "comment": "…"}')
    try:
        verdict = review_rubric.check(data["decision"], review_rubric.from_json(data.get("scores")),
                                      data.get("comment", ""))
        outcome, report = review_decisions.decide(get_store(), review_levels.stages(settings), reviewer,
                                                  record_id, verdict)
    except review_rubric.ReviewError as exc:
        extra = {"dimensions": exc.values["dimensions"]} if "dimensions" in exc.values else {}
        return error(exc.status, exc.code, refusal(exc), **extra)
    return jsonify(**review_decisions.summary(outcome), index_updated=follow_index(report))

