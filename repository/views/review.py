"""Curator pages: the review queue, one record's review, bulk approval of a source.

Curators and admins only (repository/auth.py). Every decision goes through
repository/review_decisions.py (rubric and review stages checked, a review action
and an audit entry per record, work publication refreshed); bulk approval of a
source through publication.approve_source; then search.follow_store so the teacher search
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
from repository import i18n, review_decisions, review_levels, review_rubric
from repository.app import get_store
from repository.auth import curator_required, current_user, safe_next
from repository.checks import results as check_results
from repository.models import SOURCE_LEVELS, AuditLog, RecordRow, ReviewAction, Source
from repository.publication import ReviewReport, approve_source
from repository.review_rubric import ReviewError
from repository.search import follow_store
from repository.views.browse import backend
from repository.views.labels import label

bp = Blueprint("review", __name__)
log = logging.getLogger(__name__)
PAGE_SIZE = 50
WEB_INDEX_WAIT = 2.0  # seconds a curator's request waits for another process's index writer


def _follow(report: ReviewReport) -> None:
    """Bring the search index in step (search.follow_store opens, writes and closes its own writer, so the
    index lock is not kept by the web process), then refresh the app's reader so teacher search sees it now.
    When another process holds the index (a harvest, `huiju reindex`), the decision stands and the page
    says the index will follow at the next dedupe or `huiju reindex`."""
    if not follow_index(report):
        flash(i18n.gettext("curator.index_later"), "warning")


def follow_index(report: ReviewReport) -> bool:
    """_follow without the page message (the JSON API says it in its answer); False: the index is busy."""
    if not report.publication.flipped:
        return True
    try:
        follow_store(current_app.extensions["huiju.settings"], get_store(), report.publication.flipped,
                     lock_timeout=WEB_INDEX_WAIT)
    except SearchError:
        log.warning("search index busy; %d works will be indexed later", len(report.publication.flipped))
        return False
    backend().refresh()
    return True


def _int_arg(name: str, default: int) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        abort(400)


@bp.get("/review")
@curator_required
def queue() -> str:
    """Pending records, worst automatic-check outcome first (fail, warn, then none), oldest first within each;
    filters: source, level, flag (a check failing or warning), subject, age (unchanged for at least N days)."""
    source = request.args.get("source", "")
    level = request.args.get("level", "")
    flag = request.args.get("flag", "")
    subject = request.args.get("subject", "")
    if (level and level not in SOURCE_LEVELS) or (flag and flag not in check_results.NAMES) or (
            subject and subject not in check_results.subject_codes()):
        abort(400)
    age = _int_arg("age", 0) if request.args.get("age") else None
    page = _int_arg("page", 1)
    store = get_store()
    where: list[Any] = [RecordRow.review_status == "pending", RecordRow.deleted.is_(False)]
    if flag:
        where.append(RecordRow.id.in_(check_results.flagged_by(flag)))
    if subject:
        where.append(check_results.has_subject(subject, store.dialect))
    if age:
        where.append(check_results.older_than(age))
    priority = check_results.priority()
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
                   RecordRow.harvested, RecordRow.datestamp, priority.label("priority"))
            .join(Source, Source.id == RecordRow.source_id).where(*where)
            .order_by(priority.desc(), RecordRow.datestamp, RecordRow.id)
            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
        counts = dict(s.execute(
            select(Source.name, func.count()).join(RecordRow, RecordRow.source_id == Source.id)
            .where(RecordRow.review_status == "pending", RecordRow.deleted.is_(False)).group_by(Source.name)).all())
        flags = check_results.flags_for(s, [r.id for r in rows])
    pages = max(1, -(-total // PAGE_SIZE))
    filters = {"source": source, "level": level, "flag": flag, "subject": subject, "age": age}
    return render_template("review_queue.html", rows=rows, total=total, page=page, pages=pages, source=source,
                           level=level, sources=sources, counts=counts, levels=SOURCE_LEVELS, flags=flags,
                           flag=flag, subject=subject, age=age, check_names=check_results.NAMES,
                           subjects=check_results.subject_codes(),
                           filters={k: v for k, v in filters.items() if v})


@bp.app_template_global()
def record_checks(record_ids: list[str]) -> check_results.CheckTable:
    """Stored check results of a record and its duplicates, side by side (the include _record_checks.html)."""
    with get_store().session() as s:
        return check_results.table_for(s, list(record_ids))


@bp.app_template_global()
def check_message(code: str, args: dict[str, Any]) -> str:
    """One stored finding in the current language (catalogue key check.<code>; list values joined,
    record field names shown by their field.* label)."""
    values = {}
    for name, value in args.items():
        items = value if isinstance(value, list) else [value]
        shown = [i18n.gettext(f"field.{v}") if name in ("fields", "field") and i18n.has_text(f"field.{v}")
                 else i18n.gettext(f"check.reason.{v}") if name == "reason" and i18n.has_text(f"check.reason.{v}")
                 else str(v) for v in items]
        values[name] = ", ".join(shown)
    key = f"check.{code}"
    if not i18n.has_text(key):
        return code
    try:
        return i18n.gettext(key, **values)
    except (KeyError, IndexError):  # a stored result older than the wording: show the code
        return code


@bp.get("/review/<record_id>")
@curator_required
def record(record_id: str, error: str | None = None, form: Any = None) -> str:
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
                           members=members, actions=actions, audit=audit, error=error, form=form or {},
                           dimensions=review_rubric.dimensions(), stages=_stages())


def _stages() -> tuple[str, ...]:
    return review_levels.stages(current_app.extensions["huiju.settings"])


def _reviewer() -> review_decisions.Reviewer:
    """The signed-in reviewer with their review level (read fresh: an admin may have changed it)."""
    user = current_user()
    assert user is not None
    reviewer = review_decisions.load_reviewer(get_store(), user["username"])
    if reviewer is None:
        abort(403)
    return reviewer


def refusal(exc: ReviewError) -> str:
    """A ReviewError as a sentence in the current locale (dimension codes become their labels)."""
    values = dict(exc.values)
    if "dimensions" in values:
        values["dimensions"] = ", ".join(
            review_rubric.dimension_label(code, i18n.current_locale()) for code in values["dimensions"])
    if "dimension" in values:
        values["dimension"] = review_rubric.dimension_label(values["dimension"], i18n.current_locale()) \
            if values["dimension"] in review_rubric.dimensions() else values["dimension"]
    for name in ("stage", "level"):
        if name in values:
            values[name] = stage_label(values[name])
    return i18n.gettext(exc.key, **values)


@bp.app_template_global()
def stage_label(stage: str | None) -> str:
    """A review stage's label: the source level of that name (学校, 区县…) when there is one."""
    if not stage:
        return ""
    return label("source_level", stage) if stage in SOURCE_LEVELS else stage


