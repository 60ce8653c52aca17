"""SQLite: work_sets and record_checks as WITHOUT ROWID tables (PostgreSQL: nothing to do).

Both tables have a composite primary key and short rows. As rowid tables,
SQLite kept each row three times: the table, the primary key's own index and
the secondary index; every insert wrote three B-trees. Clustered on the
primary key, a row is kept twice. These two tables take a million-record
demo's largest row counts (about five check rows per record, a dozen set rows
per published work), so publication and checks write a third less.

On SQLite the table is rebuilt (new table, copy, drop, rename, index): SQLite
cannot change a table's storage in place. The rows, names and constraints
are those of migrations 0002 and 0003. Written by hand to match
repository/models.py (tests/store/test_migrations.py compares the two).

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


def _work_sets(name: str, *, rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("work_id", sa.String(40), nullable=False),
        sa.Column("set_spec", sa.String(200), nullable=False),
        sa.Column("datestamp", TS, nullable=False),
        sa.PrimaryKeyConstraint("work_id", "set_spec", name=op.f("pk_work_sets")),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], name=op.f("fk_work_sets_work_id_works")),
        sqlite_with_rowid=rowid,
    )


def _record_checks(name: str, *, rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("record_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("checked", TS, nullable=False),
        sa.CheckConstraint("outcome IN ('pass', 'warn', 'fail')", name=op.f("ck_record_checks_outcome")),
        sa.PrimaryKeyConstraint("record_id", "name", name=op.f("pk_record_checks")),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_record_checks_record_id_records")),
        sqlite_with_rowid=rowid,
    )


TABLES = {  # table: (create it, its columns, its secondary index and that index's columns)
    "work_sets": (_work_sets, "work_id, set_spec, datestamp",
                  "ix_work_sets_set_spec_datestamp_work_id", ["set_spec", "datestamp", "work_id"]),
    "record_checks": (_record_checks, "record_id, name, outcome, detail, content_hash, checked",
                      "ix_record_checks_name_outcome", ["name", "outcome"]),
}


def _rebuild(*, rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, (create, names, index, columns) in TABLES.items():
        temporary = f"_{table}_0006"
        create(temporary, rowid=rowid)
        op.execute(f"INSERT INTO {temporary} ({names}) SELECT {names} FROM {table}")
        op.drop_index(op.f(index), table_name=table)
        op.drop_table(table)
        op.rename_table(temporary, table)
        op.create_index(op.f(index), table, columns)


def upgrade() -> None:
    _rebuild(rowid=False)


def downgrade() -> None:
    _rebuild(rowid=True)
