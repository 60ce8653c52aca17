"""Alembic migrations: empty database to head, idempotent init, and models == migration."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from repository.checks.runner import run_checks
from repository.models import Base
from repository.publication import approve_source
from repository.sample import load_sample
from repository.store import MIGRATIONS, Store
from repository.works import dedupe
from tests.store.conftest import make_record

TABLES = {
    "sources", "harvest_runs", "records", "raw_payloads", "works", "work_decisions", "review_actions",
    "audit_log", "quarantine", "users", "settings", "work_sets", "record_checks",
}


def head() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def snapshot(store: Store) -> dict[str, object]:
    with store.engine.connect() as conn:
        insp = inspect(conn)
        return {
            table: (
                [c["name"] for c in insp.get_columns(table)],
                sorted(i["name"] or "" for i in insp.get_indexes(table)),
            )
            for table in insp.get_table_names()
        }


def test_upgrade_empty_database_to_head(empty_store: Store) -> None:
    assert empty_store.revision() is None
    empty_store.init()
    assert empty_store.revision() == head() == "0006"
    with empty_store.engine.connect() as conn:
        assert TABLES | {"alembic_version"} == set(inspect(conn).get_table_names())


def test_init_again_is_a_noop(store: Store) -> None:
    src = store.add_source("s", "file")
    store.upsert_records(src, [make_record(1, source="s")])
    before = snapshot(store)
    store.init()
    store._migrate("upgrade", "head")  # through Alembic itself, past init()'s quick check
    assert snapshot(store) == before
    assert store.revision() == head()
    assert store.count_records() == 1
    assert store.get_source("s") is not None


def test_migration_matches_models(store: Store) -> None:
    """The hand-written migration creates exactly what models.py declares."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_back(store: Store) -> None:
    store.downgrade("base")
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    store.init()
    assert store.revision() == head()
    store.audit("admin", "init", "store", "-")  # triggers were dropped and recreated cleanly


def _rows(store: Store) -> dict[str, list[tuple]]:
    with store.engine.connect() as conn:
        return {
            "work_sets": sorted(conn.execute(text("SELECT work_id, set_spec, datestamp FROM work_sets")).all()),
            "record_checks": sorted(conn.execute(text(
                "SELECT record_id, name, outcome, detail, content_hash, checked FROM record_checks")).all()),
        }


def _without_rowid(store: Store) -> dict[str, bool]:
    """Which of the two tables SQLite keeps clustered on the primary key."""
    with store.engine.connect() as conn:
        return {table: "WITHOUT ROWID" in conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}).scalar_one()
            for table in ("work_sets", "record_checks")}


def test_0006_keeps_every_set_and_check_row(store: Store, tmp_path: Path) -> None:
    """0006 rebuilds work_sets (SQLite: clustered on its primary key; record_checks stays a rowid table);
    down and up again, every set and check row is still there."""
    list(load_sample(store))
    dedupe(store, tmp_path / "works.snapshot")
    approve_source(store, "national", actor="admin")
    run_checks(store)
    before = _rows(store)
    assert len(before["work_sets"]) > 10 and len(before["record_checks"]) > 10
    sqlite = store.engine.dialect.name == "sqlite"
    if sqlite:
        assert _without_rowid(store) == {"work_sets": True, "record_checks": False}
    store.downgrade("0005")
    assert _rows(store) == before
    if sqlite:
        assert _without_rowid(store) == {"work_sets": False, "record_checks": False}
    store.init()
    assert _rows(store) == before
    if sqlite:
        assert _without_rowid(store) == {"work_sets": True, "record_checks": False}
    with store.engine.connect() as conn:  # the indexes came back with the tables
        assert {i["name"] for t in ("work_sets", "record_checks") for i in inspect(conn).get_indexes(t)} == {
            "ix_work_sets_set_spec_datestamp_work_id", "ix_record_checks_name_outcome"}
