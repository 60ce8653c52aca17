"""Pages for teachers: browse and search records, read one record."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from repository.app import get_store

bp = Blueprint("pages", __name__)
PAGE_SIZE = 20


@bp.get("/")
def index():  # noqa: ANN201
    q = request.args.get("q", "").strip()[:200]
    source = request.args.get("source") or None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    store = get_store()
    total, records = store.find_records(text=q, source=source, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "index.html", q=q, source=source, page=page, total=total, records=records,
        pages=max(1, -(-total // PAGE_SIZE)), sources=store.list_sources(),
    )


@bp.get("/records/<record_id>")
def record(record_id: str):  # noqa: ANN201
    found = get_store().get_record(record_id)
    if found is None:
        abort(404, description="没有找到这条资源 (record not found)")
    return render_template("record.html", record=found)
