"""Pages for teachers: home with the browse tree, search results, a work, a record.

Server-rendered HTML only (fast on an old PC, works without JavaScript).
Harvested text is autoescaped everywhere; the only markup passed through is
the search backend's highlighting, which the backend escaped itself.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from index.backend import MAX_RESULT_WINDOW, SORTS, FacetValue, Hit, QuerySyntaxError
from repository import i18n
from repository.app import get_store
from repository.models import Work
from repository.views import browse, work_page
from repository.views.browse import TEACHER_FACETS, BadParameter, SearchState
from repository.views.labels import duration_text, label, source_info
from schemas.record import Record
from schemas.text import strip_bidi_controls

bp = Blueprint("pages", __name__)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    i18n.init_app(app)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True  # smaller pages for slow school networks
    app.jinja_env.finalize = without_bidi_controls
    app.jinja_env.globals.update(facet_label=label, duration_text=duration_text, safe_url=browse.safe_url,
                                 source_info=source_info, current_url=current_url,
                                 duration_seconds=work_page.duration_of_text)


def without_bidi_controls(value: Any) -> Any:
    """Every value a template prints, minus bidi overrides: records stored before the normaliser
    stripped them, and labels typed by operators, must not reorder or spoof the page either."""
    if isinstance(value, Markup):
        return Markup(strip_bidi_controls(str(value)))
    return strip_bidi_controls(value) if isinstance(value, str) else value


def current_url(**changes: str | None) -> str:
    """This page's URL with some query parameters replaced (None removes one): the language switch."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None]
    return request.path + ("?" + browse.flatten(pairs) if pairs else "")


def _bad_request(exc: BadParameter | QuerySyntaxError, state: SearchState | None = None) -> tuple[str, int]:
    """A friendly page, status 400: what is wrong and a search box to fix it."""
    if isinstance(exc, BadParameter) and not exc.key:
        name = i18n.gettext(f"facet.{exc.parameter}") if i18n.has_text(f"facet.{exc.parameter}") else exc.parameter
        message = i18n.gettext("search.bad_parameter", name=name, detail=exc.message)
    else:
        message = i18n.user_message(exc)
    return render_template("search.html", state=state or SearchState(q=request.args.get("q", "")[:200]),
                           error=message, result=None, items=[], facets=[], suggestions=[], pages=0,
                           sorts=SORTS), 400


# -- home and browse tree ----------------------------------------------------------------------


@bp.get("/")
def index() -> Response | str | tuple[str, int]:
    if request.args.get("q") or any(name in request.args for name in TEACHER_FACETS):
        return redirect(url_for("pages.search", **request.args.to_dict(flat=False)))
    return _browse({}, home=True)


@bp.get("/browse")
def browse_tree() -> str | tuple[str, int]:
    try:
        chosen = browse.parse_tree(request.args)
    except BadParameter as exc:
        return _bad_request(exc)
    return _browse(chosen, home=False)


def _browse(chosen: dict[str, str], *, home: bool) -> str:
    level = browse.next_level(chosen)
    lessons = browse.lessons(chosen) if "chapter" in chosen else []
    if "chapter" in chosen:
        total = sum(len(works) for _, _, works in lessons)
    else:
        total = browse.count(browse.tree_state(chosen))
    trail = []
    for i, (name, value) in enumerate(chosen.items()):
        upto = dict(list(chosen.items())[: i + 1])
        trail.append((name, value if name == "chapter" else label(name, value), url_for("pages.browse_tree", **upto)))
    choices = []
    if level is not None:
        for value, n in level.values:
            shown = value if level.level == "chapter" else label(level.level, value)
            choices.append({"label": shown, "count": n,
                            "url": url_for("pages.browse_tree", **chosen, **{level.level: value})})
    search_url = SearchState(filters={k: (v,) for k, v in chosen.items() if k != "chapter"},
                             q=browse.phrase(chosen["chapter"]) if "chapter" in chosen else "").url()
    return render_template("browse.html", home=home, chosen=chosen, level=level.level if level else None,
                           choices=choices, lessons=lessons, trail=trail, total=total, search_url=search_url)


# -- search ------------------------------------------------------------------------------------


def result_item(hit: Hit) -> dict[str, Any]:
    """One result as the template shows it. title_html and snippet are Markup because the
    backend HTML-escaped them and added only <mark> (index/backend.py Hit); nothing else is."""
    f = hit.fields
    position = [label(name, f[name]) for name in ("stage", "grade", "subject", "edition", "volume") if name in f]
    sources = [s for s in f.get("sources", [])]
    return {
        "id": hit.id,
        "title_html": Markup(hit.title_html),  # noqa: S704 - escaped by the search backend
        "snippet": Markup(hit.snippet),  # noqa: S704 - escaped by the search backend
        "position": position,
        "chapter": " › ".join(f.get("chapter_path", [])),
        "class_hour": f.get("class_hour"),
        "type": label("resource_type", f["resource_type"]) if "resource_type" in f else "",
        "duration": duration_text(f.get("duration")),
        "quality": round(100 * float(f.get("quality") or 0)),
        "honours": [label("honours", h) for h in f.get("honours", [])],
        "platforms": [source_info(s)["label"] for s in sources],
        "published": f.get("review_status") == "approved",
    }


