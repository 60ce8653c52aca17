"""Admin pages: harvest sources and user accounts.

Admins only (a curator gets 403), every change a CSRF-protected POST that is
checked again here, server-side, and written to the audit log with what it
was before and after. Sources are validated exactly as `huiju source add`
validates them (harvester/sources.py SourceSpec.problems); an edit is refused
only for problems it introduces, so an old imported source (kind ``file``)
can still be disabled. Passwords and their hashes never reach the audit log,
a log line or a page. An admin cannot deactivate or demote themself, so the
site always keeps the admin who is using it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash
from werkzeug.wrappers import Response

from harvester.runner import KINDS
from harvester.sources import SourceSpec, parse_option
from repository import i18n
from repository.app import get_store
from repository.auth import admin_required, current_user
from repository.cli_users import MIN_PASSWORD
from repository.models import SOURCE_LEVELS, USER_ROLES, User

bp = Blueprint("admin", __name__, url_prefix="/admin")
EDITABLE = ("location", "level", "schedule", "enabled", "auto_approve")


def _actor() -> str:
    user = current_user()
    assert user is not None  # admin_required ran first
    return user["username"]


@bp.get("")
@admin_required
def index() -> Response:
    return redirect(url_for("admin.sources"))


# ---------------------------------------------------------------- sources


def _form_spec(name: str, kind: str, options: dict[str, Any]) -> SourceSpec:
    form = request.form
    return SourceSpec(name=name, kind=kind, location=form.get("location", "").strip(),
                      level=form.get("level") or None, options=options,
                      schedule=" ".join(form.get("schedule", "").split()),
                      auto_approve=form.get("auto_approve") == "on", enabled=form.get("enabled") == "on")


def _source_form(source: Any, errors: list[str], status: int = 200, *, editing: bool = False) -> tuple[str, int]:
    return render_template("admin_source_form.html", source=source, errors=errors, kinds=list(KINDS),
                           levels=SOURCE_LEVELS, editing=editing), status


@bp.get("/sources")
@admin_required
def sources() -> str:
    return render_template("admin_sources.html", sources=get_store().list_sources())


@bp.route("/sources/new", methods=["GET", "POST"])
@admin_required
def source_new() -> Response | tuple[str, int]:
    if request.method == "GET":
        return _source_form(None, [])
    name = request.form.get("name", "").strip()
    kind = request.form.get("kind", "")
    errors: list[str] = []
    options: dict[str, Any] = {}
    for line in request.form.get("options", "").splitlines():
        if line.strip():
            try:
                key, value = parse_option(line.strip())
                options[key] = value
            except ValueError as exc:
                errors.append(str(exc))
    spec = _form_spec(name, kind, options)
    errors += spec.problems()
    store = get_store()
    if not errors and store.get_source(name) is not None:
        errors.append(i18n.gettext("admin.source_exists", name=name))
    if errors:
        return _source_form(spec, errors, 400)
    store.add_source(spec.name, **spec.fields())
    store.audit(_actor(), "source.add", "source", spec.name, after=spec.fields())
    flash(i18n.gettext("admin.source_added", name=spec.name), "ok")
    return redirect(url_for("admin.sources"))


@bp.route("/sources/<path:name>", methods=["GET", "POST"])
@admin_required
def source_edit(name: str) -> Response | tuple[str, int]:
    store = get_store()
    source = store.get_source(name)
    if source is None:
        abort(404, description=i18n.gettext("admin.no_source"))
    if request.method == "GET":
        return _source_form(source, [], editing=True)
    old = SourceSpec(name=source.name, kind=source.kind, location=source.location, level=source.level,
                     options=dict(source.options or {}), schedule=source.schedule or "",
                     auto_approve=source.auto_approve, enabled=source.enabled)
    new = _form_spec(source.name, source.kind, dict(source.options or {}))
    known = set(old.problems())
    errors = [p for p in new.problems() if p not in known]
    if errors:
        return _source_form(new, errors, 400, editing=True)
    before = {k: getattr(old, k) for k in EDITABLE}
    after = {k: getattr(new, k) for k in EDITABLE}
    changes = {k: v for k, v in after.items() if before[k] != v}
    if changes:
        store.update_source(name, **changes)
        store.audit(_actor(), "source.edit", "source", name, before={k: before[k] for k in changes}, after=changes)
        flash(i18n.gettext("admin.source_saved", name=name), "ok")
    else:
        flash(i18n.gettext("admin.unchanged"), "ok")
    return redirect(url_for("admin.sources"))


# ---------------------------------------------------------------- users


def _users_page(errors: list[str], status: int = 200) -> tuple[str, int]:
    with get_store().session() as s:
        users = list(s.execute(select(User.username, User.role, User.review_level, User.active, User.created)
                               .order_by(User.username)))
    return render_template("admin_users.html", users=users, errors=errors, roles=USER_ROLES,
                           levels=SOURCE_LEVELS, me=_actor(), min_password=MIN_PASSWORD), status


def _password_problem() -> str | None:
    password = request.form.get("password", "")
    if len(password) < MIN_PASSWORD:
        return i18n.gettext("admin.password_short", n=MIN_PASSWORD)
    if password != request.form.get("password2", ""):
        return i18n.gettext("admin.password_mismatch")
    return None


def _role_and_level() -> tuple[str, str | None]:
    role = request.form.get("role", "")
    level = request.form.get("review_level") or None
    if role not in USER_ROLES or (level is not None and level not in SOURCE_LEVELS):
        abort(400)
    return role, level


@bp.get("/users")
@admin_required
def users() -> tuple[str, int]:
    return _users_page([])


@bp.post("/users")
@admin_required
def user_add() -> Response | tuple[str, int]:
    name = request.form.get("username", "").strip()
    role, level = _role_and_level()
    errors = [] if 0 < len(name) <= 100 else [i18n.gettext("admin.bad_username")]
    problem = _password_problem()
    if problem:
        errors.append(problem)
    store = get_store()
    with store.session() as s:
        if not errors and s.scalar(select(User.id).where(User.username == name)) is not None:
            errors.append(i18n.gettext("admin.user_exists", name=name))
    if errors:
        return _users_page(errors, 400)
    try:
        with store.session(write=True) as s:
            s.add(User(username=name, password_hash=generate_password_hash(request.form["password"]), role=role,
                       review_level=level, active=True))
    except IntegrityError:  # another admin added the same name a moment ago
        return _users_page([i18n.gettext("admin.user_exists", name=name)], 400)
    store.audit(_actor(), "user.add", "user", name, after={"role": role, "review_level": level, "active": True})
    flash(i18n.gettext("admin.user_added", name=name), "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<path:name>")
@admin_required
def user_change(name: str) -> Response | tuple[str, int]:
    """One change to an account: role (and review level), deactivate, reactivate or a new password."""
    action = request.form.get("action", "")
    if action not in ("role", "deactivate", "reactivate", "password"):
        abort(400)
    me = _actor()
    if name == me and action in ("deactivate", "role"):
        wanted = request.form.get("role")
        if action == "deactivate" or wanted != "admin":
            return _users_page([i18n.gettext("admin.not_yourself")], 400)
    if action == "password":
        problem = _password_problem()
        if problem:
            return _users_page([problem], 400)
    store = get_store()
    with store.session(write=True) as s:
        user = s.scalar(select(User).where(User.username == name))
        if user is None:
            abort(404, description=i18n.gettext("admin.no_user"))
        before: dict[str, Any] = {"role": user.role, "review_level": user.review_level, "active": user.active}
        if action == "role":
            user.role, user.review_level = _role_and_level()
        elif action in ("deactivate", "reactivate"):
            user.active = action == "reactivate"
        else:
            user.password_hash = generate_password_hash(request.form["password"])
        after: dict[str, Any] = {"role": user.role, "review_level": user.review_level, "active": user.active}
    if action == "password":
        store.audit(me, "user.reset", "user", name)  # that it happened, never what it is
    else:
        store.audit(me, f"user.{action}", "user", name, before={k: v for k, v in before.items() if after[k] != v},
                    after={k: v for k, v in after.items() if before[k] != v})
    flash(i18n.gettext(f"admin.done.{action}", name=name), "ok")
    return redirect(url_for("admin.users"))

