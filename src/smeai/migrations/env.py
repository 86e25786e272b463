"""Alembic environment: every domain's models, batch mode for SQLite."""

from __future__ import annotations

from alembic import context

from smeai.db import Base, get_engine
from smeai.domains import import_all_models

import_all_models()  # a model env.py forgets is a table the migrations never create
target_metadata = Base.metadata
config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    with get_engine(url).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename); with foreign keys enforced, dropping a table
            # that others reference fails. SQLite's documented procedure: keys off for the rebuild (the
            # pragma only takes effect outside a transaction, hence first), then check every key.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,  # SQLite alters tables by copying them
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left rows whose foreign keys point nowhere: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:  # the pooled connection goes back as every other one is: keys enforced
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