def facet_views(state: SearchState, facets: dict[str, list[tuple[FacetValue, int]]]) -> list[dict[str, Any]]:
    """Each teacher facet with its values: label, count, chosen or not, and the URL that toggles it."""
    views = []
    names = TEACHER_FACETS + (("review_status",) if browse.show_unpublished() else ())
    for name in names:
        counted = {str(v): n for v, n in facets.get(name, [])}
        chosen = state.filters.get(name, ())
        for value in chosen:
            counted.setdefault(value, 0)
        if not counted:
            continue
        values = [{"value": v, "label": label(name, v), "count": n, "chosen": v in chosen,
                   "url": state.toggled(name, v).url()}
                  for v, n in sorted(counted.items(), key=lambda vn: browse.order_key(name, vn[0])
                                     if name in ("stage", "grade", "volume", "source_level", "honours")
                                     else (-vn[1], vn[0]))]
        views.append({"name": name, "values": values, "open": bool(chosen)})
    return views


@bp.get("/search")
def search() -> str | tuple[str, int]:
    try:
        state = browse.parse_search(request.args, strict=False)
        facets = TEACHER_FACETS + (("review_status",) if browse.show_unpublished() else ())
        result = browse.run(state, facets)
    except BadParameter as exc:
        return _bad_request(exc)
    except QuerySyntaxError as exc:
        return _bad_request(exc, SearchState(q=request.args.get("q", "")[:200]))
    pages = min(-(-result.total // state.page_size), MAX_RESULT_WINDOW // state.page_size)
    return render_template(
        "search.html", state=state, result=result, items=[result_item(h) for h in result.hits],
        facets=facet_views(state, result.facets), pages=pages, sorts=SORTS, error=None,
        suggestions=browse.relaxations(state) if not result.total and not state.empty else [],
        chosen=[(name, value, label(name, value), state.toggled(name, value).url()) for name, value in state.chosen()],
    )


# -- a work, a record --------------------------------------------------------------------------


@bp.get("/works/<work_id>")
def work(work_id: str) -> Response | str:
    store = get_store()
    page = work_page.load(store, work_id)
    if page is None:
        row = work_page.work_row(store, work_id)
        if row is not None and row.status == "merged" and row.successor_id:
            return redirect(url_for("pages.work", work_id=row.successor_id), 301)
        if row is not None and row.status == "deleted":
            abort(410, description=i18n.gettext("error.work_gone"))
        abort(404, description=i18n.gettext("error.work_not_found"))
    if not page.row.published and not browse.show_unpublished():
        abort(404, description=i18n.gettext("error.work_not_found"))
    explained = work_page.explanation(work_id)
    return render_template(
        "work.html", page=page, record=page.record, rows=work_page.provenance_rows(page), trail=trail(page.record),
        honours=[label("honours", h) for h in page.record.honours],
        explained=explained, related=work_page.related(page.record, work_id),
        jsonld=work_page.json_for_script(work_page.jsonld(page)),
        duration=duration_text(work_page.duration_of(page.record)),
    )


def trail(found: Record) -> list[tuple[str, str]]:
    """The record's place in the browse tree as (label, URL) steps, stopping at the first gap."""
    c = found.curriculum
    steps = [
        ("stage", c.stage.code if c.stage else None, label("stage", c.stage.code) if c.stage else ""),
        ("grade", str(c.grade) if c.grade else None, c.grade_label or (label("grade", c.grade) if c.grade else "")),
        ("subject", c.subject.code if c.subject else None, label("subject", c.subject.code) if c.subject else ""),
        ("edition", c.edition.code if c.edition else None, c.edition.label if c.edition else ""),
        ("volume", c.volume.code if c.volume else None, c.volume.zh if c.volume else ""),
        ("chapter", c.chapter_path[0] if c.chapter_path else None, c.chapter_path[0] if c.chapter_path else ""),
    ]
    out: list[tuple[str, str]] = []
    args: dict[str, str] = {}
    for level, code, shown in steps:
        if not code:
            break
        args[level] = code
        out.append((shown or code, url_for("pages.browse_tree", **args)))
    return out


def record_visible(work_id: str | None, review_status: str) -> bool:
    """A record is shown when it is approved or its work is published (or everything is shown)."""
    if browse.show_unpublished() or review_status == "approved":
        return True
    if not work_id:
        return False
    with get_store().session() as s:
        return bool(s.scalar(select(Work.published).where(Work.id == work_id, Work.status == "active")))


@bp.get("/records/<record_id>")
def record(record_id: str) -> str:
    stored = get_store().get_stored(record_id)
    if stored is None or stored.record.deleted or not record_visible(stored.work_id, stored.review_status):
        abort(404, description=i18n.gettext("error.record_not_found"))
    found = stored.record
    return render_template("record.html", record=found, work_id=stored.work_id, source=source_info(found.source),
                           trail=trail(found), honours=[label("honours", h) for h in found.honours],
                           link=browse.safe_url(found.url), duration=duration_text(work_page.duration_of(found)))
