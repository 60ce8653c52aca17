"""OAI-PMH publication: works.ever_published, its keyset index, and work_sets.

Written by hand to match repository/models.py (tests/store/test_migrations.py
compares the two on SQLite and PostgreSQL). Additive only: existing works
start as never published; `huiju review approve` (or publication.refresh)
computes publication and set membership.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("works", sa.Column("ever_published", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index(op.f("ix_works_ever_published_datestamp_id"), "works", ["ever_published", "datestamp", "id"])
    op.create_table(
        "work_sets",
        sa.Column("work_id", sa.String(40), nullable=False),
        sa.Column("set_spec", sa.String(200), nullable=False),
        sa.Column("datestamp", TS, nullable=False),
        sa.PrimaryKeyConstraint("work_id", "set_spec", name=op.f("pk_work_sets")),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], name=op.f("fk_work_sets_work_id_works")),
    )
    op.create_index(op.f("ix_work_sets_set_spec_datestamp_work_id"), "work_sets",
                    ["set_spec", "datestamp", "work_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_work_sets_set_spec_datestamp_work_id"), table_name="work_sets")
    op.drop_table("work_sets")
    op.drop_index(op.f("ix_works_ever_published_datestamp_id"), table_name="works")
    with op.batch_alter_table("works") as batch:  # SQLite: table copy; PostgreSQL: plain ALTER
        batch.drop_column("ever_published")
