"""The embedded search backend: Tantivy through its official Python bindings.

Text arrives pre-analysed (index.analysis), so text fields use a whitespace
tokenizer and Tantivy never re-analyses our tokens. Facets are raw-tokenised
fast fields: filters are term queries, counts one terms aggregation per
search. The work document minus its token fields is stored as one JSON blob
(`_source`), so a hit needs one doc-store read.

Concurrency: one writer per index (Tantivy's lock file enforces it across
processes; a second writer waits up to `lock_timeout` seconds for it, so a
dedupe that ends during a reindex queues instead of failing and losing its
update); searches run on any number of threads, each taking the current
searcher snapshot. A reader in another process sees new commits after
`refresh()` or, automatically, shortly after they land.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec
import tantivy
from tantivy import Occur, Query

from index.backend import (
    FACETS,
    FacetValue,
    Hit,
    SearchBackend,
    SearchError,
    SearchQuery,
    SearchResult,
)
from index.query import AnalysedQuery, TermGroup, analyse_query, highlight, pinyin_matches
from index.shelf_order import shelf_key, shelved

TEXT_BOOSTS: dict[str, float] = {"title_tokens": 3.0, "chapter_tokens": 2.0, "text_tokens": 1.0}
"""Text fields and their boosts: a title match outweighs a chapter match, which outweighs the description."""
PINYIN_BOOSTS: dict[str, float] = {"title_pinyin": 2.0, "title_initials": 1.5}
CHARS_BOOST = 1.0
TOKEN_FIELDS = frozenset({*TEXT_BOOSTS, *PINYIN_BOOSTS, "chars"})
KEYWORD_FACETS = tuple(f for f in FACETS if f not in ("grade", "has_video"))
RANK_WEIGHT = 0.2
"""rank_weight = RANK_WEIGHT × quality; Tantivy multiplies relevance by
log2(2 + rank_weight), so completeness lifts a score by at most ~14%: enough
to order equally relevant works, too little to beat a better text match."""
PHRASE_SLOP = 2
"""Search-mode sub-words sit between a long word and the next one in the
index (勾股 定理 勾股定理 的): a phrase allows that many extra positions."""
FACET_BUCKETS = 1000
"""Most values returned per facet; counts are exact below SEGMENT_BUCKETS values."""
SEGMENT_BUCKETS = 65_536
TOKENIZER = "huiju_ws"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


def build_schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", tokenizer_name="raw", index_option="basic")
    for name in TEXT_BOOSTS:
        b.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position")
    for name in PINYIN_BOOSTS:
        b.add_text_field(name, tokenizer_name=TOKENIZER, index_option="freq")
    b.add_text_field("chars", tokenizer_name=TOKENIZER, index_option="position")
    for name in KEYWORD_FACETS:
        b.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    b.add_integer_field("grade", indexed=True, fast=True)
    b.add_boolean_field("has_video", indexed=True, fast=True)
    b.add_date_field("datestamp", indexed=True, fast=True)
    b.add_float_field("quality", fast=True)
    b.add_float_field("rank_weight", fast=True)
    b.add_bytes_field("_source", stored=True)
    return b.build()


def tantivy_json(doc: Mapping[str, Any]) -> str:
    """A work document (index.documents) as the JSON Tantivy's add_json takes."""
    out: dict[str, Any] = {k: v for k, v in doc.items() if k in _INDEXED and v is not None}
    out["rank_weight"] = RANK_WEIGHT * float(doc.get("quality") or 0.0)
    source = {k: v for k, v in doc.items() if k not in TOKEN_FIELDS}
    out["_source"] = base64.b64encode(_encode(source)).decode("ascii")
    return _encode(out).decode("utf-8")


_INDEXED = frozenset({"id", *TOKEN_FIELDS, *FACETS, "datestamp", "quality"})