@bp.app_template_global()
def dimension_label(code: str) -> str:
    """A rubric dimension's label in the current language."""
    return review_rubric.dimension_label(code, i18n.current_locale())


@bp.app_template_global()
def trail_state(state: dict[str, Any] | None) -> str:
    """An audit entry's before or after as words: status, stages signed, what it awaits, on what basis."""
    if not state:
        return "-"
    parts = []
    for key, value in state.items():
        if key == "review_status":
            parts.append(i18n.gettext(f"review.{value}") if i18n.has_text(f"review.{value}") else str(value))
        elif key == "stages_signed" and value:
            parts.append(i18n.gettext("curator.trail_signed", stages=", ".join(stage_label(s) for s in value)))
        elif key == "awaiting" and value:
            parts.append(i18n.gettext("curator.awaiting", stage=stage_label(value)))
        elif key == "basis" and value != "single":
            parts.append(i18n.gettext(f"curator.basis.{value}") if i18n.has_text(f"curator.basis.{value}")
                         else str(value))
        elif key not in ("stages_signed", "awaiting", "basis", "scores", "comment", "decision", "stage", "ip"):
            parts.append(f"{key}: {value}")
    return "; ".join(parts) or "-"


@bp.app_template_global()
def review_progress(record_ids: list[str]) -> dict[str, review_levels.Progress]:
    """Stage progress of the listed records, for the queue and the record page."""
    return review_decisions.progress_of(get_store(), list(record_ids), _stages())


@bp.post("/review/<record_id>")
@curator_required
def decide(record_id: str) -> Response | tuple[str, int]:
    """One decision from the record page: the rubric checked server-side; a refusal re-shows the form."""
    store = get_store()
    if store.get_stored(record_id) is None:
        abort(404, description=i18n.gettext("error.record_not_found"))
    if request.form.get("decision", "") not in review_rubric.DECISIONS:
        abort(400)
    try:
        verdict = review_rubric.check(request.form["decision"], review_rubric.from_form(request.form),
                                      request.form.get("comment", ""))
        outcome, report = review_decisions.decide(store, _stages(), _reviewer(), record_id, verdict)
    except ReviewError as exc:
        if exc.status == 404:
            abort(404, description=i18n.gettext("error.record_not_found"))
        return record(record_id, error=refusal(exc), form=request.form), exc.status
    _follow(report)
    if outcome.awaiting:
        flash(i18n.gettext("curator.stage_done", stage=stage_label(outcome.stage),
                           awaiting=stage_label(outcome.awaiting)), "ok")
    else:
        flash(i18n.gettext("curator.done", status=i18n.gettext(f"review.{outcome.status}")), "ok")
    return redirect(url_for("review.record", record_id=record_id))


@bp.post("/review/approve-selected")
@curator_required
def approve_selected() -> Response:
    """The queue's bulk form: approve the ticked records (all-pass rubric, each checked against the stages)."""
    ids = [rid for rid in request.form.getlist("record") if rid][:PAGE_SIZE * 4]
    if not ids:
        flash(i18n.gettext("curator.none_selected"), "warning")
        return redirect(url_for("review.queue"))
    bulk = review_decisions.approve_selected(get_store(), _stages(), _reviewer(), ids,
                                             request.form.get("comment", ""))
    _follow(bulk.report)
    flash(i18n.gettext("curator.selected_done", n=len(bulk.done)), "ok")
    for record_id, exc in bulk.refused[:10]:
        flash(f"{record_id}: {refusal(exc)}", "warning")
    return redirect(safe_next(request.form.get("next")) or url_for("review.queue"))


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
