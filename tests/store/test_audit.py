"""The audit log is append-only: in the ORM on both databases and by trigger in SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from repository.models import AppendOnlyError, AuditLog
from repository.store import Store


def test_audit_appends_and_lists(store: Store) -> None:
    store.audit("alice", "approve", "record", "r1", before={"review_status": "pending"},
                after={"review_status": "approved"})
    store.audit("bob", "merge", "work", "w1", after={"records": ["r1", "r2"]})
    store.audit("alice", "return", "record", "r1")
    entries = store.list_audit("record", "r1")
    assert [e.action for e in entries] == ["approve", "return"]
    assert entries[0].before == {"review_status": "pending"} and entries[0].actor == "alice"
    assert entries[0].at.tzinfo is not None
    assert len(store.list_audit()) == 3
    assert [e.target_id for e in store.list_audit("work")] == ["w1"]


def test_orm_refuses_update_and_delete(store: Store) -> None:
    entry = store.audit("alice", "approve", "record", "r1")
    with pytest.raises(AppendOnlyError), store.session(write=True) as s:
        s.get_one(AuditLog, entry.id).action = "forged"
    with pytest.raises(AppendOnlyError), store.session(write=True) as s:
        s.delete(s.get_one(AuditLog, entry.id))
    with pytest.raises(AppendOnlyError), store.session(write=True) as s:
        s.execute(update(AuditLog).values(actor="mallory"))
    with pytest.raises(AppendOnlyError), store.session(write=True) as s:
        s.execute(delete(AuditLog).where(AuditLog.id == entry.id))
    with pytest.raises(AppendOnlyError), store.session(write=True) as s:
        s.merge(AuditLog(id=entry.id, actor="mallory", action="x", target_type="record", target_id="r1"))
    [kept] = store.list_audit()
    assert (kept.actor, kept.action) == ("alice", "approve")


def test_database_trigger_refuses_raw_sql(store: Store) -> None:
    store.audit("alice", "approve", "record", "r1")
    statements = ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"]
    if store.dialect == "postgresql":
        statements.append("TRUNCATE audit_log")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    with store.session() as s:
        assert s.scalars(select(AuditLog.actor)).all() == ["alice"]
