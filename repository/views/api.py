"""JSON API. Errors are JSON objects with a code and a message."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from repository.app import get_store
from schemas.record import to_dict

bp = Blueprint("api", __name__)


@bp.get("/records/<record_id>")
def record(record_id: str):  # noqa: ANN201
    found = get_store().get_record(record_id)
    if found is None:
        abort(404, description=f"no record {record_id}")
    return jsonify(to_dict(found))


@bp.get("/records")
def records():  # noqa: ANN201
    q = request.args.get("q", "").strip()[:200]
    limit = request.args.get("page_size", 20, type=int)
    if limit is None or not 1 <= limit <= 100:
        abort(400, description="page_size must be between 1 and 100")
    page = request.args.get("page", 1, type=int)
    if page is None or page < 1:
        abort(400, description="page must be a positive integer")
    total, found = get_store().find_records(
        text=q, source=request.args.get("source") or None, limit=limit, offset=(page - 1) * limit
    )
    return jsonify(total=total, page=page, records=[to_dict(r) for r in found])
