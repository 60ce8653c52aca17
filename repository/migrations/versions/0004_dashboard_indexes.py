"""Indexes for the operators' dashboard (repository/dashboard_data.py).

Written by hand to match repository/models.py (tests/store/test_migrations.py
compares the two on SQLite and PostgreSQL). Additive only. With them, every
dashboard figure is answered from an index on a store of a million records:

* records (review_status, source_level, deleted, datestamp): records per level ×
  review status (a covering scan, grouped in index order) and the review backlog
  by age (a range of the pending records); the review queue's filters too;
* review_actions (at, decision): review decisions per day over the last 30 days
  (a covering range scan).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORDS_INDEX = "ix_records_review_status_source_level_deleted_datestamp"


def upgrade() -> None:
    op.create_index(op.f(RECORDS_INDEX), "records", ["review_status", "source_level", "deleted", "datestamp"])
    op.create_index(op.f("ix_review_actions_at_decision"), "review_actions", ["at", "decision"])


def downgrade() -> None:
    op.drop_index(op.f("ix_review_actions_at_decision"), table_name="review_actions")
    op.drop_index(op.f(RECORDS_INDEX), table_name="records")
