"""Store fixtures: every store test runs on SQLite (a temp file) and on PostgreSQL.

PostgreSQL isolation: each test gets a fresh schema in database ``test`` (the
store's ``schema=`` puts it first on search_path, so migrations, the version
table and triggers all land there) and the schema is dropped afterwards.
Without a reachable server the PostgreSQL half skips locally and fails in CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from repository.store import Store
from schemas.record import Agent, Curriculum, Identifier, Record, Term

PG_URL = os.environ.get("HUIJU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SOURCE = "prov"


def _pg_conninfo() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@cache
def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        import psycopg

        with psycopg.connect(_pg_conninfo(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not available"
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def require_pg() -> None:
    reason = pg_unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL at {PG_URL} is required in CI (CI=true) but unreachable: {reason}")
    pytest.skip(f"PostgreSQL at {PG_URL} unreachable (start it or set HUIJU_TEST_PG_URL): {reason}")


def pg_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty schema, dropped (with everything in it) afterwards."""
    require_pg()
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg_execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        pg_execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def open_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if backend == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'huiju.db'}")
    return Store(PG_URL, schema=request.getfixturevalue("pg_schema"))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on an empty database (no migrations run yet)."""
    store = open_store(request.param, tmp_path, request)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(empty_store: Store) -> Store:
    empty_store.init()
    return empty_store


@pytest.fixture
def source(store: Store) -> Any:
    return store.add_source(SOURCE, "oai", "https://oai.example.edu.cn/provider", level="provincial")


def make_record(n: int, *, source: str = SOURCE, **changes: Any) -> Record:
    """A realistic lesson record; ``changes`` override fields."""
    fields: dict[str, Any] = dict(
        source=source,
        source_record_id=f"oai:example:{n:06d}",
        url=f"https://example.edu.cn/lesson/{n}",
        identifiers=[Identifier("smartedu", f"nat-{n:08x}")],
        title=f"勾股定理（第{n % 3 + 1}课时）#{n}",
        description="人教版八年级数学下册《勾股定理》微课视频，王丽老师执教。",
        keywords=["数学", "勾股定理"],
        language="zh",
        curriculum=Curriculum(
            grade=8, subject=Term("math", "数学", "Mathematics"), chapter_path=["第十七章 勾股定理"]
        ),
        format="video/mp4",
        agents=[Agent(name="王丽", role="teacher", school="北京市第一中学")],
        source_level="provincial",
        created=datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
        modified=datetime(2024, 3, 2, 9, 30, tzinfo=UTC),
    )
    fields.update(changes)
    return Record(**fields)
