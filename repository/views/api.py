"""JSON API for partners and scripts: search works, read a work or a record.

Every error is {"error": {"code": <HTTP status>, "type": …, "message": …}}
(the app's handler makes the same shape for 404/405/…); a bad parameter or
unreadable query text is a 400 naming the parameter. The OpenAPI document at
/api/openapi.json (repository/openapi.py) describes exactly these routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, url_for

from index.backend import Hit, QuerySyntaxError
from repository import openapi
from repository.app import get_store
from repository.views import browse, work_page
from repository.views.browse import TEACHER_FACETS, BadParameter
from repository.views.labels import label, source_info
from repository.views.pages import record_visible
from schemas.record import Record, to_dict

bp = Blueprint("api", __name__)
API_FACETS = (*TEACHER_FACETS, "has_video")


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
        return error(400, "bad_parameter", exc.message, parameter=exc.parameter)
    except QuerySyntaxError as exc:
        return error(400, "query_syntax", exc.message, parameter="q", position=exc.position)
    return jsonify(
        total=result.total, page=state.page, page_size=state.page_size,
        pages=-(-result.total // state.page_size), sort=state.sort, q=state.q,
        filters={name: list(values) for name, values in state.filters.items()},
        hits=[hit_json(hit) for hit in result.hits],
        facets={name: [{"value": v, "label": label(name, v), "count": n} for v, n in values]
                for name, values in result.facets.items() if name in facets},
    )


def hit_json(hit: Hit) -> dict[str, Any]:
    f = hit.fields
    out: dict[str, Any] = {
        "id": hit.id, "title": hit.title, "title_html": hit.title_html, "snippet_html": hit.snippet,
        "score": hit.score, "url": url_for("api.work", work_id=hit.id, _external=True),
        "html_url": url_for("pages.work", work_id=hit.id, _external=True),
        "published": f.get("review_status") == "approved",
    }
    for key in ("stage", "grade", "subject", "edition", "volume", "resource_type", "source_level"):
        if key in f:
            out[key] = {"code": f[key], "label": label(key, f[key])}
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

