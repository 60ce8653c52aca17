"""The store of record: every harvested record, run, decision and audit entry.

One class, ``Store(url)``, over SQLite (embedded default) or PostgreSQL. Each
public method is one short transaction, so a killed process loses at most the
call in flight and never leaves half a batch behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from repository.db import make_engine, utcnow
from repository.models import AuditLog, HarvestRun, Quarantine, Setting, Source
from repository.store_queries import QueryMethods
from repository.store_records import RecordMethods, RunRef, SourceRef, StoredRecord, UpsertCounts, _run_id

__all__ = ["Store", "StoredRecord", "UpsertCounts", "database_problem"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x6875_696A_7500  # pg advisory lock key: serialises concurrent `huiju init`
_RUN_COUNTS = ("pages", "added", "updated", "deleted", "unchanged", "quarantined")
_SOURCE_FIELDS = (
    "kind", "location", "level", "options", "schedule", "credentials", "auto_approve", "enabled",
)


_HINTS = (
    ("database or disk is full", "the database is full (no disk space or a size limit): free space and run "
     "it again; everything stored before is intact"),
    ("database is locked", "the database is locked by another process's write (waited "
     "HUIJU_DATABASE_BUSY_TIMEOUT seconds): run it again when that process is done"),
    ("Connection refused", "the database server is not answering: start it and run it again"),
    ("terminating connection", "the database server ended the connection (restarted or shut down)"),
    ("server closed the connection", "the database server ended the connection (restarted or shut down)"),
)


def database_problem(exc: BaseException) -> str | None:
    """A one-line reason for a database failure of the environment (disk full, locked, server gone),
    or None when ``exc`` is not one. SQLAlchemy's own text carries the whole statement and its
    parameters (megabytes for a bulk upsert): useless to an operator, and too big for a run row."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    for needle, hint in _HINTS:
        if needle in detail:
            return f"{hint} ({detail})"
    return f"database error: {detail}"


