"""AnalysedQuery (index.query) → an Elasticsearch search body, mirroring Tantivy's query tree.

The tree is built clause for clause like TantivyBackend._query: the same
dis_max groups (tie breaker 0.3), the same field boosts (title 3 > chapter 2
> text 1; pinyin 2, initials 1.5, characters 1), the same phrase slop, filters
that never score, and the same quality tie-break: relevance × log2(2 + 0.2 ×
quality). Lucene's BM25 drops Tantivy's constant (k1 + 1) factor, so scores
are multiplied by it too: both engines then report comparable numbers, and the
parity test can compare them directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from index.backend import FacetValue, SearchQuery
from index.query import AnalysedQuery, TermGroup
from index.tantivy_backend import (
    CHARS_BOOST,
    PHRASE_SLOP,
    PINYIN_BOOSTS,
    RANK_WEIGHT,
    TEXT_BOOSTS,
    TOKEN_FIELDS,
)

TIE_BREAKER = 0.3
BM25_K1 = 1.2
SCORE_SCALE = (1 + BM25_K1) * math.log2(10)
"""Tantivy's BM25 keeps the (k1 + 1) numerator, Lucene's does not; and ES's
log2p modifier is log10(2 + x), Tantivy's weight log2(2 + x)."""
SOURCE_EXCLUDES = sorted(TOKEN_FIELDS)

Json = dict[str, Any]


def _term(field: str, value: str, boost: float) -> Json:
    return {"term": {field: {"value": value, "boost": boost}}}


def _phrase(field: str, tokens: Sequence[str], boost: float, slop: int = 0) -> Json:
    """Tokens in a row; the field's whitespace analyzer splits the joined query back into them."""
    return {"match_phrase": {field: {"query": " ".join(tokens), "slop": slop, "boost": boost}}}


def _dis_max(queries: list[Json]) -> Json:
    return queries[0] if len(queries) == 1 else {"dis_max": {"queries": queries, "tie_breaker": TIE_BREAKER}}


def text_query(tokens: Sequence[str], slop: int = 0) -> Json:
    """The tokens in any text field, boosted per field (a phrase if several)."""
    per_field = [
        _term(field, tokens[0], boost) if len(tokens) == 1 else _phrase(field, tokens, boost, slop)
        for field, boost in TEXT_BOOSTS.items()
    ]
    return {"dis_max": {"queries": per_field, "tie_breaker": TIE_BREAKER}}


def chars_query(chars: str) -> Json:
    """These characters in a row in the `chars` field."""
    if len(chars) == 1:
        return _term("chars", chars, CHARS_BOOST)
    return _phrase("chars", list(chars), CHARS_BOOST)


def group_query(group: TermGroup) -> Json:
    options = [text_query(alternative) for alternative in group.alternatives]
    options += [_term("title_pinyin", t, PINYIN_BOOSTS["title_pinyin"]) for t in group.pinyin]
    options += [_term("title_initials", t, PINYIN_BOOSTS["title_initials"]) for t in group.initials]
    options += [chars_query(chars) for chars in group.chars]
    return _dis_max(options)


def filter_clauses(filters: Mapping[str, Sequence[FacetValue]]) -> list[Json]:
    """One terms filter per facet: values ORed, facets ANDed, no score."""
    return [{"terms": {name: list(values)}} for name, values in filters.items()]


def match_query(analysed: AnalysedQuery, filters: Mapping[str, Sequence[FacetValue]], relaxed: bool = False) -> Json:
    must: list[Json] = []
    groups = [group_query(g) for g in analysed.groups]
    if relaxed:
        must.append({"bool": {"should": groups, "minimum_should_match": analysed.relaxed_match}})
    else:
        must += groups
    for phrase, chars in zip(analysed.phrases, analysed.phrase_chars, strict=True):
        must.append(_dis_max([text_query(phrase, slop=PHRASE_SLOP), chars_query(chars)]))
    clauses = filter_clauses(filters)
    if not must and not clauses:
        return {"match_all": {}}
    return {"bool": {"must": must, "filter": clauses}}


def ranked(query: Json) -> Json:
    """Relevance × log2(2 + RANK_WEIGHT × quality), in Tantivy's units (see SCORE_SCALE)."""
    factor = {"field": "quality", "factor": RANK_WEIGHT, "modifier": "log2p", "missing": 0}
    return {
        "function_score": {
            "query": query,
            "functions": [{"field_value_factor": factor, "weight": SCORE_SCALE}],
            "score_mode": "multiply",
            "boost_mode": "multiply",
        }
    }


def is_relevance(query: SearchQuery, analysed: AnalysedQuery) -> bool:
    """Relevance order needs text: browsing by filters shows the best described first."""
    return query.sort == "relevance" and not analysed.is_empty


def sort_clause(query: SearchQuery, analysed: AnalysedQuery) -> list[Json]:
    """The order, with id as the last key: pages never overlap and search_after can resume."""
    if is_relevance(query, analysed):
        first: Json = {"_score": {"order": "desc"}}
    elif query.sort == "newest":
        first = {"datestamp": {"order": "desc", "missing": "_last"}}
    else:
        first = {"quality": {"order": "desc", "missing": "_last"}}
    return [first, {"id": {"order": "asc"}}]


def search_body(
    analysed: AnalysedQuery,
    query: SearchQuery,
    *,
    relaxed: bool = False,
    facet_sizes: Mapping[str, int] | None = None,
    size: int | None = None,
    offset: int | None = None,
) -> Json:
    """The whole request body: query, order, page, facets, and `_source` without token fields."""
    match = match_query(analysed, query.filters, relaxed)
    body: Json = {
        "query": ranked(match) if is_relevance(query, analysed) else match,
        "sort": sort_clause(query, analysed),
        "size": query.page_size if size is None else size,
        "from": query.offset if offset is None else offset,
        "track_total_hits": True,
        "_source": {"excludes": SOURCE_EXCLUDES},
    }
    if query.facets and facet_sizes is not None:
        body["aggs"] = {name: {"terms": {"field": name, "size": facet_sizes[name]}} for name in query.facets}
    return body


def facet_key(name: str, bucket: Mapping[str, Any]) -> FacetValue:
    key = bucket["key"]
    if name == "has_video":
        return bucket.get("key_as_string") == "true" if "key_as_string" in bucket else bool(key)
    if name == "grade":
        return int(key)
    return str(key)


def parse_facets(aggregations: Mapping[str, Any], names: Sequence[str]) -> dict[str, list[tuple[FacetValue, int]]]:
    """Terms buckets → [(value, count)], count descending then value, as Tantivy orders them."""
    out: dict[str, list[tuple[FacetValue, int]]] = {}
    for name in names:
        buckets = aggregations.get(name, {}).get("buckets", [])
        values = [(facet_key(name, b), int(b["doc_count"])) for b in buckets]
        out[name] = sorted(values, key=lambda vc: (-vc[1], str(vc[0])))
    return out