class TantivyBackend(SearchBackend):
    """SearchBackend over a Tantivy index in `path` (None: in memory, for tests)."""

    def __init__(
        self,
        path: str | Path | None,
        *,
        heap_size: int = 256_000_000,
        writer_threads: int | None = None,
        lock_timeout: float = 120.0,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.lock_timeout = lock_timeout
        self.schema = build_schema()
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._index = tantivy.Index(self.schema, path=str(self.path) if self.path else None, reuse=True)
        except ValueError as exc:
            raise SearchError(
                f"cannot open the index at {self.path} (built with another schema? rebuild it): {exc}"
            ) from exc
        analyzer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
            .filter(tantivy.Filter.remove_long(255))
            .build()
        )
        self._index.register_tokenizer(TOKENIZER, analyzer)
        self._index.config_reader("commit")
        self._heap_size = heap_size
        self._writer_threads = writer_threads or min(2, os.cpu_count() or 1)
        self._writer: tantivy.IndexWriter | None = None
        self._pending = False
        self._lock = threading.Lock()
        # Facet counts run beside the top-hits search: Tantivy releases the GIL, so one search costs
        # max(hits, facets) rather than their sum. Measured again with 16 HTTP clients on 2 cores (2026-11-24):
        # counting in the request's own thread used the same CPU per request but raised p95 by 40-90 % (heavy
        # queries pay the sum), so the pool stays.
        self._facet_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tantivy-facets")

    # --- writing --------------------------------------------------------------

    def _get_writer(self) -> tantivy.IndexWriter:
        """The index writer, waiting up to lock_timeout for another process's writer to finish."""
        deadline = time.monotonic() + self.lock_timeout
        while self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=self._heap_size, num_threads=self._writer_threads)
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() >= deadline:
                    raise SearchError(f"another writer holds the index at {self.path} (waited "
                                      f"{self.lock_timeout:g} s, INDEX_LOCK_TIMEOUT): {exc}") from exc
                time.sleep(0.1)
        return self._writer

    def index_documents(self, documents: Iterable[Mapping[str, Any]], batch: int = 1000) -> int:
        count = 0
        iterator = iter(documents)
        while chunk := list(islice(iterator, batch)):
            lines = [(doc["id"], tantivy_json(doc)) for doc in chunk]  # encode outside the lock
            with self._lock:
                writer = self._get_writer()
                for doc_id, line in lines:
                    writer.delete_documents_by_term("id", doc_id)
                    writer.add_json(line)
                self._pending = True
            count += len(lines)
        return count

    def rebuild(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Replace every document, added shelf by shelf (index.shelf_order: filtered searches skip
        whole blocks); readers see the old index until the one commit at the end. If a document
        fails, the writer rolls back to the last commit: the old index stays, whole."""
        encoded = ((shelf_key(doc), tantivy_json(doc)) for doc in documents)
        beside = self.path.parent if self.path is not None else None  # same disk as the index, usually roomier
        ordered = shelved(encoded, beside if beside is not None and os.access(beside, os.W_OK) else None)
        count = 0
        try:
            first = next(ordered, None)  # every document is spilled before the old ones are cleared
            with self._lock:
                writer = self._get_writer()
                writer.delete_all_documents()
                try:
                    if first is not None:
                        writer.add_json(first)
                        count = 1
                    for line in ordered:
                        writer.add_json(line)
                        count += 1
                except BaseException:
                    writer.rollback()  # never commit a cleared, half-filled index later
                    self._pending = False
                    raise
                self._pending = True
        finally:
            ordered.close()  # the spill files go now, also when a document fails
        self.commit()
        return count

    def delete(self, ids: Iterable[str]) -> int:
        count = 0
        with self._lock:
            writer = self._get_writer()
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)
                count += 1
            self._pending = self._pending or count > 0
        return count

    def clear(self) -> None:
        with self._lock:
            self._get_writer().delete_all_documents()
            self._pending = True

    def commit(self) -> None:
        with self._lock:
            if self._writer is not None and self._pending:
                self._writer.commit()
                self._pending = False
        self._index.reload()

    def refresh(self) -> None:
        self._index.reload()

    def close(self) -> None:
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                if self._pending:
                    writer.commit()
                    self._pending = False
                writer.wait_merging_threads()
        self._facet_pool.shutdown(wait=True)

    # --- reading --------------------------------------------------------------

    def count(self) -> int:
        return self._index.searcher().num_docs

    def search(self, query: SearchQuery) -> SearchResult:
        analysed = analyse_query(query.text)
        searcher = self._index.searcher()
        result = self._run(searcher, self._query(analysed, query.filters), query, analysed)
        if not result.total and analysed.relaxed_match < len(analysed.groups):
            result = self._run(searcher, self._query(analysed, query.filters, relaxed=True), query, analysed)
        return result

    def _run(
        self, searcher: tantivy.Searcher, tq: Query, query: SearchQuery, analysed: AnalysedQuery
    ) -> SearchResult:
        # The pool thread calls straight into Rust (which releases the GIL): handing it Python work
        # too would make this thread wait for the GIL back on every search.
        pending = self._facet_pool.submit(searcher.aggregate, tq, _facet_request(query.facets)) \
            if query.facets else None
        if query.sort == "newest":
            order = {"order_by_field": "datestamp"}
        elif query.sort == "quality" or analysed.is_empty:
            order = {"order_by_field": "quality"}  # no text: relevance means nothing, show the best described
        else:
            order = {"weight_by_field": "rank_weight"}
        found = searcher.search(
            tq, limit=query.page_size, offset=query.offset, count=True, order=tantivy.Order.Desc, **order
        )
        relevance = "weight_by_field" in order
        pinyin_terms = analysed.pinyin_terms  # a property: computed once per search, not once per hit
        hits = [
            self._hit(searcher, score if relevance else None, address, analysed.highlight_terms, pinyin_terms)
            for score, address in found.hits
        ]
        return SearchResult(total=found.count or 0, hits=hits, facets=_facets(pending, query.facets, found.count))

    def _hit(
        self,
        searcher: tantivy.Searcher,
        score: float | None,
        address: Any,
        highlight_terms: tuple[str, ...],
        pinyin_terms: tuple[str, ...],
    ) -> Hit:
        source = _decode(searcher.doc(address).get_first("_source"))
        title = source.get("title", "")
        terms = (*highlight_terms, *pinyin_matches(title, pinyin_terms)) if pinyin_terms else highlight_terms
        snippet_text = source.get("description") or title
        return Hit(
            id=source["id"],
            score=float(score) if score is not None else None,
            title=title,
            snippet=highlight(snippet_text, terms),
            title_html=highlight(title, terms, max_chars=200),
            fields=source,
        )

    # --- query building ---------------------------------------------------------

    def _query(
        self, analysed: AnalysedQuery, filters: Mapping[str, tuple[FacetValue, ...]], relaxed: bool = False
    ) -> Query:
        must: list[Query] = []
        groups = [self._group(g) for g in analysed.groups]
        if relaxed:
            should = [(Occur.Should, g) for g in groups]
            must.append(Query.boolean_query(should, minimum_number_should_match=analysed.relaxed_match))
        else:
            must += groups
        for phrase, chars in zip(analysed.phrases, analysed.phrase_chars, strict=True):
            as_words = self._text_query(phrase, slop=PHRASE_SLOP)
            must.append(Query.disjunction_max_query([as_words, self._chars_query(chars)], tie_breaker=0.3))
        for name, values in filters.items():
            # Term queries, not term_set_query: a term set is materialised as a
            # bitset of every matching document on each search, while term
            # postings are skipped through by the intersection (10x at 1M docs).
            terms = [Query.term_query(self.schema, name, v, index_option="basic") for v in values]
            term = terms[0] if len(terms) == 1 else Query.boolean_query([(Occur.Should, t) for t in terms])
            must.append(Query.const_score_query(term, 0.0))
        if not must:
            return Query.all_query()
        if len(must) == 1:
            return must[0]
        return Query.boolean_query([(Occur.Must, q) for q in must])

    def _text_query(self, tokens: tuple[str, ...], slop: int = 0) -> Query:
        """The tokens in any text field, boosted per field (a phrase if several)."""
        per_field = []
        for field, boost in TEXT_BOOSTS.items():
            if len(tokens) == 1:
                q = Query.term_query(self.schema, field, tokens[0])
            else:
                q = Query.phrase_query(self.schema, field, list(tokens), slop=slop)
            per_field.append(Query.boost_query(q, boost))
        return Query.disjunction_max_query(per_field, tie_breaker=0.3)

    def _group(self, group: TermGroup) -> Query:
        options = [self._text_query(alternative) for alternative in group.alternatives]
        for term in group.pinyin:
            options.append(
                Query.boost_query(
                    Query.term_query(self.schema, "title_pinyin", term), PINYIN_BOOSTS["title_pinyin"]
                )
            )
        for term in group.initials:
            options.append(
                Query.boost_query(
                    Query.term_query(self.schema, "title_initials", term), PINYIN_BOOSTS["title_initials"]
                )
            )
        options += [self._chars_query(chars) for chars in group.chars]
        return options[0] if len(options) == 1 else Query.disjunction_max_query(options, tie_breaker=0.3)

    def _chars_query(self, chars: str) -> Query:
        """These characters in a row in the `chars` field."""
        if len(chars) == 1:
            q = Query.term_query(self.schema, "chars", chars)
        else:
            q = Query.phrase_query(self.schema, "chars", list(chars))
        return Query.boost_query(q, CHARS_BOOST)


def _facets(
    pending: Future | None, facets: tuple[str, ...], total: int | None
) -> dict[str, list[tuple[FacetValue, int]]]:
    """The counts the pool computes; for an empty result no facet has a value, so nothing is awaited and the
    count is called off if it has not started yet (on a busy server it is still queued: half the
    benchmark's queries find nothing, and a retry with fewer words follows)."""
    if pending is None:
        return {}
    if not total:
        pending.cancel()
        return {name: [] for name in facets}
    return _facet_counts(pending.result(), facets)


@lru_cache(maxsize=64)
def _facet_request(facets: tuple[str, ...]) -> dict[str, Any]:
    """The terms aggregations counting these facets (built once per facet list, not per search)."""
    return {
        name: {"terms": {"field": name, "size": FACET_BUCKETS, "segment_size": SEGMENT_BUCKETS}} for name in facets
    }


def _facet_counts(response: Mapping[str, Any], facets: Iterable[str]) -> dict[str, list[tuple[FacetValue, int]]]:
    out: dict[str, list[tuple[FacetValue, int]]] = {}
    for name in facets:
        buckets = response.get(name, {}).get("buckets", [])
        values = [(_facet_key(name, b["key"]), int(b["doc_count"])) for b in buckets]
        out[name] = sorted(values, key=lambda vc: (-vc[1], str(vc[0])))
    return out


def _facet_key(name: str, key: Any) -> FacetValue:
    if name == "has_video":
        return bool(key)
    if name == "grade":
        return int(key)
    return str(key)