class Store(RecordMethods, QueryMethods):
    """Typed access to the database; safe to share between threads (one engine, short sessions)."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False,
                 busy_timeout: float | None = None) -> None:
        self.url, self.schema = url, schema
        self.engine = make_engine(url, schema=schema, echo=echo, busy_timeout=busy_timeout)
        self.dialect = self.engine.dialect.name
        # Writers take SQLite's write lock up front (BEGIN IMMEDIATE) so that a
        # read-then-write transaction queues on busy_timeout instead of failing.
        self._writer_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self._writer_engine, expire_on_commit=False)
        self._insert = sqlite_insert if self.dialect == "sqlite" else pg_insert
        self._compiled: dict[str, tuple[str, tuple[int, ...]]] = {}  # bulk upsert SQL per table

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------

    def _migrate(self, action: str, revision: str) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("path_separator", "os")
        with self._writer_engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)

    def upgrade(self, revision: str = "head") -> None:
        """Migrate to ``revision`` in one transaction; a no-op when already there."""
        if revision == "head" and self.revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head():
            return  # every CLI command and app start calls init(): stay quick and quiet
        self._migrate("upgrade", revision)

    def init(self) -> None:
        """Create or upgrade the schema (what ``huiju init`` runs); idempotent."""
        self.upgrade("head")

    def downgrade(self, revision: str) -> None:
        self._migrate("downgrade", revision)

    def revision(self) -> str | None:
        """The schema's Alembic revision, None on an empty database (read directly: no log noise)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on error."""
        with (self._writer if write else self._reader).begin() as session:
            yield session

    # -- sources ---------------------------------------------------------------

    def add_source(
        self, name: str, kind: str, location: str = "", *, level: str | None = None,
        options: dict[str, Any] | None = None, schedule: str = "", credentials: dict[str, Any] | None = None,
        auto_approve: bool = False, enabled: bool = True,
    ) -> Source:
        source = Source(
            name=name, kind=kind, location=location, level=level, options=options or {}, schedule=schedule,
            credentials=credentials, auto_approve=auto_approve, enabled=enabled,
        )
        with self.session(write=True) as s:
            s.add(source)
        return source

    def get_source(self, name: str) -> Source | None:
        with self.session() as s:
            return s.scalar(select(Source).where(Source.name == name))

    def list_sources(self, *, enabled: bool | None = None) -> list[Source]:
        query = select(Source).order_by(Source.name)
        if enabled is not None:
            query = query.where(Source.enabled == enabled)
        with self.session() as s:
            return list(s.scalars(query))

    def update_source(self, name: str, /, **changes: Any) -> Source:
        """Change fields of a source; never its name, which every record id derives from."""
        unknown = set(changes) - set(_SOURCE_FIELDS)
        if unknown:
            raise ValueError(f"cannot update source field(s): {', '.join(sorted(unknown))}")
        with self.session(write=True) as s:
            source = s.scalar(select(Source).where(Source.name == name))
            if source is None:
                raise KeyError(f"no source named {name!r}")
            for key, value in changes.items():
                setattr(source, key, value)
        return source

    def _source(self, source: SourceRef) -> Source:
        if isinstance(source, Source):
            return source
        found = self.get_source(source)
        if found is None:
            raise KeyError(f"no source named {source!r}")
        return found

    # -- harvest runs ----------------------------------------------------------

    def start_run(self, source: SourceRef) -> HarvestRun:
        run = HarvestRun(source_id=self._source(source).id, status="running", errors=[])
        with self.session(write=True) as s:
            s.add(run)
        return run

    def checkpoint(self, run: HarvestRun | int, state: dict[str, Any], *, pages: int | None = None) -> None:
        """Save resumption state (e.g. an OAI resumptionToken) so an interrupted run can go on."""
        values: dict[str, Any] = {"checkpoint": state}
        if pages is not None:
            values["pages"] = pages
        with self.session(write=True) as s:
            s.execute(update(HarvestRun).where(HarvestRun.id == _run_id(run)).values(**values))

    def finish_run(
        self, run: HarvestRun | int, status: str, counts: UpsertCounts | Mapping[str, int] | None = None,
        errors: list[Any] | None = None, message: str | None = None,
    ) -> HarvestRun:
        """Close a run. ``counts`` replace the totals upsert_records accumulated; None keeps them."""
        values = asdict(counts) if isinstance(counts, UpsertCounts) else dict(counts or {})
        unknown = set(values) - set(_RUN_COUNTS)
        if unknown:
            raise ValueError(f"unknown run count(s): {', '.join(sorted(unknown))}")
        with self.session(write=True) as s:
            row = s.get_one(HarvestRun, _run_id(run))
            for key, value in values.items():
                setattr(row, key, value)
            row.status, row.ended = status, utcnow()
            if errors is not None:
                row.errors = list(errors)
            if message is not None:
                row.message = message
        return row

    def get_run(self, run_id: int) -> HarvestRun | None:
        with self.session() as s:
            return s.get(HarvestRun, run_id)

    def last_run(self, source: SourceRef, *, status: str | None = None) -> HarvestRun | None:
        query = select(HarvestRun).where(HarvestRun.source_id == self._source(source).id)
        if status is not None:
            query = query.where(HarvestRun.status == status)
        with self.session() as s:
            return s.scalar(query.order_by(HarvestRun.id.desc()).limit(1))

    def interrupt_running(self) -> int:
        """Mark runs a dead process left 'running' as interrupted (call at scheduler start)."""
        with self.session(write=True) as s:
            result = s.execute(
                update(HarvestRun).where(HarvestRun.status == "running")
                .values(status="interrupted", ended=utcnow())
            )
            return result.rowcount  # type: ignore[attr-defined,no-any-return]

    # -- records ---------------------------------------------------------------

    # -- quarantine ------------------------------------------------------------

    def quarantine(
        self, source: SourceRef | None, run: RunRef, stage: str, reason: str, locator: str = "",
        raw: bytes | None = None,
    ) -> Quarantine:
        """Keep what could not be stored, byte for byte, with where and why it failed."""
        src_id = self._source(source).id if source is not None else None
        entry = Quarantine(source_id=src_id, run_id=_run_id(run), stage=stage, reason=reason,
                           locator=locator, raw=raw)
        with self.session(write=True) as s:
            s.add(entry)
            if run is not None:
                s.execute(update(HarvestRun).where(HarvestRun.id == _run_id(run))
                          .values(quarantined=HarvestRun.quarantined + 1))
        return entry

    def list_quarantine(
        self, source: SourceRef | None = None, *, limit: int | None = None
    ) -> list[Quarantine]:
        query = select(Quarantine).order_by(Quarantine.id)
        if source is not None:
            query = query.where(Quarantine.source_id == self._source(source).id)
        with self.session() as s:
            return list(s.scalars(query.limit(limit)))

    # -- audit log and settings -------------------------------------------------

    def audit(
        self, actor: str, action: str, target_type: str, target_id: str,
        before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
    ) -> AuditLog:
        entry = AuditLog(actor=actor, action=action, target_type=target_type, target_id=str(target_id),
                         before=before, after=after)
        with self.session(write=True) as s:
            s.add(entry)
        return entry

    def list_audit(
        self, target_type: str | None = None, target_id: str | None = None, *, limit: int | None = None
    ) -> list[AuditLog]:
        query = select(AuditLog).order_by(AuditLog.id)
        if target_type is not None:
            query = query.where(AuditLog.target_type == target_type)
        if target_id is not None:
            query = query.where(AuditLog.target_id == str(target_id))
        with self.session() as s:
            return list(s.scalars(query.limit(limit)))

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.session() as s:
            row = s.get(Setting, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self.session(write=True) as s:
            s.merge(Setting(key=key, value=value))
