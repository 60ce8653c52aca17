"""The clustered search backend: Elasticsearch (or OpenSearch) through the official client.

Same documents, same analysed queries and same ranking as the Tantivy
backend (index.es_query mirrors its query tree), so a deployment can switch
engines without changing results.

Indices are versioned (`<prefix>-<UTC timestamp>`) behind the alias
`<prefix>`; readers and ordinary writes go through the alias. `rebuild()`
and `clear()` + `commit()` build a new index aside and swap the alias
atomically, so searches never see an empty or half-built index.

Writes are queued here (up to `max_pending` actions) and sent with
`helpers.streaming_bulk` — bounded chunks, one request in flight
(backpressure), 429 rejections retried with backoff. Indices refresh only on
`commit()` (refresh_interval -1), so writes stay invisible until then, as the
SearchBackend contract says; the queue keeps that true on servers that
refresh on their own (osmem-server is real-time) for writes below
`max_pending`. Any failure of the cluster surfaces as SearchError: the store
stays the truth, and `huiju reindex` (rebuild) restores the index.
"""

from __future__ import annotations

import re
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import BulkIndexError, streaming_bulk

from index import es_mapping, es_query
from index.backend import Hit, SearchBackend, SearchError, SearchQuery, SearchResult
from index.es_client import make_client, redacted
from index.query import AnalysedQuery, analyse_query, highlight, pinyin_matches

MAX_CHUNK_BYTES = 10 * 1024 * 1024
"""Largest bulk request body: well under Elasticsearch's 100 MB http.max_content_length."""
SCAN_KEEP_ALIVE = "2m"

Json = dict[str, Any]


