"""Curator pages: the review queue, one record's review, bulk approval of a source.

Curators and admins only (repository/auth.py). Every decision goes through
publication.set_review_status (a review action and an audit entry per record,
work publication refreshed), then search.follow_store so the teacher search
shows exactly the published works. The record page shows the record's audit
trail: every decision leaves a trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from index.backend import SearchError
from repository import i18n
from repository.app import get_store
from repository.auth import curator_required, current_user
from repository.models import SOURCE_LEVELS, AuditLog, RecordRow, ReviewAction, Source
from repository.publication import ReviewReport, approve_source, set_review_status
from repository.search import follow_store
from repository.views.browse import backend

bp = Blueprint("review", __name__)
log = logging.getLogger(__name__)
PAGE_SIZE = 50
DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}


def _follow(report: ReviewReport) -> None:
    """Bring the search index in step (search.follow_store opens, writes and closes its own writer, so the
    index lock is not kept by the web process), then refresh the app's reader so teacher search sees it now.
    When another process holds the index (a harvest, `huiju reindex`), the decision stands and the page
    says the index will follow at the next dedupe or `huiju reindex`."""
    if not report.publication.flipped:
        return
    try:
        follow_store(current_app.extensions["huiju.settings"], get_store(), report.publication.flipped)
    except SearchError:
        log.warning("search index busy; %d works will be indexed later", len(report.publication.flipped))
        flash(i18n.gettext("curator.index_later"), "warning")
        return
    backend().refresh()


def _int_arg(name: str, default: int) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        abort(400)


@bp.get("/review")
@curator_required
def queue() -> str:
    source = request.args.get("source", "")
    level = request.args.get("level", "")
    if level and level not in SOURCE_LEVELS:
        abort(400)
    page = _int_arg("page", 1)
    store = get_store()
    where: list[Any] = [RecordRow.review_status == "pending", RecordRow.deleted.is_(False)]
    with store.session() as s:
        sources = list(s.execute(select(Source.name, Source.level).order_by(Source.name)))
        if source:
            source_id = s.scalar(select(Source.id).where(Source.name == source))
            if source_id is None:
                abort(400)
            where.append(RecordRow.source_id == source_id)
        if level:
            where.append(RecordRow.source_level == level)
        total = s.scalar(select(func.count()).select_from(RecordRow).where(*where)) or 0
        rows = list(s.execute(
            select(RecordRow.id, RecordRow.title, Source.name.label("source"), RecordRow.source_level,
                   RecordRow.harvested)
            .join(Source, Source.id == RecordRow.source_id).where(*where)
            .order_by(RecordRow.harvested.desc(), RecordRow.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
        counts = dict(s.execute(
            select(Source.name, func.count()).join(RecordRow, RecordRow.source_id == Source.id)
            .where(RecordRow.review_status == "pending", RecordRow.deleted.is_(False)).group_by(Source.name)).all())
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("review_queue.html", rows=rows, total=total, page=page, pages=pages, source=source,
                           level=level, sources=sources, counts=counts, levels=SOURCE_LEVELS)


@bp.get("/review/<record_id>")
@curator_required
def record(record_id: str) -> str:
    store = get_store()
    stored = store.get_stored(record_id)
    if stored is None:
        abort(404, description=i18n.gettext("error.record_not_found"))
    with store.session() as s:
        source = s.scalar(select(Source.name).where(Source.id == stored.source_id))
        members = [] if not stored.work_id else list(s.execute(
            select(RecordRow.id, RecordRow.title, RecordRow.review_status, Source.name.label("source"))
            .join(Source, Source.id == RecordRow.source_id)
            .where(RecordRow.work_id == stored.work_id, RecordRow.id != record_id).order_by(RecordRow.id)))
        actions = list(s.scalars(select(ReviewAction).where(ReviewAction.record_id == record_id)
                                 .order_by(ReviewAction.id)))
        audit = list(s.scalars(select(AuditLog).where(AuditLog.target_type == "record",
                                                      AuditLog.target_id == record_id).order_by(AuditLog.id)))
        s.expunge_all()
    return render_template("review_record.html", stored=stored, record=stored.record, source=source,
                           members=members, actions=actions, audit=audit)


@bp.post("/review/<record_id>")
@curator_required
def decide(record_id: str) -> Response:
    status = DECISIONS.get(request.form.get("decision", ""))
    if status is None:
        abort(400)
    comment = request.form.get("comment", "").strip()[:2000]
    store = get_store()
    if store.get_stored(record_id) is None:
        abort(404, description=i18n.gettext("error.record_not_found"))
    user = current_user()
    assert user is not None
    report = set_review_status(store, [record_id], status, actor=user["username"], comment=comment)
    _follow(report)
    flash(i18n.gettext("curator.done", status=i18n.gettext(f"review.{status}")), "ok")
    return redirect(url_for("review.record", record_id=record_id))


@bp.post("/review/approve-source")
@curator_required
def approve_all() -> Response:
    source = request.form.get("source", "")
    user = current_user()
    assert user is not None
    try:
        report = approve_source(get_store(), source, actor=user["username"])
    except KeyError:
        abort(400)
    _follow(report)
    flash(i18n.gettext("curator.bulk_done", n=report.changed, source=source), "ok")
    return redirect(url_for("review.queue"))
