"""Tables of the store of record, as SQLAlchemy 2 typed declarative models.

Design notes:

* ``records.data`` (and ``works.data``) hold the msgspec JSON encoding of the
  Record as raw bytes (BLOB / BYTEA), not a JSON/JSONB column: msgspec encodes
  straight to bytes and decodes straight into a typed Record, while a JSON
  column would add a Python ``json`` round trip in the driver and a parse on
  the server, for queries we never run (search lives in the index).
* Bookkeeping that changes without the content changing (``harvested``,
  ``datestamp``, ``deleted``) lives only in columns, so re-harvesting an
  unchanged record is a one-column UPDATE; the store overlays the columns on
  the decoded Record.
* Enumerations are strings with named CHECK constraints: portable, readable
  in raw SQL, and a new value is a one-line migration.
* The 0001 migration is written by hand to match; a test compares it with
  this metadata on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column

from repository.db import UTCDateTime, utcnow

SOURCE_KINDS = ("oai", "crawl", "smartedu", "marc", "rdf", "file")
SOURCE_LEVELS = ("national", "provincial", "municipal", "district", "school")
RUN_STATUSES = ("running", "succeeded", "failed", "interrupted")
REVIEW_STATUSES = ("pending", "approved", "rejected", "returned")
WORK_STATUSES = ("active", "merged", "deleted")
DECISION_KINDS = ("merge", "split", "pin")
QUARANTINE_STAGES = ("fetch", "parse", "map", "validate", "store")
USER_ROLES = ("curator", "admin")
CHECK_OUTCOMES = ("pass", "warn", "fail")

Json = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid on SQLite


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A CHECK that ``column`` is one of ``values`` (named by the convention)."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=column)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {
        datetime: UTCDateTime(), dict[str, Any]: Json, list[Any]: Json, bytes: LargeBinary(),
    }


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (one_of("kind", SOURCE_KINDS), one_of("level", SOURCE_LEVELS))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str | None] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schedule: Mapped[str] = mapped_column(String(100), default="")
    credentials: Mapped[dict[str, Any] | None] = mapped_column()
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HarvestRun(Base):
    __tablename__ = "harvest_runs"
    __table_args__ = (one_of("status", RUN_STATUSES), Index(None, "source_id", "started"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    started: Mapped[datetime] = mapped_column(default=utcnow)
    ended: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")
    pages: Mapped[int] = mapped_column(default=0, server_default="0")
    added: Mapped[int] = mapped_column(default=0, server_default="0")
    updated: Mapped[int] = mapped_column(default=0, server_default="0")
    deleted: Mapped[int] = mapped_column(default=0, server_default="0")
    unchanged: Mapped[int] = mapped_column(default=0, server_default="0")
    quarantined: Mapped[int] = mapped_column(default=0, server_default="0")
    errors: Mapped[list[Any]] = mapped_column(default=list)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column()  # resumption state
    message: Mapped[str | None] = mapped_column(Text)


class Work(Base):
    __tablename__ = "works"
    __table_args__ = (
        one_of("status", WORK_STATUSES),
        Index(None, "ever_published", "datestamp", "id"),  # OAI-PMH: keyset over harvestable works
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    canonical_record_id: Mapped[str | None] = mapped_column(String(40))  # no FK: avoids a cycle
    data: Mapped[bytes | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    successor_id: Mapped[str | None] = mapped_column(String(40))
    datestamp: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Once published, a work stays visible to OAI-PMH forever (as a tombstone when withdrawn or
    # retired): deletedRecord=persistent. Maintained by repository/publication.py.
    ever_published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WorkSet(Base):
    """OAI-PMH set membership of harvestable works (repository/publication.py keeps it in step).

    ``datestamp`` copies the work's, so a selective harvest is one range scan of
    the (set_spec, datestamp, work_id) index at any depth, however large the set.
    """

    __tablename__ = "work_sets"
    # SQLite: clustered on the primary key (migration 0006): each row kept twice, not three times
    __table_args__ = (Index(None, "set_spec", "datestamp", "work_id"), {"sqlite_with_rowid": False})

    work_id: Mapped[str] = mapped_column(ForeignKey("works.id"), primary_key=True)
    set_spec: Mapped[str] = mapped_column(String(200), primary_key=True)
    datestamp: Mapped[datetime] = mapped_column()


class RecordRow(Base):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("source_id", "source_record_id"),
        one_of("review_status", REVIEW_STATUSES),
        Index(None, "datestamp", "id"),  # keyset pagination and OAI-PMH from/until
        Index(None, "review_status", "source_level", "deleted", "datestamp"),  # dashboard, review backlog (0004)
        Index(None, "source_id", "id"),  # one source's records in id order: checks after a harvest (0005)
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # = Record.id
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    source_record_id: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column()
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    datestamp: Mapped[datetime] = mapped_column()
    harvested: Mapped[datetime] = mapped_column()
    modified: Mapped[datetime | None] = mapped_column()
    source_level: Mapped[str | None] = mapped_column(String(16))
    review_status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    work_id: Mapped[str | None] = mapped_column(ForeignKey("works.id"), index=True)


class RawPayload(Base):
    """The source's own bytes for a record, so it can be re-mapped without re-harvesting."""

    __tablename__ = "raw_payloads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("harvest_runs.id"))
    record_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"), unique=True)
    format: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    fetched: Mapped[datetime] = mapped_column(default=utcnow)


class WorkDecision(Base):
    __tablename__ = "work_decisions"
    __table_args__ = (one_of("kind", DECISION_KINDS),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    record_ids: Mapped[list[Any]] = mapped_column(default=list)
    work_id: Mapped[str | None] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")


class ReviewAction(Base):
    __tablename__ = "review_actions"
    __table_args__ = (Index(None, "at", "decision"),)  # dashboard: decisions per day, from the index (0004)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    scores: Mapped[dict[str, Any] | None] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")


class RecordCheck(Base):
    """The latest outcome of one automatic check on one record (repository/checks).

    ``content_hash`` is the record's hash when checked, so a changed record is
    re-checked and an unchanged one is not.
    """

    __tablename__ = "record_checks"
    __table_args__ = (one_of("outcome", CHECK_OUTCOMES), Index(None, "name", "outcome"))

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    checked: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Append-only: the ORM refuses UPDATE/DELETE (below); triggers do so in SQL."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()


class Quarantine(Base):
    __tablename__ = "quarantine"
    __table_args__ = (one_of("stage", QUARANTINE_STAGES),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("harvest_runs.id"))
    stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    locator: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes | None] = mapped_column()
    created: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", USER_ROLES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="curator")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Multi-level review: the stage this reviewer signs at (e.g. "school", "district"); None = any stage.
    review_level: Mapped[str | None] = mapped_column(String(16))


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(Json)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit log entry."""


def _refuse(*_args: Any) -> None:
    raise AppendOnlyError("audit_log is append-only: entries cannot be updated or deleted")


event.listen(AuditLog, "before_update", _refuse)
event.listen(AuditLog, "before_delete", _refuse)


@event.listens_for(Session, "before_flush")
def _no_audit_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    """Catch edits before any SQL is sent, including ones the mapper events never see."""
    for obj in session.deleted:
        if isinstance(obj, AuditLog):
            _refuse()
    for obj in session.dirty:
        if isinstance(obj, AuditLog) and session.is_modified(obj):
            _refuse()


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_audit_changes(state: ORMExecuteState) -> None:
    """ORM-enabled ``update(AuditLog)`` / ``delete(AuditLog)`` statements bypass flush."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if state.bind_mapper.class_ is AuditLog:
            _refuse()
