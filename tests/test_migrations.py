"""The Alembic history builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from smeai.db import Base, get_engine
from smeai.migrate import alembic_config, current


def test_upgraded_database_matches_the_models(db_url):
    with get_engine(db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree (a model env.py missed, or a migration to write): {diff}"


def test_database_is_at_the_single_head(db_url):
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config(db_url)).get_heads()
    assert len(heads) == 1, f"the history must stay linear, heads: {heads}"
    assert current(db_url) == heads[0]
