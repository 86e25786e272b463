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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
