"""The Elasticsearch index definition: explicit mapping and settings for work documents.

Token fields arrive pre-analysed (index.analysis), so they use a whitespace
analyzer and Elasticsearch never re-analyses them, exactly like Tantivy's
`huiju_ws` tokenizer. Facets are keyword fields (grade integer, has_video
boolean) with doc values for terms aggregations. Display fields are mapped
but not indexed: hits are read from `_source` (the whole document, minus the
token fields on the way out), which is also what the Tantivy backend stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from index.backend import FACETS, MAX_RESULT_WINDOW
from index.tantivy_backend import PINYIN_BOOSTS, TEXT_BOOSTS, TOKEN_FIELDS

ANALYZER = "huiju_ws"

KEYWORD_FACETS = tuple(f for f in FACETS if f not in ("grade", "has_video"))

FACET_SIZES: dict[str, int] = {
    "stage": 16,  # 5 stages in the vocabulary
    "grade": 12,
    "subject": 64,  # 30 subjects
    "edition": 256,  # 87 editions
    "volume": 16,  # 6 volumes
    "resource_type": 32,  # 12 resource types
    "source_level": 8,  # 5 levels
    "sources": 1000,  # open-ended: one per harvested platform
    "honours": 16,  # 4 honours
    "review_status": 8,
    "format": 256,  # open-ended MIME types
    "has_video": 2,
}
"""Buckets per facet. Counts are exact while a facet has at most this many
values (every shard returns all of its values); sizes sit well above the
vocabularies. Override per deployment with ElasticsearchBackend(facet_sizes=)."""

_NOT_INDEXED_KEYWORD = {"type": "keyword", "index": False, "doc_values": False}
_NOT_INDEXED_INT = {"type": "integer", "index": False, "doc_values": False}

DISPLAY_FIELDS: dict[str, dict[str, Any]] = {
    "title": {"type": "text", "index": False},
    "description": {"type": "text", "index": False},
    "url": _NOT_INDEXED_KEYWORD,
    "thumbnail": _NOT_INDEXED_KEYWORD,
    "stage_label": _NOT_INDEXED_KEYWORD,
    "grade_label": _NOT_INDEXED_KEYWORD,
    "subject_label": _NOT_INDEXED_KEYWORD,
    "edition_label": _NOT_INDEXED_KEYWORD,
    "volume_label": _NOT_INDEXED_KEYWORD,
    "resource_type_label": _NOT_INDEXED_KEYWORD,
    "chapter_path": _NOT_INDEXED_KEYWORD,
    "chapter": {"type": "text", "index": False},
    "class_hour": _NOT_INDEXED_INT,
    "duration": _NOT_INDEXED_INT,
    "members_count": _NOT_INDEXED_INT,
}
"""Shown on result pages, never searched: mapped so their types are checked."""


def mappings() -> dict[str, Any]:
    """The explicit mapping. `dynamic: false` keeps a field added to documents
    later in `_source` (shown, not searchable) instead of failing every bulk
    item, as Tantivy does with fields outside its schema."""
    properties: dict[str, Any] = {"id": {"type": "keyword"}}
    for name in (*TEXT_BOOSTS, "chars"):
        properties[name] = {"type": "text", "analyzer": ANALYZER, "index_options": "positions"}
    for name in PINYIN_BOOSTS:  # single terms only: no positions needed
        properties[name] = {"type": "text", "analyzer": ANALYZER, "index_options": "freqs"}
    for name in KEYWORD_FACETS:
        properties[name] = {"type": "keyword"}
    properties["grade"] = {"type": "integer"}
    properties["has_video"] = {"type": "boolean"}
    properties["datestamp"] = {"type": "date", "format": "strict_date_optional_time"}
    properties["quality"] = {"type": "float"}
    properties.update(DISPLAY_FIELDS)
    assert TOKEN_FIELDS <= properties.keys()
    return {"dynamic": False, "properties": properties}


def settings(*, shards: int, replicas: int) -> dict[str, Any]:
    """Index settings. refresh_interval -1: writes become visible on commit()
    (an explicit refresh), as the SearchBackend contract says, never on a timer.
    One shard by default: BM25 statistics are then those of the whole index, as
    in Tantivy, so both engines rank alike (and 1M works fit one shard easily)."""
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "refresh_interval": "-1",
        "max_result_window": MAX_RESULT_WINDOW,
        "analysis": {"analyzer": {ANALYZER: {"type": "custom", "tokenizer": "whitespace"}}},
    }


def facet_sizes(overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    sizes = dict(FACET_SIZES)
    for name, size in (overrides or {}).items():
        if name not in FACETS or size < 1:
            raise ValueError(f"facet_sizes: {name!r} must be a facet with a positive size")
        sizes[name] = size
    return sizes
