"""Labels for facet values: vocabulary codes shown as words a teacher reads.

Codes come from the index; labels from the controlled vocabularies
(schemas/vocab via schemas.vocab) in the page's language. Codes the
vocabularies do not list verbatim (edition variants such as pep-a 人教A版,
modules such as compulsory-1 必修 第一册) take the label the normaliser
stored beside them in the work documents; sources take their registered
label. The code itself is the last resort, never an empty string.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Any

from flask import current_app

from index.backend import FACETS, SearchQuery
from repository.i18n import current_locale, gettext, translate
from schemas.vocab import grade_entries, vocabulary

VOCABULARY_OF = {
    "stage": "stages",
    "subject": "subjects",
    "edition": "editions",
    "volume": "volumes",
    "resource_type": "resource_types",
    "source_level": "source_levels",
    "honours": "honours",
}
_lock = threading.Lock()
SOURCES_SECONDS = 5.0
"""How long the registered sources' labels are reused (the search index refreshes as often)."""


def _entry_text(entry: dict[str, Any], locale: str) -> str:
    return entry.get(locale) or entry.get("zh") or entry.get("label") or ""


@cache
def _honour_entries() -> dict[str, dict[str, Any]]:
    """Honours are stored by their Chinese label (部优, 省优 …), not a code."""
    return {entry["zh"]: entry for entry in vocabulary("honours").entries.values()}


@cache
def _positions(name: str) -> dict[str, int]:
    return {code: i for i, code in enumerate(vocabulary(name).entries)}


def vocabulary_position(facet: str, value: str) -> int:
    """Where a code stands in its vocabulary (variants after their base); unknown values last."""
    if facet == "honours":
        return list(_honour_entries()).index(value) if value in _honour_entries() else 10**6
    name = VOCABULARY_OF.get(facet)
    if name is None:
        return 10**6
    positions = _positions(name)
    base = value.split("-", 1)[0]
    return positions.get(value, positions.get(base, 10**6))


@cache
def _vocabulary_labels(facet: str, locale: str) -> dict[str, str]:
    """code → label of one vocabulary facet in one language, built once per process (a search labels ~60 values)."""
    if facet == "grade":
        return {str(code): _entry_text(entry, locale) or str(code) for code, entry in grade_entries().items()}
    if facet == "honours":
        return {zh: _entry_text(entry, locale) or zh for zh, entry in _honour_entries().items()}
    name = VOCABULARY_OF.get(facet)
    if name is None:
        return {}
    return {code: _entry_text(entry, locale) or code for code, entry in vocabulary(name).entries.items()}


def label(facet: str, value: Any, locale: str | None = None) -> str:
    """The label of one facet value in `locale` (default: the current request's language)."""
    locale = locale or current_locale()
    text = str(value)
    if facet == "grade" and text.isdigit():
        text = str(int(text))
    known = _vocabulary_labels(facet, locale).get(text)
    if known is not None:
        return known
    if facet == "sources":
        return source_info(text)["label"]
    if facet == "review_status":
        return translate(f"review.{text}", locale)
    if facet == "has_video":
        return translate("facet.has_video.yes" if value in (True, "true") else "facet.has_video.no", locale)
    if facet in VOCABULARY_OF and facet != "honours":
        return _indexed_label(facet, text) or text
    return text


def _indexed_label(facet: str, code: str) -> str | None:
    """The label stored with the code in a work document (cached per app: codes do not change label)."""
    if facet not in FACETS:
        return None
    cache_ = current_app.extensions.setdefault("huiju.labels", {})
    key = (facet, code)
    if key not in cache_:
        from repository.views.browse import backend, show_unpublished

        found = None
        filters: dict[str, list[Any]] = {facet: [code]}
        if not show_unpublished():
            filters["review_status"] = ["approved"]
        try:
            result = backend().search(SearchQuery(filters=filters, page_size=1))
            if result.hits:
                found = result.hits[0].fields.get(f"{facet}_label")
        except ValueError:
            found = None
        with _lock:
            if len(cache_) > 10_000:
                cache_.clear()
            cache_[key] = found
    return cache_[key]


# -- sources -----------------------------------------------------------------------------------


def sources() -> dict[str, dict[str, str]]:
    """name → {label, level, level_label} for every registered source.

    Read from the store at most every SOURCES_SECONDS per app, not on every request: /api/search
    labels its `sources` facet on each call, and sources change only when an operator edits them.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    locale = current_locale()
    cached = app.extensions.get("huiju.sources")
    now = time.monotonic()
    if cached is None or now - cached[0] > SOURCES_SECONDS:
        rows = []
        for source in app.extensions["huiju.store"].list_sources():
            options = source.options or {}
            text = str(options.get("label") or "")
            if not text and (source.location or "").startswith("sample:"):
                text = source.location.split(":", 1)[1]  # the demo's sample platforms (repository/demo.py)
            rows.append((source.name, text or source.name, source.level or ""))
        cached = app.extensions["huiju.sources"] = (now, rows, {})
    by_locale = cached[2]
    found = by_locale.get(locale)
    if found is None:
        found = by_locale[locale] = {
            name: {"label": text, "level": level, "level_label": label("source_level", level, locale) if level else ""}
            for name, text, level in cached[1]
        }
    return found


def source_info(name: str) -> dict[str, str]:
    return sources().get(name, {"label": name, "level": "", "level_label": ""})


def duration_text(seconds: int | None) -> str:
    """12分30秒 / 1小时5分 in the page's language."""
    if not seconds:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("duration.hours", h=hours, m=minutes)
    if minutes:
        return gettext("duration.minutes", m=minutes, s=secs)
    return gettext("duration.seconds", s=secs)
