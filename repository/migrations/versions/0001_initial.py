"""Initial schema: sources, runs, records, raw payloads, works, review, audit, quarantine, users.

Written by hand to match repository/models.py (a test compares the two on
SQLite and PostgreSQL). Also installs the triggers that make audit_log
append-only at the database level.

Revision ID: 0001
Revises:
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def ck(table: str, column: str, *values: str) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=op.f(f"ck_{table}_{column}"))


def pk(table: str, *cols: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*cols, name=op.f(f"pk_{table}"))


def fk(table: str, column: str, ref: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{ref}.id"], name=op.f(f"fk_{table}_{column}_{ref}"))


def fk_record(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f(f"fk_{table}_record_id_records"))


def uq(table: str, *cols: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*cols, name=op.f(f"uq_{table}_{'_'.join(cols)}"))


def index(table: str, *cols: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(cols)}"), table, list(cols))


AUDIT_TRIGGERS = {
    "postgresql": [
        """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END $$""",
        """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
        """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END""",
    ],
}
DROP_AUDIT_TRIGGERS = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
        "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
        "DROP FUNCTION IF EXISTS audit_log_append_only()",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"],
}


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("options", JSON, nullable=False),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("credentials", JSON, nullable=True),
        sa.Column("auto_approve", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("updated", TS, nullable=False),
        pk("sources", "id"),
        uq("sources", "name"),
        ck("sources", "kind", "oai", "crawl", "smartedu", "marc", "rdf", "file"),
        ck("sources", "level", "national", "provincial", "municipal", "district", "school"),
    )
    op.create_table(
        "harvest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started", TS, nullable=False),
        sa.Column("ended", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        *[
            sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in ("pages", "added", "updated", "deleted", "unchanged", "quarantined")
        ],
        sa.Column("errors", JSON, nullable=False),
        sa.Column("checkpoint", JSON, nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        pk("harvest_runs", "id"),
        fk("harvest_runs", "source_id", "sources"),
        ck("harvest_runs", "status", "running", "succeeded", "failed", "interrupted"),
    )
    index("harvest_runs", "source_id", "started")
    op.create_table(
        "works",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("canonical_record_id", sa.String(40), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("successor_id", sa.String(40), nullable=True),
        sa.Column("datestamp", TS, nullable=False),
        sa.Column("published", sa.Boolean(), server_default=sa.false(), nullable=False),
        pk("works", "id"),
        ck("works", "status", "active", "merged", "deleted"),
    )
    index("works", "datestamp")
    op.create_table(
        "records",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.String(500), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("datestamp", TS, nullable=False),
        sa.Column("harvested", TS, nullable=False),
        sa.Column("modified", TS, nullable=True),
        sa.Column("source_level", sa.String(16), nullable=True),
        sa.Column("review_status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("work_id", sa.String(40), nullable=True),
        pk("records", "id"),
        fk("records", "source_id", "sources"),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], name=op.f("fk_records_work_id_works")),
        uq("records", "source_id", "source_record_id"),
        ck("records", "review_status", "pending", "approved", "rejected", "returned"),
    )
    index("records", "datestamp", "id")
    index("records", "work_id")
    op.create_table(
        "raw_payloads",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.String(40), nullable=True),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("fetched", TS, nullable=False),
        pk("raw_payloads", "id"),
        fk("raw_payloads", "source_id", "sources"),
        fk("raw_payloads", "run_id", "harvest_runs"),
        fk_record("raw_payloads"),
        uq("raw_payloads", "record_id"),
    )
    index("raw_payloads", "source_id")
    op.create_table(
        "work_decisions",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("record_ids", JSON, nullable=False),
        sa.Column("work_id", sa.String(40), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        pk("work_decisions", "id"),
        ck("work_decisions", "kind", "merge", "split", "pin"),
    )
    index("work_decisions", "work_id")
    op.create_table(
        "review_actions",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("scores", JSON, nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        pk("review_actions", "id"),
        fk_record("review_actions"),
    )
    index("review_actions", "record_id")
    op.create_table(
        "audit_log",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target_type", sa.String(40), nullable=False),
        sa.Column("target_id", sa.String(100), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        pk("audit_log", "id"),
    )
    index("audit_log", "target_type", "target_id")
    op.create_table(
        "quarantine",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locator", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("created", TS, nullable=False),
        pk("quarantine", "id"),
        fk("quarantine", "source_id", "sources"),
        fk("quarantine", "run_id", "harvest_runs"),
        ck("quarantine", "stage", "fetch", "parse", "map", "validate", "store"),
    )
    index("quarantine", "source_id")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        pk("users", "id"),
        uq("users", "username"),
        ck("users", "role", "curator", "admin"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", JSON, nullable=False),
        pk("settings", "key"),
    )
    for statement in AUDIT_TRIGGERS.get(op.get_context().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_AUDIT_TRIGGERS.get(op.get_context().dialect.name, []):
        op.execute(statement)
    for table in (
        "settings", "users", "quarantine", "audit_log", "review_actions", "work_decisions",
        "raw_payloads", "records", "works", "harvest_runs", "sources",
    ):
        op.drop_table(table)
