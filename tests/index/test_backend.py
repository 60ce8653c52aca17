"""Behaviour of any SearchBackend, checked against brute force over the documents.

Engine-neutral on purpose: every test goes through the SearchBackend
interface only, and runs once per backend in conftest.BACKEND_FACTORIES.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from index.backend import FACETS, MAX_PAGE_SIZE, QuerySyntaxError, SearchBackend, SearchQuery
from index.documents import work_document
from tests.index.conftest import handmade_documents, make_record


def values_of(doc: dict[str, Any], facet: str) -> list[Any]:
    value = doc.get(facet)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def brute_counts(docs: list[dict[str, Any]], facet: str) -> dict[Any, int]:
    return dict(Counter(v for doc in docs for v in values_of(doc, facet)))


def matches(doc: dict[str, Any], filters: dict[str, list[Any]]) -> bool:
    return all(set(values_of(doc, facet)) & set(values) for facet, values in filters.items())


def all_hits(backend: SearchBackend, text: str = "", **kw: Any) -> list:
    """Every hit of a query, page by page."""
    hits, page = [], 1
    while True:
        result = backend.search(SearchQuery(text=text, page=page, page_size=MAX_PAGE_SIZE, **kw))
        hits += result.hits
        if len(hits) >= result.total or not result.hits:
            return hits
        page += 1


def ids(backend: SearchBackend, text: str = "", **kw: Any) -> list[str]:
    return [hit.id for hit in all_hits(backend, text, **kw)]


# --- reading ---------------------------------------------------------------------


def test_count_and_browse(backend: SearchBackend, corpus_docs: list[dict]) -> None:
    assert backend.count() == len(corpus_docs)
    assert backend.search(SearchQuery()).total == len(corpus_docs)


def test_title_beats_chapter_beats_description(backend: SearchBackend) -> None:
    found = ids(backend, "费马小定理")
    assert {"h-title", "h-chapter", "h-text"} <= set(found)
    assert found.index("h-title") < found.index("h-chapter") < found.index("h-text")


def test_all_words_must_match(backend: SearchBackend) -> None:
    found = set(ids(backend, "费马小定理 同余"))
    assert {"h-chapter", "h-text"} <= found
    assert "h-title" not in found


def test_long_query_with_a_stray_word_still_matches(backend: SearchBackend) -> None:
    assert "h-text" in ids(backend, "费马小定理 同余 整除 拓展 xyzzy")


def test_completeness_orders_equal_matches(backend: SearchBackend) -> None:
    found = ids(backend, "赵爽弦图")
    assert found.index("h-rich") < found.index("h-poor")


@pytest.mark.parametrize(
    ("text", "title"),
    [(t, "勾股定理") for t in ("勾股定理", "勾股", "gougu", "gougudingli", "ggdl", "gou gu")]
    + [("勾股定理（第一课时）", "勾股定理（第一课时）"), ("gougudinglidiyi", "勾股定理（第一课时）")],
)
def test_gougu_found_by_word_subword_and_pinyin(
    backend: SearchBackend, corpus_docs: list[dict], text: str, title: str
) -> None:
    expected = {d["id"] for d in corpus_docs if d["title"].startswith(title)}
    assert expected
    found = set(ids(backend, text))
    assert expected <= found


def test_traditional_query_finds_simplified_text(backend: SearchBackend) -> None:
    assert "h-title" in ids(backend, "費馬小定理")
    assert set(ids(backend, "數學")) == set(ids(backend, "数学"))


@pytest.mark.parametrize(
    ("query", "facet", "value"),
    [
        ("math", "subject", "math"),
        ("部编版", "edition", "tongbian"),
        ("初一", "grade", 7),
        ("生物", "subject", "biology"),
    ],
)
def test_synonyms_reach_the_canonical_label(
    backend: SearchBackend, corpus_docs: list[dict], query: str, facet: str, value: Any
) -> None:
    expected = {d["id"] for d in corpus_docs if value in values_of(d, facet)}
    assert expected
    assert expected <= set(ids(backend, query))


def test_quoted_phrase(backend: SearchBackend, corpus_docs: list[dict]) -> None:
    found = set(ids(backend, '"圆的面积"'))
    assert "h-escape" in found
    assert {d["id"] for d in corpus_docs if "圆的面积" in d["title"]} <= found
    assert not set(ids(backend, '"面积的圆"')) & found
    assert "h-text" in ids(backend, '"介绍费马小定理"')  # the segmenter cut this text 介绍费|马|小|定理


@pytest.mark.parametrize("facet", FACETS)
def test_each_filter_matches_brute_force(backend: SearchBackend, corpus_docs: list[dict], facet: str) -> None:
    counts = Counter(v for d in corpus_docs for v in values_of(d, facet))
    assert counts, f"the corpus has no {facet} values"
    (value, count), *rest = counts.most_common()
    hits = all_hits(backend, filters={facet: [value]})
    assert len(hits) == count
    assert all(value in values_of(h.fields, facet) for h in hits)
    if rest:  # several values of one facet are ORed
        other = rest[0][0]
        assert backend.search(SearchQuery(filters={facet: [value, other]})).total == count + sum(
            1 for d in corpus_docs if other in values_of(d, facet) and value not in values_of(d, facet)
        )


def test_filters_on_different_facets_are_anded(backend: SearchBackend, corpus_docs: list[dict]) -> None:
    filters = {"stage": ["junior"], "resource_type": ["courseware", "micro-lecture"], "has_video": [True]}
    expected = {d["id"] for d in corpus_docs if matches(d, filters)}
    assert expected
    assert set(ids(backend, filters=filters)) == expected


def test_facet_counts_match_brute_force(backend: SearchBackend, corpus_docs: list[dict]) -> None:
    filters = {"stage": ["junior", "senior"]}
    result = backend.search(SearchQuery(filters=filters, facets=FACETS))
    selected = [d for d in corpus_docs if matches(d, filters)]
    assert result.total == len(selected)
    for facet in FACETS:
        assert dict(result.facets[facet]) == brute_counts(selected, facet), facet


@pytest.mark.parametrize("text", ["数学", "勾股定理", "课件 八年级"])
def test_text_facet_counts_match_the_hits(backend: SearchBackend, corpus_docs: list[dict], text: str) -> None:
    result = backend.search(SearchQuery(text=text, facets=FACETS))
    by_id = {d["id"]: d for d in corpus_docs}
    hits = [by_id[i] for i in ids(backend, text)]
    assert result.total == len(hits) > 0
    for facet in FACETS:
        assert dict(result.facets[facet]) == brute_counts(hits, facet), facet
    counts = [count for _, count in result.facets["subject"]]
    assert counts == sorted(counts, reverse=True)


def test_sort_newest(backend: SearchBackend, corpus_docs: list[dict]) -> None:
    hits = all_hits(backend, sort="newest")
    stamps = [h.fields.get("datestamp") for h in hits]
    dated = [s for s in stamps if s]
    assert dated == sorted(dated, reverse=True)
    assert stamps[-1] is None and hits[-1].id == "h-nodate"  # undated works come last
    assert len(hits) == len(corpus_docs)


def test_sort_quality(backend: SearchBackend) -> None:
    qualities = [h.fields["quality"] for h in all_hits(backend, "数学", sort="quality")]
    assert qualities and qualities == sorted(qualities, reverse=True)


@pytest.mark.parametrize("sort", ["relevance", "newest", "quality"])
def test_pagination_without_overlap(backend: SearchBackend, sort: str) -> None:
    whole = [h.id for h in backend.search(SearchQuery(text="数学", sort=sort, page_size=50)).hits]
    paged: list[str] = []
    for page in range(1, 6):
        paged += [
            h.id for h in backend.search(SearchQuery(text="数学", sort=sort, page=page, page_size=10)).hits
        ]
    assert len(paged) == len(set(paged)) == 50
    assert paged == whole


def test_highlighting(backend: SearchBackend) -> None:
    hits = {h.id: h for h in all_hits(backend, "費馬小定理")}
    assert "<mark>费马小定理</mark>" in hits["h-title"].title_html
    assert "<mark>费马小定理</mark>" in hits["h-text"].snippet
    gougu = backend.search(SearchQuery(text="gougu")).hits[0]
    assert "<mark>勾股" in gougu.title_html


def test_highlighting_escapes_html(backend: SearchBackend) -> None:
    hit = next(h for h in all_hits(backend, "圆的面积") if h.id == "h-escape")
    assert "&lt;script&gt;" in hit.title_html and "<script>" not in hit.title_html
    assert "<mark>圆的面积</mark>" in hit.title_html
    assert "&lt;b&gt;" in hit.snippet


def test_hit_fields_are_the_document_without_tokens(backend: SearchBackend) -> None:
    hit = next(h for h in all_hits(backend, "费马小定理") if h.id == "h-title")
    assert hit.fields["subject"] == "math" and hit.fields["grade"] == 8
    assert hit.fields["title"] == hit.title == "费马小定理（第一课时）"
    assert not any(name.endswith(("_tokens", "_pinyin", "_initials")) for name in hit.fields)
    assert isinstance(hit.score, float)


@pytest.mark.parametrize(
    "text",
    [
        '"勾股定理',
        "“勾股定理",
        '数学 "课件',
        "数学 AND 物理",
        "OR",
        "NOT 数学",
        "title:勾股定理",
        "+",
        "()",
        "？！",
    ],
)
def test_bad_syntax_raises_query_syntax_error(backend: SearchBackend, text: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        backend.search(SearchQuery(text=text))
    assert info.value.message


def test_nul_bytes_and_controls_are_ignored(backend: SearchBackend) -> None:
    assert "h-title" in ids(backend, "费马\x00小定理\x07")


@pytest.mark.parametrize("text", ["费马小定理" * 2000, "a" * 10_000, ("数学 gougu 勾股 " * 1000)[:10_000]])
def test_ten_thousand_character_queries(backend: SearchBackend, text: str) -> None:
    start = time.perf_counter()
    result = backend.search(SearchQuery(text=text, facets=FACETS))
    assert result.total >= 0
    assert time.perf_counter() - start < 2.0


def test_invalid_requests_are_value_errors() -> None:
    with pytest.raises(ValueError):
        SearchQuery(page_size=MAX_PAGE_SIZE + 1)
    with pytest.raises(ValueError):
        SearchQuery(facets=["colour"])
    with pytest.raises(ValueError):
        SearchQuery(filters={"grade": ["初一"]})
    with pytest.raises(ValueError):
        SearchQuery(page=1000, page_size=100)
    with pytest.raises(ValueError):
        SearchQuery(sort="random")


# --- writing ---------------------------------------------------------------------


def test_index_replaces_by_id_and_deletes(empty_backend: SearchBackend) -> None:
    docs = handmade_documents()
    empty_backend.index_documents(docs)
    empty_backend.commit()
    assert empty_backend.count() == len(docs)
    record = make_record("勾股定理", 1)
    renamed = work_document(docs[0]["id"], record, [record])
    empty_backend.index_documents([renamed])
    empty_backend.commit()
    assert empty_backend.count() == len(docs)
    assert ids(empty_backend, "勾股定理")[0] == docs[0]["id"]
    assert docs[0]["id"] not in ids(empty_backend, "费马小定理")
    assert empty_backend.delete([docs[1]["id"], "no-such-id"]) == 2
    empty_backend.commit()
    assert empty_backend.count() == len(docs) - 1
    empty_backend.clear()
    empty_backend.commit()
    assert empty_backend.count() == 0


def test_rebuild_replaces_everything_and_a_failed_one_keeps_the_old_index(
    empty_backend: SearchBackend, corpus_docs: list[dict], tmp_path
) -> None:
    old = handmade_documents()
    empty_backend.index_documents(old)
    empty_backend.commit()
    assert empty_backend.rebuild(corpus_docs[:120]) == 120
    empty_backend.refresh()
    assert empty_backend.count() == 120
    assert sorted(ids(empty_backend)) == sorted(doc["id"] for doc in corpus_docs[:120])

    def failing() -> Any:
        yield from corpus_docs[120:200]
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="went away"):
        empty_backend.rebuild(failing())
    empty_backend.refresh()
    assert sorted(ids(empty_backend)) == sorted(doc["id"] for doc in corpus_docs[:120])
    leftovers = [p for p in tmp_path.rglob(".huiju-shelves-*")]
    assert leftovers == []


def test_writes_are_invisible_until_commit(empty_backend: SearchBackend) -> None:
    empty_backend.index_documents(handmade_documents())
    assert empty_backend.count() == 0
    empty_backend.commit()
    assert empty_backend.count() == len(handmade_documents())


def test_second_instance_sees_commits_after_refresh(
    empty_backend: SearchBackend, backend_factory, tmp_path
) -> None:
    empty_backend.index_documents(handmade_documents()[:2])
    empty_backend.commit()
    path = next(p for p in tmp_path.iterdir() if p.name.startswith("index-"))
    reader = backend_factory(path)
    try:
        assert reader.count() == 2
        empty_backend.index_documents(handmade_documents()[2:])
        empty_backend.commit()
        reader.refresh()
        assert reader.count() == len(handmade_documents())
    finally:
        reader.close()


def test_close_commits_pending_writes(empty_backend: SearchBackend, backend_factory, tmp_path) -> None:
    empty_backend.index_documents(handmade_documents())
    empty_backend.close()
    path = next(p for p in tmp_path.iterdir() if p.name.startswith("index-"))
    reopened = backend_factory(path)
    try:
        assert reopened.count() == len(handmade_documents())
    finally:
        reopened.close()


def test_many_reader_threads_while_writing(empty_backend: SearchBackend, corpus_docs: list[dict]) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                empty_backend.search(
                    SearchQuery(text="数学", filters={"stage": ["junior"]}, facets=["subject", "grade"])
                )
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for start in range(0, len(corpus_docs), 50):
        empty_backend.index_documents(corpus_docs[start : start + 50])
        empty_backend.commit()
    stop.set()
    for thread in readers:
        thread.join()
    assert not errors
    assert empty_backend.count() == len(corpus_docs)


@pytest.mark.parametrize(("typed", "longer"), [("微课", "微课视频"), ("生物", "生物学")])
def test_the_typed_word_finds_what_its_pruned_synonym_would(
    empty_backend: SearchBackend, typed: str, longer: str
) -> None:
    """The query keeps 微课 and drops its synonym 微课视频 (index.query.prune_alternatives): a work that only
    spells the longer form must still be found, in the title and in the description."""
    in_title = make_record(f"勾股定理{longer}", 1)
    in_text = make_record("勾股定理", 2, description=f"本节{longer}讲解勾股定理的证明")
    docs = [work_document(f"w{n}", r, [r]) for n, r in ((1, in_title), (2, in_text))]
    empty_backend.index_documents(docs)
    empty_backend.commit()
    assert set(ids(empty_backend, typed)) == {"w1", "w2"}
