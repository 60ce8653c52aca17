"""An index on records (source_id, id): walking one source's records in id order.

The quality checks after a harvest page through the source's records by id
(keyset: ``source_id = ? AND id > ? ORDER BY id LIMIT n``). With only the
(source_id, source_record_id) unique index, SQLite read every remaining
record of the source and sorted them for each page: quadratic, 261 s for the
checks of 98,000 national records at demo size 200,000. With this index each
page is a range read.

Written by hand to match repository/models.py (tests/store/test_migrations.py
compares the two on SQLite and PostgreSQL). Additive only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_records_source_id_id"


def upgrade() -> None:
    op.create_index(op.f(INDEX), "records", ["source_id", "id"])


def downgrade() -> None:
    op.drop_index(op.f(INDEX), table_name="records")
