"""The Flask application factory (flaskr style: create_app, one blueprint per area)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

import web
from repository.settings import Settings
from repository.store import Store

WEB_ROOT = Path(web.__file__).resolve().parent


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
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    if store is None:
        store = Store(settings.database_url)
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

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # noqa: ANN202
        from flask import render_template, request

        if request.path.startswith("/api/"):
            return jsonify(error={"code": exc.code, "message": exc.description}), exc.code
        return render_template("error.html", error=exc), exc.code

    @app.after_request
    def security_headers(response):  # noqa: ANN001, ANN202
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; object-src 'none'"
        )
        return response

    return app


def get_store() -> Store:
    from flask import current_app

    return current_app.extensions["huiju.store"]
