"""Elasticsearch-specific behaviour: media types, mapping, aliases and rebuilds,
deep paging, refresh control and failures. The engine-neutral behaviour is
test_backend.py, which runs against this backend too (conftest.BACKEND_FACTORIES).

Runs against osmem-server, or the cluster at HUIJU_ES_URL.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch

from index import es_mapping
from index.backend import FACETS, MAX_PAGE_SIZE, QuerySyntaxError, SearchError, SearchQuery
from index.elasticsearch_backend import ElasticsearchBackend
from index.es_client import make_client
from schemas.vocab import vocabulary
from tests.index import es_server
from tests.index.conftest import handmade_documents

_names = itertools.count()


@pytest.fixture(scope="module")
def url() -> str:
    return es_server.cluster_url()


@pytest.fixture
def make(url: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., ElasticsearchBackend]]:
    """Backends on fresh aliases (huiju-test-…), closed after the test."""
    opened: list[ElasticsearchBackend] = []

    def factory(**options: Any) -> ElasticsearchBackend:
        prefix = f"{es_server.TEST_PREFIX}{request.node.name.lower()[:40]}-{next(_names)}"
        prefix = "".join(c if c.isalnum() or c == "-" else "-" for c in prefix)
        backend = ElasticsearchBackend(url, prefix=prefix, replicas=0, **options)
        opened.append(backend)
        return backend

    yield factory
    for backend in opened:
        backend.close()


def all_ids(backend: ElasticsearchBackend, **kw: Any) -> list[str]:
    out, page = [], 1
    while True:
        result = backend.search(SearchQuery(page=page, page_size=MAX_PAGE_SIZE, **kw))
        out += [h.id for h in result.hits]
        if len(out) >= result.total or not result.hits:
            return out
        page += 1


# --- the client and the index definition ------------------------------------------


@pytest.mark.skipif(not es_server.is_osmem(), reason="osmem-only: real Elasticsearch accepts the compat type")
def test_plain_json_media_type_is_what_osmem_accepts(url: str) -> None:
    """Why es_client.PlainJsonNode exists: the stock client's compat media type gets a 406."""
    stock = Elasticsearch(url, headers={"Accept": "application/json", "Content-Type": "application/json"})
    with pytest.raises(ApiError) as info:
        stock.indices.create(index="huiju-test-compat", settings={"number_of_shards": 1})
    assert info.value.meta.status == 406
    stock.close()
    plain = make_client(url)
    try:
        assert plain.indices.create(index="huiju-test-compat", settings={"number_of_shards": 1})["acknowledged"]
    finally:
        plain.indices.delete(index="huiju-test-compat")
        plain.close()


def test_mapping_covers_every_document_field(corpus_docs: list[dict]) -> None:
    properties = es_mapping.mappings()["properties"]
    fields = {name for doc in corpus_docs for name in doc}
    assert fields <= properties.keys(), "map new document fields in index/es_mapping.py"
    for name in ("title_tokens", "chapter_tokens", "text_tokens", "chars", "title_pinyin"):
        assert properties[name]["analyzer"] == es_mapping.ANALYZER
    assert {properties[f]["type"] for f in es_mapping.KEYWORD_FACETS} == {"keyword"}
    assert properties["grade"]["type"] == "integer" and properties["has_video"]["type"] == "boolean"


def test_facet_sizes_hold_every_vocabulary_value() -> None:
    for facet, vocab in [
        ("stage", "stages"),
        ("subject", "subjects"),
        ("edition", "editions"),
        ("volume", "volumes"),
        ("resource_type", "resource_types"),
        ("honours", "honours"),
    ]:
        assert es_mapping.FACET_SIZES[facet] >= len(vocabulary(vocab).entries), facet
    assert set(es_mapping.FACET_SIZES) == set(FACETS)
    with pytest.raises(ValueError):
        es_mapping.facet_sizes({"colour": 3})


