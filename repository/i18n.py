"""The message catalogue: every label of the site, Chinese first.

Catalogues are flat JSON files, web/i18n/<locale>.json, mapping a key to a
text with optional {named} fields; another language is one more file. Why
not Flask-Babel: it reads compiled .mo catalogues, so every wording change
would need a `pybabel compile` build step (or committed binaries); Chinese
has no plural forms that would need ngettext; and a flat JSON file is what a
translator edits and what a test checks for missing keys in one line.

The page language is Chinese unless the reader chose another (?lang=en,
remembered in a cookie). Accept-Language is not consulted on purpose: the
site is for Chinese classrooms, and many school PCs run English browsers.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, has_request_context, request

import web

CATALOGUE_DIR = Path(web.__file__).resolve().parent / "i18n"
DEFAULT_LOCALE = "zh"
COOKIE = "lang"


@cache
def locales() -> tuple[str, ...]:
    """The catalogues present, Chinese first."""
    found = sorted(p.stem for p in CATALOGUE_DIR.glob("*.json"))
    return (DEFAULT_LOCALE, *(name for name in found if name != DEFAULT_LOCALE))


@cache
def catalogue(locale: str) -> dict[str, str]:
    return json.loads((CATALOGUE_DIR / f"{locale}.json").read_text("utf-8"))


def current_locale() -> str:
    if has_request_context():
        return g.get("locale", DEFAULT_LOCALE)
    return DEFAULT_LOCALE


def translate(key: str, locale: str, **values: Any) -> str:
    """The text for key in locale, else in Chinese, else the key itself (visible, so it gets noticed)."""
    text = catalogue(locale).get(key) if locale in locales() else None
    if text is None:
        text = catalogue(DEFAULT_LOCALE).get(key, key)
    return text.format(**values) if values else text


def has_text(key: str) -> bool:
    """Whether the catalogue has key (templates pick a specific text or a general one)."""
    return key in catalogue(DEFAULT_LOCALE)


def gettext(key: str, **values: Any) -> str:
    """translate() in the current request's language; the templates call it as _()."""
    return translate(key, current_locale(), **values)


def user_message(error: Any) -> str:
    """An error's text for the reader: its catalogue ``key`` (with ``values``) when it has one, else its message."""
    key = getattr(error, "key", "")
    return gettext(key, **getattr(error, "values", {})) if key and has_text(key) else str(error.message)


def _choose_locale() -> None:
    wanted = request.args.get(COOKIE) or request.cookies.get(COOKIE) or DEFAULT_LOCALE
    g.locale = wanted if wanted in locales() else DEFAULT_LOCALE


def _remember_locale(response: Response) -> Response:
    chosen = request.args.get(COOKIE)
    if chosen in locales() and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(COOKIE, chosen, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    """Choose the language per request and give templates _() and the language switch."""
    if app.extensions.get("huiju.i18n"):
        return
    app.extensions["huiju.i18n"] = True
    app.before_request(_choose_locale)
    app.after_request(_remember_locale)
    app.jinja_env.globals.update(_=gettext, has_text=has_text, locales=locales, current_locale=current_locale)
