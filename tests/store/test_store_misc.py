"""Sources, harvest runs, quarantine, settings, and UTC datetimes on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from repository.models import AuditLog, Source
from repository.store import Store, UpsertCounts
from tests.store.conftest import make_record

BEIJING = timezone(timedelta(hours=8))


def test_source_crud(store: Store) -> None:
    a = store.add_source("a", "oai", "https://a.example/oai", level="national", options={"set": "math"},
                         schedule="0 3 * * *", credentials={"token": "x"})
    store.add_source("b", "smartedu", enabled=False)
    got = store.get_source("a")
    assert got is not None and got.id == a.id and got.options == {"set": "math"}
    assert got.credentials == {"token": "x"} and got.enabled and not got.auto_approve
    assert got.created.tzinfo == UTC
    assert [s.name for s in store.list_sources()] == ["a", "b"]
    assert [s.name for s in store.list_sources(enabled=True)] == ["a"]
    updated = store.update_source("a", level="provincial", enabled=False)
    assert updated.level == "provincial" and updated.updated >= got.updated
    assert store.get_source("missing") is None
    with pytest.raises(ValueError, match="name"):
        store.update_source("a", name="renamed")
    with pytest.raises(KeyError):
        store.update_source("missing", level="school")
    with pytest.raises(IntegrityError):
        store.add_source("a", "file")
    with pytest.raises(IntegrityError):  # CHECK constraint on kind
        store.add_source("c", "ftp")


def test_runs_accumulate_checkpoint_and_finish(store: Store, source: Any) -> None:
    run = store.start_run(source)
    assert run.status == "running" and run.started.tzinfo == UTC
    store.upsert_records(source, [make_record(n) for n in range(5)], run=run)
    store.upsert_records(source, [make_record(n) for n in range(7)], run=run.id)
    store.checkpoint(run, {"resumptionToken": "tok-2", "cursor": 7}, pages=2)
    store.quarantine(source, run, "parse", "bad XML", "page 3", b"<oops")
    mid = store.get_run(run.id)
    assert mid is not None and (mid.added, mid.unchanged, mid.pages, mid.quarantined) == (7, 5, 2, 1)
    assert mid.checkpoint == {"resumptionToken": "tok-2", "cursor": 7}
    done = store.finish_run(run, "succeeded", UpsertCounts(added=7, unchanged=5), errors=["warn"])
    assert (done.status, done.added, done.errors, done.quarantined) == ("succeeded", 7, ["warn"], 1)
    assert done.ended is not None and done.ended >= done.started
    with pytest.raises(ValueError, match="bogus"):
        store.finish_run(run, "failed", {"bogus": 1})
    store.finish_run(run, "failed", {"added": 1, "quarantined": 0}, message="boom")
    last = store.last_run(source)
    assert last is not None and (last.status, last.added, last.message) == ("failed", 1, "boom")
    second = store.start_run(source.name)
    assert store.interrupt_running() == 1
    assert store.last_run(source, status="interrupted").id == second.id  # type: ignore[union-attr]


def test_quarantine_keeps_raw_bytes_exactly(store: Store, source: Any) -> None:
    raw = bytes(range(256)) + "勾股定理".encode("gb18030") + b"\xff\xfe\x00"
    store.quarantine(source, None, "map", "unknown grade 初五", "oai:example:42", raw)
    store.quarantine(None, None, "fetch", "HTTP 503", "https://example/oai?verb=ListRecords")
    mine = store.list_quarantine(source)
    assert len(mine) == 1 and mine[0].raw == raw and mine[0].stage == "map"
    assert mine[0].locator == "oai:example:42" and mine[0].created.tzinfo == UTC
    assert [q.reason for q in store.list_quarantine()] == ["unknown grade 初五", "HTTP 503"]
    with pytest.raises(IntegrityError):
        store.quarantine(source, None, "elsewhere", "no such stage")


def test_settings(store: Store) -> None:
    assert store.get_setting("k", 5) == 5
    store.set_setting("k", {"a": [1, "二"]})
    store.set_setting("k", {"a": [2]})
    assert store.get_setting("k") == {"a": [2]}


def stored_utc_text(store: Store, sql: str) -> str:
    """What the database itself holds, rendered as UTC text."""
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            sql = sql.replace("SELECT at", "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')")
            sql = sql.replace("SELECT modified", "SELECT to_char(modified AT TIME ZONE 'UTC', "
                                                 "'YYYY-MM-DD HH24:MI:SS')")
        return str(conn.execute(text(sql)).scalar_one())[:19]


def test_datetimes_round_trip_as_utc(store: Store, source: Any) -> None:
    noon_beijing = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=BEIJING)
    naive_utc = datetime(2024, 6, 1, 1, 2, 3)
    with store.session(write=True) as s:
        s.add(AuditLog(at=noon_beijing, actor="a", action="x", target_type="t", target_id="1"))
        s.add(AuditLog(at=naive_utc, actor="a", action="x", target_type="t", target_id="2"))
    first, second = store.list_audit("t")
    assert first.at == noon_beijing and first.at.tzinfo == UTC and first.at.hour == 4
    assert first.at.microsecond == 123456
    assert second.at == naive_utc.replace(tzinfo=UTC) and second.at.tzinfo == UTC
    assert stored_utc_text(store, "SELECT at FROM audit_log WHERE target_id = '1'") == "2024-01-01 04:00:00"
    # The bulk upsert path writes datetimes without SQLAlchemy's type processing: same storage.
    record = make_record(1, modified=noon_beijing)
    store.upsert_records(source, [record])
    sql = f"SELECT modified FROM records WHERE id = '{record.id}'"
    assert stored_utc_text(store, sql) == "2024-01-01 04:00:00"
    with store.session() as s:
        modified = s.scalar(text(f"SELECT modified FROM records WHERE id = '{record.id}'"))
        src = s.get_one(Source, source.id)
        assert src.created.tzinfo == UTC
    assert modified is not None
    got = store.get_record(record.id)
    assert got is not None and got.modified == noon_beijing
    assert got.datestamp is not None and got.datestamp.tzinfo == UTC
    assert abs(got.datestamp - datetime.now(UTC)) < timedelta(minutes=5)


def test_driver_executemany_stores_what_the_orm_would(store: Store) -> None:
    """Bulk writes that bypass SQLAlchemy's type processing read back exactly like ORM writes."""
    from sqlalchemy import bindparam, insert, update

    from repository.db import driver_datetime, driver_executemany
    from repository.models import Work

    table = Work.__table__
    when = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    with store.session(write=True) as s:
        s.add(Work(id="w-orm", canonical_record_id="r", data=b'{"x": 1}', status="active", datestamp=when,
                   published=True, ever_published=False))
        to_driver = driver_datetime(store.dialect)
        statement = insert(table).values({name: bindparam(name) for name in (
            "id", "canonical_record_id", "data", "status", "datestamp", "published", "ever_published")})
        driver_executemany(s, statement, [
            {"id": f"w-{n}", "canonical_record_id": "r", "data": b'{"x": 1}', "status": "active",
             "datestamp": to_driver(when), "published": True, "ever_published": False} for n in range(3)])
        driver_executemany(s, update(table).where(table.c.id == bindparam("w_id")).values(status=bindparam("s")),
                           [{"w_id": "w-2", "s": "deleted"}])
        driver_executemany(s, statement, [])  # nothing to do: no statement sent
    with store.session() as s:
        rows = {w.id: (w.data, w.status, w.datestamp, w.published, w.ever_published) for w in s.scalars(select(Work))}
    assert rows["w-0"] == rows["w-1"] == rows["w-orm"] == (b'{"x": 1}', "active", when, True, False)
    assert rows["w-0"][2].utcoffset() == timedelta(0)
    assert rows["w-2"][1] == "deleted"


def test_roomy_page_cache_is_for_one_transaction_only(store: Store) -> None:
    from repository.db import BULK_CACHE_KIB, roomy_page_cache

    def cache_size(s: Any) -> Any:
        return s.connection().exec_driver_sql("PRAGMA cache_size").scalar() if store.dialect == "sqlite" else None

    with store.session(write=True) as s:
        before = cache_size(s)
        with roomy_page_cache(s):
            inside = cache_size(s)
            s.add(AuditLog(actor="t", action="bulk", target_type="test", target_id="1"))
        after = cache_size(s)
    if store.dialect == "sqlite":
        assert (before, inside, after) == (-2000, -BULK_CACHE_KIB, -2000)
    with store.session() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "bulk")) is not None


def test_sqlite_runs_in_wal_mode_with_a_roomy_checkpoint_interval(tmp_path: Path) -> None:
    """Bulk harvests commit a batch at a time: with SQLite's default interval (1,000 pages) nearly every
    commit paid a checkpoint (repository/db.py, WAL_AUTOCHECKPOINT_PAGES)."""
    from repository.db import WAL_AUTOCHECKPOINT_PAGES

    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES > 1000
    finally:
        store.close()
