"""Automatic record checks (record_checks) and multi-level review (users.review_level).

Written by hand to match repository/models.py (tests/store/test_migrations.py
compares the two on SQLite and PostgreSQL). Additive only: existing records
have no check results until `huiju checks run`; existing users review at any level.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "record_checks",
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("checked", TS, nullable=False),
        sa.CheckConstraint("outcome IN ('pass', 'warn', 'fail')", name=op.f("ck_record_checks_outcome")),
        sa.PrimaryKeyConstraint("record_id", "name", name=op.f("pk_record_checks")),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_record_checks_record_id_records")),
    )
    op.create_index(op.f("ix_record_checks_name_outcome"), "record_checks", ["name", "outcome"])
    op.add_column("users", sa.Column("review_level", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:  # SQLite: table copy; PostgreSQL: plain ALTER
        batch.drop_column("review_level")
    op.drop_index(op.f("ix_record_checks_name_outcome"), table_name="record_checks")
    op.drop_table("record_checks")