def test_index_is_versioned_behind_the_alias(make: Callable[..., ElasticsearchBackend]) -> None:
    backend = make()
    backend.index_documents(handmade_documents())
    backend.commit()
    (name,) = backend.client.indices.get_alias(name=backend.alias).body
    assert name.startswith(backend.alias + "-") and name[len(backend.alias) + 1 :].isdigit()
    settings = backend.client.indices.get_settings(index=name)[name]["settings"]["index"]
    assert settings["refresh_interval"] == "-1"  # visible on commit(), never on a timer
    assert int(settings["max_result_window"]) == 10_000
    mapping = backend.client.indices.get_mapping(index=name)[name]["mappings"]
    assert mapping["properties"]["title_tokens"]["analyzer"] == es_mapping.ANALYZER


# --- rebuild and clear: the alias swap --------------------------------------------------


def test_rebuild_swaps_in_a_new_index_and_drops_the_old(make: Callable[..., ElasticsearchBackend]) -> None:
    backend = make()
    docs = handmade_documents()
    assert backend.rebuild(docs[:3]) == 3
    (first,) = backend.client.indices.get_alias(name=backend.alias).body
    assert backend.rebuild(docs) == len(docs)
    (second,) = backend.client.indices.get_alias(name=backend.alias).body
    assert second != first and not backend.client.indices.exists(index=first)
    assert backend.count() == len(docs)
    assert backend.search(SearchQuery(text="费马小定理")).total == 3


def test_searches_during_a_rebuild_keep_returning_full_results(
    make: Callable[..., ElasticsearchBackend], corpus_docs: list[dict]
) -> None:
    backend = make(chunk_size=25)
    backend.rebuild(corpus_docs)
    maths = backend.search(SearchQuery(text="数学")).total
    totals: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    rebuilding = threading.Event()
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                everything = backend.search(SearchQuery(facets=["subject"])).total
                totals.append((everything, backend.search(SearchQuery(text="数学")).total))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    def slow_documents() -> Iterator[dict]:
        rebuilding.set()
        for doc in corpus_docs:
            time.sleep(0.002)  # ~0.6 s of rebuilding, searched throughout
            yield doc

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        assert backend.rebuild(slow_documents()) == len(corpus_docs)
        time.sleep(0.1)  # and a few searches after the swap
    finally:
        done.set()
        for thread in readers:
            thread.join()
    assert not errors
    assert rebuilding.is_set() and len(totals) >= 10
    assert set(totals) == {(len(corpus_docs), maths)}


def test_a_failed_rebuild_leaves_the_index_as_it_was(make: Callable[..., ElasticsearchBackend]) -> None:
    backend = make()
    docs = handmade_documents()
    backend.rebuild(docs)
    (before,) = backend.client.indices.get_alias(name=backend.alias).body

    def broken() -> Iterator[dict]:
        yield docs[0]
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        backend.rebuild(broken())
    assert list(backend.client.indices.get_alias(name=backend.alias).body) == [before]
    assert sorted(backend.client.indices.get(index=backend.alias + "-*").body) == [before]
    assert backend.count() == len(docs)
    orphan = f"{backend.alias}-20200101000000000000"  # as a rebuild cut off from its cluster leaves it
    backend.client.indices.create(index=orphan)
    backend.rebuild(docs)
    assert not backend.client.indices.exists(index=orphan)


def test_clear_swaps_on_commit(make: Callable[..., ElasticsearchBackend]) -> None:
    backend = make()
    docs = handmade_documents()
    backend.rebuild(docs)
    backend.clear()
    backend.index_documents(docs[:2])
    assert backend.count() == len(docs)  # searches see the old index until commit
    backend.commit()
    assert sorted(all_ids(backend)) == sorted(d["id"] for d in docs[:2])


def test_writes_stay_invisible_until_commit_beyond_the_queue(make: Callable[..., ElasticsearchBackend]) -> None:
    """Past max_pending the writes are on the cluster, unrefreshed: invisible on Elasticsearch."""
    backend = make(max_pending=3, chunk_size=2)
    docs = handmade_documents()
    backend.index_documents(docs)
    if es_server.is_osmem():
        pytest.skip("osmem-server has no refresh: it shows writes at once (only the queue holds them back)")
    assert backend.count() == 0
    backend.commit()
    assert backend.count() == len(docs)


