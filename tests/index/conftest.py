"""Backend fixtures: the behaviour suite in test_backend.py runs once per
entry of BACKEND_FACTORIES. The Elasticsearch backend joins by adding its
factory (skipping when no server is reachable); the tests stay the same."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from index.backend import SearchBackend
from index.documents import work_document
from schemas.record import Agent, Curriculum, Record
from schemas.vocab import edition_term, vocabulary
from tests.index.synthetic import synthetic_works


def _tantivy(path: Path) -> SearchBackend:
    from index.tantivy_backend import TantivyBackend

    return TantivyBackend(path, heap_size=50_000_000, writer_threads=1)


def _elasticsearch(path: Path) -> SearchBackend:
    """The Elasticsearch backend on osmem-server (or HUIJU_ES_URL); the index alias is
    derived from `path`, so opening the same path again opens the same index."""
    from index.elasticsearch_backend import ElasticsearchBackend
    from tests.index import es_server

    url = es_server.cluster_url()  # skips the test when no cluster can run
    path.mkdir(parents=True, exist_ok=True)  # tests find "their" index by its folder
    return ElasticsearchBackend(url, prefix=es_server.index_prefix(path), replicas=0)


BACKEND_FACTORIES: dict[str, Callable[[Path], SearchBackend]] = {
    "tantivy": _tantivy,
    "elasticsearch": _elasticsearch,
}


OSMEM_SCORING_GAPS: dict[str, str] = {
    "test_completeness_orders_equal_matches": (
        "osmem-server scores with Bleve's BM25 variant (sqrt of term frequency, its own length "
        "normalisation), not Lucene's: h-rich's longer text costs it more than completeness gives "
        "back. Holds on Tantivy and on Elasticsearch (Lucene BM25): run with HUIJU_ES_URL."
    ),
}
"""Shared-suite tests that depend on Lucene's exact BM25, which osmem-server does not implement."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("HUIJU_ES_URL"):
        return
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = getattr(item, "originalname", "")
        if callspec and callspec.params.get("backend") == "elasticsearch" and name in OSMEM_SCORING_GAPS:
            item.add_marker(pytest.mark.xfail(reason=OSMEM_SCORING_GAPS[name], strict=True))


@pytest.fixture(scope="session", autouse=True)
def _es_cluster_teardown() -> Iterator[None]:
    """Stop the session's osmem-server (or drop test indices from HUIJU_ES_URL) at the end."""
    yield
    from tests.index import es_server

    es_server.shutdown()


def make_record(title: str, n: int, **kw: Any) -> Record:
    """A junior-secondary maths record unless told otherwise."""
    grade = kw.pop("grade", 8)
    curriculum = Curriculum(
        stage=vocabulary("stages").term(kw.pop("stage", "junior")),
        grade=grade,
        grade_label={7: "七年级", 8: "八年级", 9: "九年级"}.get(grade),
        subject=vocabulary("subjects").term(kw.pop("subject", "math")),
        edition=edition_term(kw.pop("edition", "pep")),
        chapter_path=kw.pop("chapter_path", []),
    )
    return Record(
        source=kw.pop("source", "handmade"),
        source_record_id=str(n),
        title=title,
        curriculum=curriculum,
        resource_type=vocabulary("resource_types").term(kw.pop("resource_type", "courseware")),
        datestamp=kw.pop("datestamp", datetime(2024, 1, 1, tzinfo=UTC)),
        **kw,
    )


def handmade_documents() -> list[dict[str, Any]]:
    """Works with known relevance: the same rare term in title, chapter, description."""
    rich = dict(
        description="以赵爽弦图为线索，引导学生用面积法证明，并解决生活中的实际问题。",
        thumbnails=["https://example.org/t.jpg"],
        licence="CC-BY-4.0",
        agents=[Agent(name="王芳", role="teacher")],
        keywords=["弦图"],
    )
    records = [
        ("h-title", make_record("费马小定理（第一课时）", 1)),
        ("h-chapter", make_record("探索数论中的同余关系", 2, chapter_path=["第三章 数论初步", "费马小定理"])),
        (
            "h-text",
            make_record(
                "同余与整除",
                3,
                description="本课从整除出发，最后简单介绍费马小定理的内容和应用价值，供学有余力的学生拓展阅读。",
            ),
        ),
        ("h-rich", make_record("赵爽弦图与面积", 4, **rich)),
        ("h-poor", make_record("赵爽弦图与面积", 5, description=rich["description"])),
        (
            "h-escape",
            make_record(
                "<script>alert(1)</script> 圆的面积 & 周长", 6, description="圆的面积 <b>不是</b> 周长"
            ),
        ),
        ("h-nodate", make_record("没有日期的课件", 7, datestamp=None)),
        ("h-gougu", make_record("勾股定理（第一课时）", 8, chapter_path=["第十七章 勾股定理"])),
    ]
    return [
        work_document(work_id, record, [record], {"review_status": "approved"}) for work_id, record in records
    ]


@pytest.fixture(scope="session")
def corpus_docs() -> list[dict[str, Any]]:
    synthetic = [work_document(w, c, m, e) for w, c, m, e in synthetic_works(300, seed=11)]
    return synthetic + handmade_documents()


@pytest.fixture(scope="module", params=list(BACKEND_FACTORIES))
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, corpus_docs
) -> Iterator[SearchBackend]:
    """A backend loaded with corpus_docs as `huiju reindex` loads it (read-only: tests must not write)."""
    instance = BACKEND_FACTORIES[request.param](tmp_path_factory.mktemp(f"index-{request.param}"))
    instance.rebuild(corpus_docs)
    yield instance
    instance.close()


@pytest.fixture(params=list(BACKEND_FACTORIES))
def empty_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    instance = BACKEND_FACTORIES[request.param](tmp_path / f"index-{request.param}")
    yield instance
    instance.close()


@pytest.fixture
def backend_factory(
    request: pytest.FixtureRequest, empty_backend: SearchBackend
) -> Callable[[Path], SearchBackend]:
    """The factory of the backend under test, to open a second instance (a reader process)."""
    return BACKEND_FACTORIES[request.node.callspec.params["empty_backend"]]
