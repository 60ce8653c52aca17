"""SQLite: work_sets as a WITHOUT ROWID table (PostgreSQL: nothing to do).

work_sets has a composite primary key and short rows (work id, set spec,
datestamp), about fifteen per published work. As a rowid table SQLite kept
each row three times: the table, the primary key's own index and the
secondary index. Clustered on the primary key, twice: 1.25× the rows a
first publication writes a second, 1.33× for later works in random order,
24 % less space (300,000 works, 15 sets each; SQLite alone).

record_checks stays a rowid table: its rows are wider (detail, content
hash) and a harvest's checks insert them in random record-id order, so
clustered on (record_id, name) every insert lands in a B-tree three times
the size of the primary key's index: 1.7× slower for 80,000 records checked
beside 600,000 (measured, then left alone).

On SQLite the table is rebuilt (new table, copy, drop, rename, index): SQLite
cannot change a table's storage in place. The rows, names and constraints
are those of migration 0002. Written by hand to match repository/models.py
(tests/store/test_migrations.py compares the two).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
INDEX = "ix_work_sets_set_spec_datestamp_work_id"


def _rebuild(*, rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_table(
        "_work_sets_0006",
        sa.Column("work_id", sa.String(40), nullable=False),
        sa.Column("set_spec", sa.String(200), nullable=False),
        sa.Column("datestamp", TS, nullable=False),
        sa.PrimaryKeyConstraint("work_id", "set_spec", name=op.f("pk_work_sets")),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], name=op.f("fk_work_sets_work_id_works")),
        sqlite_with_rowid=rowid,
    )
    op.execute("INSERT INTO _work_sets_0006 (work_id, set_spec, datestamp) "
               "SELECT work_id, set_spec, datestamp FROM work_sets")
    op.drop_index(op.f(INDEX), table_name="work_sets")
    op.drop_table("work_sets")
    op.rename_table("_work_sets_0006", "work_sets")
    op.create_index(op.f(INDEX), "work_sets", ["set_spec", "datestamp", "work_id"])


def upgrade() -> None:
    _rebuild(rowid=False)


def downgrade() -> None:
    _rebuild(rowid=True)
