"""The Flask application factory (flaskr style: create_app, one blueprint per area)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

import web
from repository.settings import Settings
from repository.store import Store

WEB_ROOT = Path(web.__file__).resolve().parent


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, minus building its signer for a request that sent no session cookie
    (every API and anonymous request): the answer is the same new empty session."""

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:  # noqa: ANN001
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    settings = settings or Settings()
    app = Flask(
        __name__,
        template_folder=str(WEB_ROOT / "templates"),
        static_folder=str(WEB_ROOT / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["SITE_SECURE_COOKIES"],  # on behind TLS (docs/settings.md)
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.session_interface = SessionInterface()
    if settings["SITE_PROXY_HOPS"] > 0:  # trust X-Forwarded-* from that many proxies, no more
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings["SITE_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)  # type: ignore[method-assign]
    if store is None:
        store = Store(settings.database_url, busy_timeout=settings["DATABASE_BUSY_TIMEOUT"])
        store.init()
    app.extensions["huiju.store"] = store
    app.extensions["huiju.settings"] = settings

    from repository.views import api, oai, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(oai.bp, url_prefix="/oai")

    from repository import auth
    from repository.views import review

    auth.init_app(app)  # CSRF on forms, /login, /logout
    app.register_blueprint(review.bp)
    from repository.views import admin, dashboard

    app.register_blueprint(dashboard.bp)  # operators: curators and admins
    app.register_blueprint(admin.bp)  # sources and users: admins only

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # noqa: ANN202
        from flask import render_template, request

        if request.path.startswith("/api/"):
            return jsonify(error={"code": exc.code, "message": exc.description}), exc.code
        return render_template("error.html", error=exc), exc.code

    @app.after_request
    def security_headers(response):  # noqa: ANN001, ANN202
        """No inline script anywhere (the site's pages have none), no framing (the curator forms could be
        clickjacked), forms post only here; a signed-in page is never stored by a cache or the back button."""
        from flask import g, request

        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        )
        if g.get("user") is not None and request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


def get_store() -> Store:
    from flask import current_app

    return current_app.extensions["huiju.store"]
