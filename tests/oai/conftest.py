"""OAI-PMH provider fixtures: data built through the real pipeline, every response validated.

Records → store_results → dedupe → review approve, on SQLite (and PostgreSQL
where a test asks for ``backend`` with BACKENDS). ``Harvest`` is the one way
tests talk to the provider in-process; it validates every response it gets
against the XSDs (tests/oai/xsd.py) before the test sees it.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree

from repository.app import create_app
from repository.ingest import ensure_source, store_results
from repository.publication import approve_source, refresh, set_review_status
from repository.settings import Settings
from repository.store import Store
from repository.works import dedupe
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Record
from tests.oai.xsd import response_errors
from tests.store.conftest import BACKENDS, open_store, pg_schema  # noqa: F401 - pg_schema is a fixture

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/",
      "t": "https://huiju.invalid/ns/oai-tombstone/1.0"}
LEVELS = {"national": "national", "city": "municipal", "district": "district", "school": "school"}
TYPES = ["微课视频", "课件", "教学设计"]
SUBJECTS = ["数学", "物理", "语文"]

__all__ = ["BACKENDS", "NS", "Harvest", "Pipeline", "lesson"]


def lesson(n: int, source: str = "national", **changes: Any) -> Record:
    """A distinct lesson (its own work) from ``source``; same n + other source = same work."""
    curriculum, _ = build_curriculum({"stage": "初中", "grade": ["七年级", "八年级", "九年级"][n % 3],
                                      "subject": SUBJECTS[n % 3], "edition": "人教版", "volume": "上册",
                                      "class_hour": f"第{n % 4 + 1}课时"})
    fields: dict[str, Any] = dict(
        source=source, source_record_id=f"{source}-{n}", title=f"第{n}课 {SUBJECTS[n % 3]}专题{n}（第{n % 4 + 1}课时）",
        description=f"课程编号 L{n:05d}：{SUBJECTS[n % 3]}学科课例，编号 {n} 专用。", url=f"https://{source}.example.cn/l/{n}",
        curriculum=curriculum, resource_type=normalise_resource_type(TYPES[n % 3]), language="zh",
        source_level=LEVELS[source],
    )
    fields.update(changes)
    return Record(**fields)


@dataclass
class Pipeline:
    """The real pipeline over one store, step by step as the CLI runs it."""

    store: Store
    tmp: Path

    def load(self, records: list[Record]) -> None:
        by_source: dict[str, list[Record]] = {}
        for record in records:
            by_source.setdefault(record.source, []).append(record)
        for name, batch in by_source.items():
            source = ensure_source(self.store, name, kind="file", location="", level=LEVELS.get(name, "school"))
            store_results(self.store, source, batch)

    def dedupe(self) -> None:
        """`huiju dedupe`, then the publication refresh it must be followed by (see docs/oai-pmh.md)."""
        dedupe(self.store, self.tmp / "dedup.bin")
        refresh(self.store)

    def approve(self, source: str) -> None:
        approve_source(self.store, source, actor="测试")

    def review(self, records: list[Record], status: str) -> None:
        set_review_status(self.store, [r.id for r in records], status, actor="测试")

    def work_of(self, record: Record) -> str:
        stored = self.store.get_stored(record.id)
        assert stored is not None and stored.work_id
        return stored.work_id


@dataclass
class Harvest:
    """Requests to /oai through Flask's test client; every response is schema-checked."""

    app: Flask
    xsd_dir: Path
    ours: Path
    repository_id: str = "huiju.test"
    log: list[bytes] = field(default_factory=list)

    def raw(self, method: str = "GET", headers: dict[str, str] | None = None, **args: str) -> Any:
        client = self.app.test_client()
        if method == "POST":
            response = client.post("/oai", data=args, headers=headers or {})
        else:
            response = client.get("/oai", query_string=args, headers=headers or {})
        if response.status_code == 200:
            body = response.data
            encoding = response.headers.get("Content-Encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            errors = response_errors(body, self.xsd_dir, self.ours)
            assert not errors, f"invalid response to {args}: {errors[:5]}\n{body[:2000]!r}"
            self.log.append(body)
        return response

    def __call__(self, method: str = "GET", **args: str) -> etree._Element:
        response = self.raw(method, **args)
        assert response.status_code == 200, response.data
        return etree.fromstring(self.log[-1])

    def error(self, **args: str) -> str:
        root = self(**args)
        codes = root.xpath("o:error/@code", namespaces=NS)
        assert codes, etree.tostring(root)[:1000]
        return codes[0]

    def pages(self, verb: str = "ListIdentifiers", **args: str) -> Iterator[etree._Element]:
        """Every page of a list, following resumption tokens (a noRecordsMatch yields nothing)."""
        root = self(verb=verb, **args)
        while True:
            if root.xpath("o:error[@code='noRecordsMatch']", namespaces=NS):
                return
            yield root
            token = root.xpath(f"o:{verb}/o:resumptionToken/text()", namespaces=NS)
            if not token:
                return
            root = self(verb=verb, resumptionToken=token[0])

    def identifiers(self, verb: str = "ListIdentifiers", **args: str) -> list[str]:
        return [i for page in self.pages(verb, **args) for i in page.xpath("//o:header/o:identifier/text()",
                                                                            namespaces=NS)]

    def oai_id(self, work_id: str) -> str:
        return f"oai:{self.repository_id}:{work_id}"


def settings_for(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(INSTANCE_PATH=str(tmp), SECRET_KEY="test-secret", OAI_COMMIT_LAG=0,
                                  OAI_REPOSITORY_ID="huiju.test", OAI_ADMIN_EMAIL="oai@huiju.test")
    values.update(overrides)
    return Settings(environ={}, **values)


@pytest.fixture(scope="session")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("our-xsd")


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite by default; parametrize with BACKENDS (indirect) to run on PostgreSQL too."""
    return request.param


@pytest.fixture
def pipeline(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    store = open_store(backend, tmp_path, request)
    store.init()
    try:
        yield Pipeline(store, tmp_path)
    finally:
        store.close()


@pytest.fixture
def make_harvest(pipeline: Pipeline, xsd_dir: Path, ours: Path, tmp_path: Path) -> Any:
    def make(**overrides: Any) -> Harvest:
        app = create_app(settings_for(tmp_path, **overrides), store=pipeline.store)
        return Harvest(app, xsd_dir, ours)
    return make


@pytest.fixture
def harvest(make_harvest: Any) -> Harvest:
    return make_harvest()
