"""What the teacher pages and /api/search share: parameters, the search itself, facets, the tree.

One parser for the query string (pages and API accept the same parameters:
q, one repeated parameter per facet, sort, page, page_size), so a page URL
and an API URL for the same search differ only in their path. The approved-
only rule lives here too: unless SITE_SHOW_UNPUBLISHED is on, every search
carries review_status=approved, and no caller can lift it from the query string.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from flask import current_app, url_for
from werkzeug.datastructures import MultiDict

from index.backend import FACETS, MAX_PAGE_SIZE, MAX_RESULT_WINDOW, SORTS, SearchBackend, SearchQuery, SearchResult
from index.backend import facet_value as typed_value
from repository.search import open_backend

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 1000
"""Longer q is refused (400); the backend itself reads only the first 256 characters."""
MAX_VALUES = 20
"""Values per facet parameter."""
TEACHER_FACETS: tuple[str, ...] = (
    "stage", "grade", "subject", "edition", "volume", "resource_type", "source_level", "sources", "honours",
)
"""Facets shown and counted for teachers, in display order."""
TREE: tuple[str, ...] = ("stage", "grade", "subject", "edition", "volume", "chapter")
"""The national platform's browse tree: 学段 → 年级 → 学科 → 版本 → 册次 → 章节."""
CONTROL_PARAMS = frozenset({"q", "sort", "page", "page_size", "lang"})
REFRESH_SECONDS = 5.0
_lock = threading.Lock()


