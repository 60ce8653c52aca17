"""The operators' dashboard: sources and their runs, the quarantine, works and the review backlog.

Curators and admins only (read-only pages: nothing here changes state). Figures
come from repository/dashboard_data.py (aggregate queries), charts from
repository/charts.py (server-rendered SVG, no script); every chart has its numbers
in a table beside it. Harvested text (source names, reasons, locators, payloads)
is escaped by Jinja; a quarantined payload is shown as text, cut to a preview, or
downloaded as an attachment that browsers never render.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request

from repository import charts, dashboard_data, i18n
from repository.app import get_store
from repository.auth import curator_required
from repository.models import REVIEW_STATUSES, SOURCE_LEVELS
from repository.views.labels import label

bp = Blueprint("dashboard", __name__)
LATEST = 10
PAGE_SIZE = 50


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.extensions["huiju.settings"]["SCHEDULE_TIMEZONE"])


def _local(value: datetime | None) -> str:
    """A stored (UTC) time as operators read it: in SCHEDULE_TIMEZONE."""
    return value.astimezone(_zone()).strftime("%Y-%m-%d %H:%M") if value else ""


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        abort(400)


def _level_label(level: str | None) -> str:
    return label("source_level", level) if level else i18n.gettext("dash.level_none")


def _level_table(counts: dict[tuple[str | None, str], int]) -> list[tuple[str, list[int]]]:
    """Rows per level (known levels first, then any other value the store holds), columns per status."""
    levels: list[str | None] = [lvl for lvl in SOURCE_LEVELS if any(k[0] == lvl for k in counts)]
    levels += sorted({k[0] for k in counts if k[0] not in SOURCE_LEVELS}, key=lambda v: v or "")
    return [(_level_label(lvl), [counts.get((lvl, st), 0) for st in REVIEW_STATUSES]) for lvl in levels]


@bp.get("/dashboard")
@curator_required
def index() -> str:
    store = get_store()
    settings = current_app.extensions["huiju.settings"]
    zone = _zone()
    sources = dashboard_data.sources(store, settings)
    with store.session() as s:
        by_level = _level_table(dashboard_data.records_by_level_and_status(s))
        runs_total, runs = dashboard_data.runs_page(s, 1, LATEST)
        quarantine_total, quarantine = dashboard_data.quarantine_page(s, 1, LATEST)
        dedup = dashboard_data.dedup_figures(s)
        throughput = dashboard_data.review_throughput(s, zone)
        backlog = dashboard_data.backlog(s, datetime.now(UTC))
        s.expunge_all()
    statuses = [i18n.gettext(f"review.{st}") for st in REVIEW_STATUSES]
    sizes = dashboard_data.size_buckets(dedup.histogram)
    daily = [(day.strftime("%m-%d"), sum(by.values())) for day, by in throughput]
    decisions = REVIEW_STATUSES[1:]  # approved, rejected, returned: what a decision sets
    throughput_rows = [(day.isoformat(), *(by.get(d, 0) for d in decisions), sum(by.values()))
                       for day, by in reversed(throughput)]
    backlog_rows = [(i18n.gettext(f"dash.age.{name}"), n) for name, n in backlog]
    chart = {
        "levels": charts.stacked_bar_chart(
            by_level, statuses, chart_id="chart-levels", title=i18n.gettext("dash.levels"),
            desc=i18n.gettext("dash.levels_desc")),
        "sizes": charts.column_chart(
            sizes, chart_id="chart-sizes", title=i18n.gettext("dash.sizes"), desc=i18n.gettext("dash.sizes_desc")),
        "throughput": charts.column_chart(
            daily, chart_id="chart-throughput", title=i18n.gettext("dash.throughput"),
            desc=i18n.gettext("dash.throughput_desc", days=len(daily), n=sum(n for _, n in daily)), every=5),
        "backlog": charts.bar_chart(
            backlog_rows, chart_id="chart-backlog", title=i18n.gettext("dash.backlog"),
            desc=i18n.gettext("dash.backlog_desc", n=sum(n for _, n in backlog))),
    }
    return render_template(
        "dashboard.html", sources=sources, by_level=by_level, statuses=statuses, runs=runs, runs_total=runs_total,
        quarantine=quarantine, quarantine_total=quarantine_total, dedup=dedup, sizes=sizes,
        throughput_rows=throughput_rows, decision_labels=[i18n.gettext(f"review.{d}") for d in decisions],
        backlog=backlog_rows, chart=chart, local=_local,
        zone=zone.key, level_label=_level_label)


@bp.get("/dashboard/runs")
@curator_required
def runs() -> str:
    page = _page_arg()
    with get_store().session() as s:
        total, rows = dashboard_data.runs_page(s, page, PAGE_SIZE)
        s.expunge_all()
    return render_template("dashboard_runs.html", runs=rows, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), local=_local, zone=_zone().key)


@bp.get("/dashboard/quarantine")
@curator_required
def quarantine() -> str:
    page = _page_arg()
    with get_store().session() as s:
        total, rows = dashboard_data.quarantine_page(s, page, PAGE_SIZE)
    return render_template("dashboard_quarantine.html", entries=rows, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), local=_local, zone=_zone().key)


@bp.get("/dashboard/quarantine/<int:entry_id>")
@curator_required
def quarantine_entry(entry_id: int) -> str:
    with get_store().session() as s:
        entry = dashboard_data.quarantine_entry(s, entry_id)
    if entry is None:
        abort(404, description=i18n.gettext("dash.no_entry"))
    head: bytes = entry.head or b""
    cut = len(head) > dashboard_data.PREVIEW_BYTES
    preview = dashboard_data.printable(head[: dashboard_data.PREVIEW_BYTES]) if entry.head is not None else None
    return render_template("dashboard_raw.html", entry=entry, preview=preview, cut=cut,
                           limit=dashboard_data.PREVIEW_BYTES, local=_local, zone=_zone().key)


@bp.get("/dashboard/quarantine/<int:entry_id>/raw")
@curator_required
def quarantine_raw(entry_id: int) -> Response:
    """The payload byte for byte, as a download: never rendered, never sniffed into HTML."""
    from repository.models import Quarantine

    with get_store().session() as s:
        raw = s.get(Quarantine, entry_id)
        content: Any = raw.raw if raw is not None else None
    if content is None:
        abort(404, description=i18n.gettext("dash.no_entry"))
    response = Response(bytes(content), mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="quarantine-{entry_id}.bin"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
