"""The engine-neutral search interface.

The web app and the ingest pipeline talk only to `SearchBackend`; the
embedded Tantivy backend and a later Elasticsearch backend implement it over
the same plain-dict documents (index.documents) and the same pre-analysed
query tokens (index.query), so nothing here names an engine.

Facet semantics: counts are over the matching set (text AND all filters).
Several values for one facet in `filters` are ORed; different facets ANDed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

FACETS: tuple[str, ...] = (
    "stage",
    "grade",
    "subject",
    "edition",
    "volume",
    "resource_type",
    "source_level",
    "sources",
    "honours",
    "review_status",
    "format",
    "has_video",
)
"""Keyword fields of a work document that can be filtered and counted."""

SORTS: tuple[str, ...] = ("relevance", "newest", "quality")
MAX_PAGE_SIZE = 100
MAX_RESULT_WINDOW = 10_000
"""Deepest result reachable by paging (page * page_size), as in Elasticsearch."""

FacetValue = str | int | bool


class SearchError(Exception):
    """Base of the errors a search backend raises on purpose."""


class QuerySyntaxError(SearchError, ValueError):
    """The user's query text cannot be understood; `message` says why, for the user.

    `key` and `values` name the same message in the site's catalogue (web/i18n), so the
    site shows it in the reader's language; index/ itself stays free of the web layer.
    """

    def __init__(self, message: str, query: str = "", position: int | None = None, *, key: str = "",
                 values: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.position = position
        self.key = key
        self.values = values or {}


def facet_value(facet: str, value: Any) -> FacetValue:
    """A filter or facet value in its document type: grade int, has_video bool, else str."""
    if facet == "grade":
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise ValueError(f"grade filter must be a number 1-12, not {value!r}")
        return int(str(value).strip())
    if facet == "has_video":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(f"has_video filter must be true or false, not {value!r}")
    if not isinstance(value, str) or not value:
        raise ValueError(f"{facet} filter values must be non-empty strings, not {value!r}")
    return value


@dataclass(frozen=True)
class SearchQuery:
    """One search request. `text` is the user's text: words plus optional "quoted phrases"."""

    text: str = ""
    filters: Mapping[str, Sequence[FacetValue]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20
    facets: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {self.sort!r}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1-{MAX_PAGE_SIZE}, not {self.page_size}")
        if self.page < 1 or self.page * self.page_size > MAX_RESULT_WINDOW:
            raise ValueError(f"page must be ≥ 1 and page × page_size ≤ {MAX_RESULT_WINDOW}")
        unknown = [f for f in (*self.filters, *self.facets) if f not in FACETS]
        if unknown:
            raise ValueError(f"unknown facet {unknown[0]!r}; facets are {', '.join(FACETS)}")
        filters = {
            name: tuple(dict.fromkeys(facet_value(name, v) for v in values))
            for name, values in self.filters.items()
            if values
        }
        object.__setattr__(self, "filters", filters)
        object.__setattr__(self, "facets", tuple(dict.fromkeys(self.facets)))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass
class Hit:
    """One work on a result page. `snippet` and `title_html` are HTML-escaped with <mark>s."""

    id: str
    score: float | None
    title: str
    snippet: str
    title_html: str
    fields: dict[str, Any]


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[FacetValue, int]]]
    """facet → [(value, count)], count descending, then value."""


class SearchBackend(ABC):
    """A search index of work documents (plain dicts from index.documents.work_document).

    Writes (index_documents, delete, clear) become durable and visible to new
    searches on `commit()`. `refresh()` makes a reader see commits made by
    another process. One writer process; any number of reader threads.
    """

    @abstractmethod
    def index_documents(self, documents: Iterable[Mapping[str, Any]], batch: int = 1000) -> int:
        """Add or replace (by id) documents, `batch` at a time; returns how many."""

    @abstractmethod
    def delete(self, ids: Iterable[str]) -> int:
        """Remove works by id; returns how many ids were given."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; raises QuerySyntaxError for text the user must fix."""

    @abstractmethod
    def count(self) -> int:
        """Number of documents visible to searches."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every document (visible after commit)."""

    @abstractmethod
    def commit(self) -> None:
        """Make pending writes durable and visible to new searches."""

    @abstractmethod
    def refresh(self) -> None:
        """Pick up commits made elsewhere (another process)."""

    @abstractmethod
    def close(self) -> None:
        """Release the writer and readers; pending writes are committed first."""

    def rebuild(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Replace every document with `documents` (visible at once when done); returns how many.

        Default: clear + index + commit, which a backend with atomic commits
        (Tantivy) shows to readers as one switch. A backend that can build the
        new index aside and swap it in (Elasticsearch's alias) overrides this.
        """
        self.clear()
        count = self.index_documents(documents)
        self.commit()
        return count

    def __enter__(self) -> SearchBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except SearchError:
            pass  # closing after a failure (server gone) fails the same way: report the first error
