"""upsert_records: exact counts, datestamp rules, deletions, keys, raw payloads, streaming."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from repository.models import RawPayload, RecordRow
from repository.store import Store
from schemas.record import content_hash
from tests.store.conftest import SOURCE, make_record


def row(store: Store, record_id: str) -> RecordRow:
    with store.session() as s:
        return s.get_one(RecordRow, record_id)


def test_counts_are_exact(store: Store, source: Any) -> None:
    first = [make_record(n) for n in range(10)]
    assert astuple(store.upsert_records(source, first)) == (10, 0, 0, 0)
    assert astuple(store.upsert_records(source, first)) == (0, 0, 10, 0)
    changed = [make_record(n, title=f"改 {n}") for n in range(3)]
    batch = changed + first[3:] + [make_record(n) for n in (10, 11)]
    counts = store.upsert_records(source, batch)
    assert astuple(counts) == (2, 3, 7, 0)
    assert counts.total == len(batch)
    assert astuple(store.upsert_records(source, [])) == (0, 0, 0, 0)
    assert store.count_records() == 12
    assert store.count_records(source=SOURCE) == 12


def astuple(counts: Any) -> tuple[int, int, int, int]:
    return (counts.added, counts.updated, counts.unchanged, counts.deleted)


def test_identical_content_keeps_datestamp_but_moves_harvested(store: Store, source: Any) -> None:
    record = make_record(1)
    store.upsert_records(source, [record])
    first = row(store, record.id)
    later = msgspec.structs.replace(record, harvested=datetime(2030, 1, 1, tzinfo=UTC))
    assert store.upsert_records(source, [later]).unchanged == 1
    second = row(store, record.id)
    assert second.datestamp == first.datestamp
    assert second.harvested > first.harvested
    assert second.content_hash == first.content_hash == content_hash(record)


def test_content_change_bumps_datestamp(store: Store, source: Any) -> None:
    record = make_record(1)
    store.upsert_records(source, [record])
    first = row(store, record.id)
    changed = msgspec.structs.replace(record, description="新的描述")
    assert store.upsert_records(source, [changed]).updated == 1
    second = row(store, record.id)
    assert second.datestamp > first.datestamp
    assert second.content_hash == content_hash(changed) != first.content_hash
    stored = store.get_record(record.id)
    assert stored is not None and stored.description == "新的描述"
    assert stored.datestamp == second.datestamp and stored.harvested == second.harvested


def test_deletion_marks_row_and_keeps_data(store: Store, source: Any) -> None:
    records = [make_record(n) for n in range(3)]
    store.upsert_records(source, records)
    before = row(store, records[0].id)
    tombstone = make_record(0, title="", description=None, deleted=True)
    unknown = make_record(99, deleted=True)
    counts = store.upsert_records(source, [tombstone, unknown])
    assert astuple(counts) == (0, 0, 1, 1)
    after = row(store, records[0].id)
    assert after.deleted and after.datestamp > before.datestamp
    assert after.data == before.data and after.title == records[0].title
    assert store.get_record(unknown.id) is None
    got = store.get_record(records[0].id)
    assert got is not None and got.deleted and got.title == records[0].title
    assert store.count_records() == 2
    assert store.count_records(include_deleted=True) == 3
    assert {r.id for r in store.iter_records()} == {records[1].id, records[2].id}
    assert len(list(store.iter_records(include_deleted=True))) == 3
    # Deleting again changes nothing; the record coming back is an update.
    assert astuple(store.upsert_records(source, [tombstone])) == (0, 0, 1, 0)
    assert row(store, records[0].id).datestamp == after.datestamp
    assert astuple(store.upsert_records(source, [records[0]])) == (0, 1, 0, 0)
    back = row(store, records[0].id)
    assert not back.deleted and back.datestamp > after.datestamp


def test_key_is_source_and_source_record_id(store: Store, source: Any) -> None:
    other = store.add_source("city", "crawl", level="municipal")
    a, b = make_record(1), make_record(1, source="city")
    assert a.id != b.id
    store.upsert_records(source, [a])
    store.upsert_records(other, [b])
    assert store.count_records() == 2
    # Duplicates within one batch: one row, the last one wins.
    counts = store.upsert_records(source, [make_record(2, title="一"), make_record(2, title="二")])
    assert counts.added == 1
    got = store.get_record(make_record(2).id)
    assert got is not None and got.title == "二"
    with pytest.raises(ValueError, match="not 'prov'"):
        store.upsert_records(source, [make_record(3, source="city")])
    first = row(store, a.id)
    values = {c: getattr(first, c) for c in RecordRow.__table__.columns.keys()} | {"id": "rother"}
    with pytest.raises(IntegrityError), store.session(write=True) as s:
        s.execute(insert(RecordRow), [values])


def test_review_status_and_metadata(store: Store, source: Any) -> None:
    auto = store.add_source("trusted", "file", auto_approve=True)
    plain, trusted = make_record(1), make_record(1, source="trusted")
    store.upsert_records(source, [plain])
    store.upsert_records(auto, [trusted])
    stored = store.get_stored(plain.id)
    assert stored is not None and stored.review_status == "pending" and stored.work_id is None
    assert stored.source_id == source.id and stored.content_hash == content_hash(plain)
    trusted_row = store.get_stored(trusted.id)
    assert trusted_row is not None and trusted_row.review_status == "approved"
    with store.session(write=True) as s:
        s.get_one(RecordRow, plain.id).review_status = "returned"
    store.upsert_records(source, [make_record(1, title="改")])  # a content update keeps the review state
    again = store.get_stored(plain.id)
    assert again is not None and again.review_status == "returned"
    assert store.get_stored("rmissing") is None


def test_iter_records_keyset_pagination_each_once(store: Store, source: Any) -> None:
    records = [make_record(n) for n in range(2500)]
    for i in range(0, 2500, 1000):  # three batches: three datestamps, many ties
        store.upsert_records(source, records[i : i + 1000])
    for batch in (1000, 333):
        seen = [r.id for r in store.iter_records(batch=batch)]
        assert len(seen) == 2500 and set(seen) == {r.id for r in records}
    stamps: list[Any] = [r.datestamp for r in store.iter_records(batch=400)]
    assert stamps == sorted(stamps)
    changed = [make_record(n, title="新") for n in range(2400, 2500)]
    store.upsert_records(source, changed)
    cutoff = row(store, changed[0].id).datestamp
    recent = list(store.iter_records(since=cutoff, batch=30))
    assert {r.id for r in recent} == {r.id for r in changed}
    assert store.count_records(since=cutoff) == 100
    assert store.count_records(until=cutoff - timedelta(microseconds=1)) == 2400


def test_raw_payload_kept_and_replaced(store: Store, source: Any) -> None:
    records = [make_record(n) for n in range(3)]
    raw = {r.id: ("oai_dc", f"<dc n='{i}'>勾股</dc>".encode()) for i, r in enumerate(records)}
    run = store.start_run(source)
    store.upsert_records(source, records, run=run, raw=raw)
    got = store.get_raw(records[0].id)
    assert got is not None and got.content == raw[records[0].id][1] and got.format == "oai_dc"
    assert got.run_id == run.id
    new_raw = {records[0].id: ("lom", b"\x00\xffnew")}
    store.upsert_records(source, records, raw=new_raw)  # unchanged records still get fresh raw bytes
    again = store.get_raw(records[0].id)
    assert again is not None and (again.format, again.content) == ("lom", b"\x00\xffnew")
    assert again.run_id is None
    store.upsert_records(source, records, raw=new_raw)  # identical bytes: the row stays as it was
    same = store.get_raw(records[0].id)
    assert same is not None and (same.id, same.fetched) == (again.id, again.fetched)
    store.save_payload(source, run, "marcxml", b"<collection/>")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(RawPayload)) == 4
        per_record = select(func.count()).where(RawPayload.record_id == records[0].id)
        assert s.scalar(per_record) == 1


def test_foreign_id_is_refused(store: Store, source: Any) -> None:
    record = make_record(1)
    record.id = "rsomethingelse"
    with pytest.raises(ValueError, match="foreign id"):
        store.upsert_records(source, [record])


def test_concurrent_writers_queue_instead_of_failing(store: Store, source: Any) -> None:
    """Writers in several threads (SQLite: BEGIN IMMEDIATE + busy_timeout) all get through."""

    def write(worker: int) -> None:
        for batch in range(4):
            start = worker * 1000 + batch * 100
            store.upsert_records(source, [make_record(n) for n in range(start, start + 100)])
            store.upsert_records(source, [make_record(n, title="改") for n in range(start, start + 50)])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    assert store.count_records() == 1600
