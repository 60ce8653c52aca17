"""Curator sign-in: login/logout, the session, role checks and a login rate limit.

* Passwords are checked with werkzeug's check_password_hash against User.password_hash
  (`huiju user add` and `huiju demo` store generate_password_hash output). A password is
  never logged nor audited. An unknown or inactive user name is checked against a dummy
  hash, so the answer takes as long as for a wrong password (no user enumeration by timing).
* The session is Flask's signed cookie (HttpOnly, SameSite=Lax, set in app.py). On login the
  session is cleared before the user is put in it, so nothing an attacker planted survives
  (session fixation); a fresh random ``sid`` is stored too. A signed cookie alone would stay
  valid after logout (whoever copied it could replay it for PERMANENT_SESSION_LIFETIME), so
  each sign-in is also kept server-side: a ``session:<sha256 of sid>`` row in the settings
  table with the user and a fingerprint of the password hash. Logout deletes the row; a cookie
  without its row, or from before a password change, is signed out. Behind https set
  SITE_SECURE_COOKIES (docs/settings.md; the reverse proxy terminates TLS).
* Every form is CSRF-protected by Flask-WTF's CSRFProtect; OAI-PMH (POST is part of the
  protocol) and the read-only JSON API are exempt.
* ``next`` after login is followed only when it is a same-site relative path ("/review?…");
  anything else ("//evil", "https://…", "/\\evil") falls back to the review queue.
* Rate limit: at most LOGIN_ATTEMPTS failed logins per (client IP, username) within
  LOGIN_WINDOW seconds; further attempts get 429 until the window passes. The counter lives
  in this process (a small dict, oldest entries pruned): with several server processes each
  keeps its own, which still bounds guessing to attempts × processes per window.
* Every login, failed login, refused (rate-limited) login and logout goes to the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from repository import i18n
from repository.models import Setting, User

LOGIN_ATTEMPTS = 5
LOGIN_WINDOW = 300.0
_MAX_KEYS = 10_000
SESSION_PREFIX = "session:"

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])


class RateLimiter:
    """Failed attempts per key within a sliding window, in memory."""

    def __init__(self, attempts: int = LOGIN_ATTEMPTS, window: float = LOGIN_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts, self.window, self.clock = attempts, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures.get(key, deque())
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, self.clock())) >= self.attempts

    def fail(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            found = self._recent(key, now)
            found.append(now)
            self._failures[key] = found
            if len(self._failures) > _MAX_KEYS:  # forget the stalest keys
                for stale in sorted(self._failures, key=lambda k: self._failures[k][-1] if self._failures[k] else 0)[
                        : len(self._failures) - _MAX_KEYS]:
                    del self._failures[stale]

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def init_app(app: Flask) -> None:
    """CSRF on every form (OAI-PMH and the JSON API exempt), the login routes, current_user in templates."""
    from repository.views import api, oai

    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    csrf.init_app(app)
    csrf.exempt(oai.bp)
    csrf.exempt(api.bp)
    app.extensions["huiju.login_limiter"] = RateLimiter()
    app.register_blueprint(bp)
    app.before_request(_load_user)
    app.jinja_env.globals.update(current_user=lambda: g.get("user"))


def _load_user() -> None:
    g.user = None
    from flask import current_app

    # Only pages that can use a sign-in read the session (reading it adds Vary: Cookie, which would
    # stop caches sharing OAI-PMH and API answers), and only when a session cookie was sent.
    if request.blueprint in ("oai", "api") or current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return
    username = session.get("user")
    if not username:
        return
    from repository.app import get_store

    sid = session.get("sid")
    with get_store().session() as s:
        user = s.scalar(select(User).where(User.username == username))
        live = s.get(Setting, _session_key(sid)) if isinstance(sid, str) else None
        if (user is not None and user.active and live is not None and isinstance(live.value, dict)
                and live.value.get("user") == username and live.value.get("pw") == _password_mark(user.password_hash)):
            g.user = {"username": user.username, "role": user.role}
        else:  # unknown, deactivated, signed out, or the password changed since
            session.clear()


def _session_key(sid: str) -> str:
    return SESSION_PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def _password_mark(password_hash: str) -> str:
    """Changes when the password does: a session from before a password change is signed out."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _open_session(username: str, password_hash: str) -> str:
    """Record a new sign-in server-side (and forget expired ones); returns its sid for the cookie."""
    from flask import current_app

    from repository.app import get_store

    sid = secrets.token_urlsafe(32)
    now = time.time()
    oldest = now - current_app.permanent_session_lifetime.total_seconds()  # Flask refuses older cookies anyway
    with get_store().session(write=True) as s:
        for row in s.scalars(select(Setting).where(Setting.key.startswith(SESSION_PREFIX))):
            if not isinstance(row.value, dict) or row.value.get("at", 0) < oldest:
                s.delete(row)
        s.add(Setting(key=_session_key(sid), value={"user": username, "at": now,
                                                     "pw": _password_mark(password_hash)}))
    return sid


def _close_session(sid: object) -> None:
    from repository.app import get_store

    if isinstance(sid, str):
        with get_store().session(write=True) as s:
            row = s.get(Setting, _session_key(sid))
            if row is not None:
                s.delete(row)


@cache
def _dummy_hash() -> str:
    """Checked against when the user name is unknown or inactive, so that costs what a wrong password does."""
    return generate_password_hash(secrets.token_urlsafe(16))


def current_user() -> dict[str, str] | None:
    return g.get("user")


def role_required(*roles: str) -> Callable[[F], F]:
    """Anonymous → redirect to the login page (with next); signed in with another role → 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


curator_required = role_required("curator", "admin")
admin_required = role_required("admin")


def safe_next(target: str | None) -> str | None:
    """target when it is a relative path on this site, else None (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _client_ip() -> str:
    return request.remote_addr or "-"


def _audit(actor: str, action: str, username: str) -> None:
    from repository.app import get_store

    get_store().audit(actor, action, "user", username, after={"ip": _client_ip()})


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_url or "", error=None, username="")
    username = request.form.get("username", "").strip()[:100]
    password = request.form.get("password", "")
    limiter = _limiter()
    key = f"{_client_ip()}|{username.lower()}"
    if limiter.blocked(key):
        _audit(username or "-", "login.refused", username or "-")
        return render_template("login.html", next=next_url or "", username=username,
                               error=i18n.gettext("login.too_many")), 429
    from repository.app import get_store

    with get_store().session() as s:
        user = s.scalar(select(User).where(User.username == username)) if username else None
        known = user is not None and user.active
        ok = check_password_hash(user.password_hash if known else _dummy_hash(), password) and known
        password_hash = user.password_hash if known else ""
    if not ok:
        limiter.fail(key)
        _audit(username or "-", "login.failed", username or "-")
        return render_template("login.html", next=next_url or "", username=username,
                               error=i18n.gettext("login.failed")), 401
    limiter.reset(key)
    _close_session(session.get("sid"))
    session.clear()  # session fixation: nothing from before the login survives
    session["user"] = username
    session["sid"] = _open_session(username, password_hash)
    session.permanent = False
    _audit(username, "login", username)
    return redirect(next_url or url_for("review.queue"))


def _limiter() -> RateLimiter:
    from flask import current_app

    return current_app.extensions["huiju.login_limiter"]


@bp.post("/logout")
def logout() -> Response:
    user = current_user()
    _close_session(session.get("sid"))
    session.clear()
    if user is not None:
        _audit(user["username"], "logout", user["username"])
    return redirect(url_for("pages.index"))