def test_rejected_documents_raise_search_error(make: Callable[..., ElasticsearchBackend]) -> None:
    backend = make()
    bad = dict(handmade_documents()[0], grade="eighth")  # not an integer
    backend.index_documents([bad, *handmade_documents()[1:]])
    with pytest.raises(SearchError, match="rejected 1 of"):
        backend.commit()


# --- searching ------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["relevance", "newest", "quality"])
def test_scan_pages_with_search_after_in_search_order(
    make: Callable[..., ElasticsearchBackend], corpus_docs: list[dict], sort: str
) -> None:
    backend = make()
    backend.rebuild(corpus_docs)
    for text in ("数学", ""):
        paged = all_ids(backend, text=text, sort=sort)
        scanned = [h.id for h in backend.scan(SearchQuery(text=text, sort=sort), chunk=7)]
        assert scanned == paged and len(set(scanned)) == len(scanned)


def test_scan_goes_past_the_result_window(make: Callable[..., ElasticsearchBackend]) -> None:
    backend = make(chunk_size=2500)
    n = 10_050
    backend.rebuild(
        {"id": f"s{i:05d}", "title": "x", "quality": (i % 7) / 7, "datestamp": f"2024-01-{1 + i % 28:02d}T00:00:00Z"}
        for i in range(n)
    )
    with pytest.raises(ValueError):
        SearchQuery(page=101, page_size=100)  # from/size stops at MAX_RESULT_WINDOW
    scanned = [(h.fields["datestamp"], h.id) for h in backend.scan(SearchQuery(sort="newest"), chunk=2500)]
    assert len(scanned) == n and len({i for _, i in scanned}) == n
    assert scanned == sorted(scanned, key=lambda si: (-int(si[0][8:10]), si[1]))


def test_query_syntax_errors_come_before_any_request() -> None:
    backend = ElasticsearchBackend("http://127.0.0.1:9", prefix="huiju-test-offline")  # nothing listens
    try:
        with pytest.raises(QuerySyntaxError):
            backend.search(SearchQuery(text='数学 "课件'))
        with pytest.raises(QuerySyntaxError):
            list(backend.scan(SearchQuery(text="title:勾股定理")))
        with pytest.raises(SearchError, match="cannot open the index"):
            backend.search(SearchQuery(text="数学"))
    finally:
        backend.client.close()


# --- failures ---------------------------------------------------------------------------


def test_server_killed_while_indexing_raises_search_error_and_rebuild_restores(corpus_docs: list[dict]) -> None:
    """Kill osmem-server mid-stream: the writer gets SearchError (not a client exception);
    the store is the truth, so a rebuild into a new server brings the index back."""
    try:
        server = es_server.start_osmem()
    except es_server.ServerUnavailable as exc:
        pytest.skip(str(exc))
    backend = ElasticsearchBackend(server.url, prefix="huiju-test-killed", replicas=0, max_pending=50, chunk_size=50)
    replacement = None
    try:
        backend.rebuild(corpus_docs[:100])

        def documents() -> Iterator[dict]:
            for i, doc in enumerate(corpus_docs):
                if i == 120:
                    server.kill()
                yield doc

        started = time.perf_counter()
        with pytest.raises(SearchError, match="Elasticsearch at http://127.0.0.1"):
            backend.index_documents(documents())
        assert time.perf_counter() - started < 10
        with pytest.raises(SearchError):
            backend.search(SearchQuery(text="数学"))
        with pytest.raises(SearchError):
            backend.count()
        replacement = es_server.start_osmem()
        restored = ElasticsearchBackend(replacement.url, prefix="huiju-test-killed", replicas=0)
        try:
            assert restored.rebuild(corpus_docs) == len(corpus_docs)
            assert restored.count() == len(corpus_docs)
        finally:
            restored.close()
    finally:
        try:
            backend.close()
        except SearchError:
            pass  # its server is dead: the pending writes are lost, the store still has them
        server.stop()
        if replacement is not None:
            replacement.stop()