class BadParameter(ValueError):
    """A query-string value the user must fix; `parameter` names it (for 400 answers)."""

    def __init__(self, parameter: str, message: str, *, key: str = "", values: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message
        self.key, self.values = key, values or {}  # the catalogue's text for it, when there is one


def show_unpublished() -> bool:
    return bool(current_app.extensions["huiju.settings"]["SITE_SHOW_UNPUBLISHED"])


def filterable() -> tuple[str, ...]:
    """Facets a request may filter on: review_status only where unpublished works are shown at all."""
    return tuple(f for f in FACETS if f != "review_status" or show_unpublished())


# -- the backend, one per app ------------------------------------------------------------------


def backend() -> SearchBackend:
    """The app's search backend, opened on first use and refreshed every few seconds.

    Refreshing picks up what `huiju dedupe`/`reindex` committed in another process.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _lock:
        entry = app.extensions.get("huiju.search")
        if entry is None:
            entry = app.extensions["huiju.search"] = [open_backend(app.extensions["huiju.settings"]), time.monotonic()]
        if time.monotonic() - entry[1] > REFRESH_SECONDS:
            entry[0].refresh()
            entry[1] = time.monotonic()
    return entry[0]


def close_backend(app: Any) -> None:
    """Release the app's backend (tests create many apps)."""
    entry = app.extensions.pop("huiju.search", None)
    if entry is not None:
        entry[0].close()


# -- parameters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchState:
    """A search as the query string says it: text, chosen facet values (as strings), sort, page."""

    q: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    page_size: int = PAGE_SIZE

    def pairs(self, *, page: bool = True) -> list[tuple[str, str]]:
        """The state as query-string pairs (defaults left out, so URLs stay short)."""
        out: list[tuple[str, str]] = [("q", self.q)] if self.q else []
        for name in FACETS:
            out += [(name, value) for value in self.filters.get(name, ())]
        if self.sort != "relevance":
            out.append(("sort", self.sort))
        if self.page_size != PAGE_SIZE:
            out.append(("page_size", str(self.page_size)))
        if page and self.page != 1:
            out.append(("page", str(self.page)))
        return out

    def url(self, endpoint: str = "pages.search", **changes: Any) -> str:
        state = replace(self, **changes) if changes else self
        pairs = state.pairs()
        return url_for(endpoint) + ("?" + urlencode(pairs) if pairs else "")

    def toggled(self, facet: str, value: str) -> SearchState:
        """This search with one facet value added or removed (back to page 1)."""
        values = self.filters.get(facet, ())
        new = tuple(v for v in values if v != value) if value in values else (*values, value)
        filters = {k: v for k, v in self.filters.items() if k != facet}
        if new:
            filters[facet] = new
        return replace(self, filters=filters, page=1)

    def chosen(self) -> list[tuple[str, str]]:
        return [(name, value) for name in FACETS for value in self.filters.get(name, ())]

    @property
    def empty(self) -> bool:
        return not self.q and not self.filters


def _int(args: MultiDict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadParameter(name, f"{name} must be a whole number from {low} to {high}, not {raw[:40]!r}")
    return int(raw)


def parse_search(args: MultiDict[str, str], *, strict: bool) -> SearchState:
    """The search a query string asks for; BadParameter says which parameter is wrong and why.

    strict (the API): unknown parameters are errors, so a typo (grades=8) is not silently ignored.
    """
    allowed = filterable()
    if strict:
        unknown = sorted(set(args) - CONTROL_PARAMS - set(allowed))
        if unknown:
            raise BadParameter(unknown[0], f"unknown parameter {unknown[0]!r}; filters are {', '.join(allowed)}")
    q = args.get("q", "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise BadParameter("q", f"q is at most {MAX_QUERY_LENGTH} characters", key="query.too_long",
                           values={"max": MAX_QUERY_LENGTH})
    sort = args.get("sort", "").strip() or "relevance"
    if sort not in SORTS:
        raise BadParameter("sort", f"sort must be one of {', '.join(SORTS)}, not {sort[:40]!r}")
    page_size = _int(args, "page_size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _int(args, "page", 1, 1, MAX_RESULT_WINDOW)
    if page * page_size > MAX_RESULT_WINDOW:
        raise BadParameter("page", f"page × page_size must be at most {MAX_RESULT_WINDOW}")
    filters: dict[str, tuple[str, ...]] = {}
    for name in allowed:
        values = [v.strip() for v in args.getlist(name) if v.strip()]
        if len(values) > MAX_VALUES:
            raise BadParameter(name, f"at most {MAX_VALUES} values for {name}")
        for value in values:
            try:
                typed_value(name, value)
            except ValueError as exc:
                raise BadParameter(name, str(exc)) from None
        if values:
            filters[name] = tuple(dict.fromkeys(values))
    return SearchState(q, filters, sort, page, page_size)


# -- searching ---------------------------------------------------------------------------------


def query_for(state: SearchState, facets: Sequence[str] = (), **changes: Any) -> SearchQuery:
    """The backend query for a state; the approved-only filter is added here and only here."""
    filters: dict[str, Sequence[Any]] = {k: [typed_value(k, v) for v in vs] for k, vs in state.filters.items()}
    if not show_unpublished():
        filters["review_status"] = ["approved"]
    fields = dict(text=state.q, filters=filters, sort=state.sort, page=state.page, page_size=state.page_size,
                  facets=tuple(facets))
    fields.update(changes)
    return SearchQuery(**fields)


def run(state: SearchState, facets: Sequence[str] = TEACHER_FACETS, **changes: Any) -> SearchResult:
    """Search; raises QuerySyntaxError for text the user must fix."""
    return backend().search(query_for(state, facets, **changes))


def count(state: SearchState) -> int:
    return run(state, (), page=1, page_size=1).total


@dataclass(frozen=True)
class Relaxation:
    """What to drop from a search that found nothing, and how many works that would find."""

    kind: str  # "filter" or "text"
    facet: str
    value: str
    total: int
    state: SearchState


def relaxations(state: SearchState, limit: int = 6) -> list[Relaxation]:
    """For an empty result: each chosen filter (and the text) dropped in turn, with its count."""
    found: list[Relaxation] = []
    for facet, value in state.chosen():
        relaxed = state.toggled(facet, value)
        found.append(Relaxation("filter", facet, value, count(relaxed), relaxed))
    if state.q and state.filters:
        relaxed = replace(state, q="", page=1)
        found.append(Relaxation("text", "q", state.q, count(relaxed), relaxed))
    found = [r for r in found if r.total]
    return sorted(found, key=lambda r: -r.total)[:limit]


# -- the browse tree ---------------------------------------------------------------------------


_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}  # not a label: parsing
_NUMBER = re.compile(r"(\d+)|([零一二三四五六七八九十百]+)")  # not a label: parsing


def _cn_number(text: str) -> int:
    """十七 → 17, 二十 → 20, 一百零二 → 102 (chapter numbers)."""
    total, current = 0, 0
    for ch in text:
        if ch == "百":  # not a label: parsing
            total += (current or 1) * 100
            current = 0
        elif ch == "十":  # not a label: parsing
            total += (current or 1) * 10
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return total + current


def chapter_key(name: str) -> tuple[int, str]:
    """Sort key putting 第二章 before 第十章 and Unit 2 before Unit 10; unnumbered names last."""
    m = _NUMBER.search(name)
    if not m:
        return (10**6, name)
    return (int(m.group(1)) if m.group(1) else _cn_number(m.group(2)), name)


def works_in(state: SearchState, fields_wanted: int = MAX_RESULT_WINDOW) -> list[dict[str, Any]]:
    """Every work a filter-only search finds (fields of each), paging through the backend."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        result = run(state, (), page=page, page_size=MAX_PAGE_SIZE, sort="relevance")
        found += [hit.fields for hit in result.hits]
        if len(found) >= min(result.total, fields_wanted) or not result.hits:
            return found
        page += 1
        if page * MAX_PAGE_SIZE > MAX_RESULT_WINDOW:
            return found


@dataclass
class TreeLevel:
    """One step of the browse tree: which level, and its values with counts."""

    level: str
    values: list[tuple[str, int]]


def parse_tree(args: MultiDict[str, str]) -> dict[str, str]:
    """The chosen levels, in tree order, stopping at the first gap; BadParameter on bad values."""
    chosen: dict[str, str] = {}
    for level in TREE:
        value = args.get(level, "").strip()
        if not value:
            break
        if level == "chapter":
            if len(value) > 200:
                raise BadParameter(level, "chapter is at most 200 characters")
        else:
            try:
                typed_value(level, value)
            except ValueError as exc:
                raise BadParameter(level, str(exc)) from None
        chosen[level] = value
    return chosen


def tree_state(chosen: Mapping[str, str]) -> SearchState:
    return SearchState(filters={k: (v,) for k, v in chosen.items() if k != "chapter"})


def next_level(chosen: Mapping[str, str]) -> TreeLevel | None:
    """The values one level below what is chosen, with counts, in teaching order; None at a chapter."""
    level = next((lvl for lvl in TREE if lvl not in chosen), None)
    if level is None:
        return None
    state = tree_state(chosen)
    if level == "chapter":
        chapters = Counter(f["chapter_path"][0] for f in works_in(state) if f.get("chapter_path"))
        return TreeLevel(level, sorted(chapters.items(), key=lambda kv: chapter_key(kv[0])))
    facets = run(state, (level,), page=1, page_size=1).facets.get(level, [])
    values = [(str(v), n) for v, n in facets]
    if level == "edition":  # many editions, no natural order: the most used first
        return TreeLevel(level, sorted(values, key=lambda vn: (-vn[1], vn[0])))
    return TreeLevel(level, sorted(values, key=lambda vn: order_key(level, vn[0])))


def order_key(level: str, value: str) -> tuple[int, str]:
    """Vocabulary order (学段, 学科, 册次 as the national platform lists them), grades by number."""
    if level == "grade":
        return (int(value), "")
    from repository.views.labels import vocabulary_position

    return (vocabulary_position(level, value), value)


def lessons(chosen: Mapping[str, str]) -> list[tuple[str, int | None, list[dict[str, Any]]]]:
    """The works of one chapter grouped by lesson and class hour: [(lesson, hour, works)]."""
    chapter = chosen["chapter"]
    groups: dict[tuple[str, int | None], list[dict[str, Any]]] = {}
    for f in works_in(tree_state(chosen)):
        path = f.get("chapter_path") or []
        if not path or path[0] != chapter:
            continue
        lesson = " › ".join(path[1:]) or lesson_name(f.get("title", ""))
        groups.setdefault((lesson, f.get("class_hour")), []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (chapter_key(kv[0][0]), kv[0][1] or 0))
    return [(lesson, hour, sorted(works, key=lambda f: order_key("resource_type", f.get("resource_type", ""))))
            for (lesson, hour), works in ordered]


_DECORATION = re.compile(r"【[^】]*】|\[[^\]]*\]|[（(]第[^）)]{1,4}课时[）)]|[（(]微课[）)]")  # not a label: parsing


def lesson_name(title: str) -> str:
    """A title without platform decoration and class hour: 【市级优课】勾股定理（第1课时） → 勾股定理."""
    return _DECORATION.sub("", title).strip() or title.strip()


def phrase(text: str) -> str:
    """text as one quoted phrase of the query language (quotes inside dropped)."""
    cleaned = re.sub(r'["“”＂„]', " ", text).strip()
    return f'"{cleaned}"' if cleaned else ""


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are rendered; javascript:, data: and the like are dropped."""
    if url and re.match(r"^https?://[^\s]+$", url.strip(), re.I):
        return url.strip()
    return None


def flatten(pairs: Iterable[tuple[str, str]]) -> str:
    return urlencode(list(pairs))