class ElasticsearchBackend(SearchBackend):
    """SearchBackend over the index behind the alias `prefix` on the cluster at `url`.

    url: one URL, several separated by commas, or a list. client_options go
    to elasticsearch.Elasticsearch (basic_auth, api_key, ca_certs, …).
    """

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        prefix: str = "huiju-works",
        shards: int = 1,
        replicas: int = 1,
        facet_sizes: Mapping[str, int] | None = None,
        chunk_size: int = 500,
        max_pending: int = 5000,
        bulk_retries: int = 5,
        request_timeout: float = 30.0,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if prefix != prefix.lower() or not prefix or prefix.startswith(("_", "-", "+")):
            raise ValueError(f"index prefix must be a lowercase Elasticsearch index name, not {prefix!r}")
        self.url = redacted(url)  # for messages: no credentials
        self.alias = prefix
        self.shards = shards
        self.replicas = replicas
        self.facet_sizes = es_mapping.facet_sizes(facet_sizes)
        self.chunk_size = chunk_size
        self.max_pending = max_pending
        self.bulk_retries = bulk_retries
        self.client: Elasticsearch = make_client(url, request_timeout=request_timeout, options=client_options)
        self._lock = threading.RLock()
        self._pending: list[Json] = []
        self._fresh: str | None = None  # the empty index clear() made; the alias moves to it on commit()
        self._ready = False
        self._closed = False
        self._pit: bool | None = None  # does the cluster have Elasticsearch's point-in-time API?
        self._last_name = ""

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Client and cluster failures → SearchError that says what could not be done."""
        try:
            yield
        except SearchError:
            raise
        except BulkIndexError as exc:
            raise SearchError(f"Elasticsearch at {self.url} rejected documents ({action}): {exc}") from exc
        except (ApiError, TransportError) as exc:
            raise SearchError(f"Elasticsearch at {self.url}: cannot {action}: {exc}") from exc

    # --- indices and the alias ----------------------------------------------------

    def _new_name(self) -> str:
        name = f"{self.alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        if name <= self._last_name:  # same microsecond (or a clock step back)
            name = f"{self._last_name}1"
        self._last_name = name
        return name

    def _create_index(self, replicas: int, alias: bool = False) -> str:
        name = self._new_name()
        self.client.indices.create(
            index=name,
            settings=es_mapping.settings(shards=self.shards, replicas=replicas),
            mappings=es_mapping.mappings(),
            aliases={self.alias: {}} if alias else None,
        )
        return name

    def _aliased(self) -> list[str]:
        """The indices behind the alias (one, except for a moment of a creation race)."""
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).body)
        except NotFoundError:
            return []

    def _ensure_alias(self) -> None:
        """Create the first index and the alias on first use (both in one request)."""
        if self._ready:
            return
        with self._lock, self._errors(f"open the index {self.alias}"):
            if not self._ready and not self._aliased():
                mine = self._create_index(self.replicas, alias=True)
                current = self._aliased()
                if len(current) > 1 and mine != current[0]:  # another process won the race: use its index
                    self._delete(mine)
            self._ready = True

    def _swap(self, new: str) -> None:
        """Point the alias at `new` in one atomic request, then delete the old indices."""
        old = [name for name in self._aliased() if name != new]
        actions: list[Json] = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": new, "alias": self.alias}})
        self.client.indices.update_aliases(actions=actions)
        for name in old:
            self._delete(name)

    def _delete(self, name: str) -> None:
        self.client.options(ignore_status=404).indices.delete(index=name)

    def _drop_orphans(self) -> None:
        """Delete our versioned indices outside the alias: left by a rebuild that died
        with its cluster connection. Only the one writer process rebuilds, so none is in use."""
        pattern = re.compile(rf"{re.escape(self.alias)}-\d+")
        keep = {*self._aliased(), self._fresh}
        for name in self.client.indices.get(index=f"{self.alias}-*", expand_wildcards="open,closed").body:
            if pattern.fullmatch(name) and name not in keep:
                self._delete(name)

    # --- writing ------------------------------------------------------------------

    def _bulk(self, actions: Iterable[Json], index: str) -> int:
        """Stream actions to `index`; returns how many succeeded, SearchError if any failed."""
        done, failed = 0, []
        for ok, item in streaming_bulk(
            self.client,
            actions,
            index=index,
            chunk_size=self.chunk_size,
            max_chunk_bytes=MAX_CHUNK_BYTES,
            raise_on_error=False,
            max_retries=self.bulk_retries,
            initial_backoff=0.5,
            max_backoff=30,
        ):
            op, info = next(iter(item.items()))
            if ok or (op == "delete" and info.get("status") == 404):
                done += 1
            else:
                failed.append(info)
        if failed:
            first = failed[0]
            raise SearchError(
                f"Elasticsearch at {self.url} rejected {len(failed)} of {done + len(failed)} actions; "
                f"first: {first.get('_id')}: {first.get('error')}"
            )
        return done

    def _flush(self) -> None:
        with self._lock:
            actions, self._pending = self._pending, []
            if actions:
                self._ensure_alias()
                with self._errors("write to the index"):
                    self._bulk(actions, self._fresh or self.alias)

    def index_documents(self, documents: Iterable[Mapping[str, Any]], batch: int = 1000) -> int:
        count = 0
        iterator = iter(documents)
        while chunk := list(islice(iterator, batch)):
            with self._lock:
                self._pending += [{"_id": doc["id"], "_source": doc} for doc in chunk]
                if len(self._pending) >= self.max_pending:
                    self._flush()
            count += len(chunk)
        return count

    def delete(self, ids: Iterable[str]) -> int:
        actions = [{"_op_type": "delete", "_id": doc_id} for doc_id in ids]
        with self._lock:
            self._pending += actions
            if len(self._pending) >= self.max_pending:
                self._flush()
        return len(actions)

    def clear(self) -> None:
        """Start an empty index aside; the alias moves to it on commit()."""
        with self._lock, self._errors("clear the index"):
            self._pending.clear()
            if self._fresh:
                self._delete(self._fresh)
                self._fresh = None
            self._ensure_alias()
            self._fresh = self._create_index(self.replicas)

    def commit(self) -> None:
        with self._lock:
            self._flush()
            with self._errors("commit"):
                if self._fresh:
                    self.client.indices.refresh(index=self._fresh)
                    self._swap(self._fresh)
                    self._fresh = None
                elif self._ready:
                    self.client.indices.refresh(index=self.alias)

    def rebuild(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Index `documents` into a new index (no replicas while loading), refresh it,
        then swap the alias: searches see the old index until the new one is complete.
        A failure leaves the old index in place and deletes the partial one. Writes
        still pending are dropped: `documents` is the whole truth (the store)."""
        with self._lock:
            self._pending.clear()
            with self._errors("rebuild the index"):
                if self._fresh:
                    self._delete(self._fresh)
                    self._fresh = None
                self._ensure_alias()
                self._drop_orphans()
                name = self._create_index(replicas=0)
                try:
                    count = self._bulk(({"_id": doc["id"], "_source": doc} for doc in documents), name)
                    self.client.indices.refresh(index=name)
                    if self.replicas:
                        self.client.indices.put_settings(
                            index=name, settings={"index": {"number_of_replicas": self.replicas}}
                        )
                    self._swap(name)
                except BaseException:
                    try:
                        self._delete(name)
                    except (ApiError, TransportError):
                        pass  # the cluster is gone: the next rebuild drops the orphan
                    raise
        return count

    def refresh(self) -> None:
        """Nothing to do: a commit (refresh) on the cluster is visible to every client."""

    def close(self) -> None:
        """Commit pending writes, then release the client's connections."""
        if self._closed:
            return
        self._closed = True
        try:
            self.commit()
        finally:
            self.client.close()

    # --- reading ------------------------------------------------------------------

    def count(self) -> int:
        self._ensure_alias()
        with self._errors("count documents"):
            return int(self.client.count(index=self.alias)["count"])

    def _search(self, body: Json, index: str | None = None) -> Json:
        """One search; retried once when an alias swap deleted the index under it."""
        shards: Any = None
        with self._errors("search"):
            for attempt in range(2):
                try:
                    response = self.client.search(index=index, body=body).body
                except NotFoundError:
                    if attempt or index is None:
                        raise
                    continue
                shards = response.get("_shards", {})
                if not shards.get("failed"):
                    return response
        raise SearchError(f"Elasticsearch at {self.url}: search failed on some shards: {shards}")

    def search(self, query: SearchQuery) -> SearchResult:
        analysed = analyse_query(query.text)  # QuerySyntaxError before any request
        self._ensure_alias()
        body = es_query.search_body(analysed, query, facet_sizes=self.facet_sizes)
        response = self._search(body, self.alias)
        if not _total(response) and analysed.relaxed_match < len(analysed.groups):
            body = es_query.search_body(analysed, query, relaxed=True, facet_sizes=self.facet_sizes)
            response = self._search(body, self.alias)
        relevance = es_query.is_relevance(query, analysed)
        return SearchResult(
            total=_total(response),
            hits=[_hit(raw, analysed, relevance) for raw in response["hits"]["hits"]],
            facets=es_query.parse_facets(response.get("aggregations", {}), query.facets),
        )

    def scan(self, query: SearchQuery, chunk: int = 1000) -> Iterator[Hit]:
        """Every hit of `query` in its order, beyond MAX_RESULT_WINDOW: search_after on
        (sort key, id), inside a point in time where the cluster has one (Elasticsearch;
        osmem and OpenSearch do not offer its _pit API, and (key, id) alone is a total order)."""
        analysed = analyse_query(query.text)
        self._ensure_alias()
        relevance = es_query.is_relevance(query, analysed)
        relaxed = False
        if analysed.relaxed_match < len(analysed.groups):
            probe = es_query.search_body(analysed, query, size=0, offset=0)
            relaxed = _total(self._search(probe, self.alias)) == 0
        pit = self._open_pit()
        try:
            after: list[Any] | None = None
            while True:
                body = es_query.search_body(analysed, query, relaxed=relaxed, size=chunk, offset=0)
                body["track_total_hits"] = False
                if after is not None:
                    body["search_after"] = after
                if pit:
                    body["pit"] = {"id": pit, "keep_alive": SCAN_KEEP_ALIVE}
                response = self._search(body, None if pit else self.alias)
                pit = response.get("pit_id", pit)
                hits = response["hits"]["hits"]
                for raw in hits:
                    yield _hit(raw, analysed, relevance)
                if len(hits) < chunk:
                    return
                after = list(hits[-1]["sort"])
                if relevance:  # the score's exact float32 value, which osmem compares exactly
                    after[0] = _float32(after[0])
        finally:
            if pit:
                with self._errors("close a point in time"):
                    self.client.options(ignore_status=404).close_point_in_time(id=pit)

    def _open_pit(self) -> str | None:
        if self._pit is False:
            return None
        try:
            pit = self.client.open_point_in_time(index=self.alias, keep_alive=SCAN_KEEP_ALIVE)["id"]
        except ApiError as exc:
            if exc.meta.status not in (400, 404, 405):
                raise SearchError(f"Elasticsearch at {self.url}: cannot open a point in time: {exc}") from exc
            self._pit = False
            return None
        except TransportError as exc:
            raise SearchError(f"Elasticsearch at {self.url}: cannot open a point in time: {exc}") from exc
        self._pit = True
        return str(pit)


def _float32(value: float) -> float:
    """A float32 score sent back for search_after: the JSON shortest form of the float32
    can parse to a float64 a hair off it, which skips or repeats the tied hits."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _total(response: Mapping[str, Any]) -> int:
    total = response["hits"].get("total") or {"value": 0}
    return int(total["value"] if isinstance(total, Mapping) else total)


def _hit(raw: Mapping[str, Any], analysed: AnalysedQuery, relevance: bool) -> Hit:
    """A result hit with the same snippets as Tantivy's: index.query.highlight over the stored text."""
    source = dict(raw["_source"])
    title = source.get("title", "")
    terms = (*analysed.highlight_terms, *pinyin_matches(title, analysed.pinyin_terms))
    score = raw.get("_score")
    return Hit(
        id=source["id"],
        score=float(score) if relevance and score is not None else None,
        title=title,
        snippet=highlight(source.get("description") or title, terms),
        title_html=highlight(title, terms, max_chars=200),
        fields=source,
    )
