"""Alembic environment, driven programmatically by ``repository.store.Store``.

There is no alembic.ini: the Store builds the Config, opens the connection
(inside a transaction, with the migration lock held) and hands it over in
``config.attributes["connection"]``. With only a ``sqlalchemy.url`` main option
(e.g. from a one-off script) the engine is made by ``repository.db``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from repository.db import make_engine
from repository.models import Base

config = context.config
target_metadata = Base.metadata

FOREIGN_TABLES = {"apscheduler_jobs"}  # APScheduler's job store shares the database; not ours to migrate


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Keep autogenerate from proposing to drop tables other libraries own."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER goes via table copy
        compare_type=True,
        transaction_per_migration=False,
        include_object=_ours,
    )


def run_offline() -> None:
    context.configure(
        include_object=_ours,
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
