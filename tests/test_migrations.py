"""The Alembic migrations create exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import bot.models  # noqa: F401


def test_migrations_match_models(db):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": False}), SQLModel.metadata)
    # SQLite's FTS tables and similar backend extras are created by migrations on purpose.
    assert [d for d in diff if not _is_search_index(d)] == []


def _is_search_index(diff) -> bool:
    text = repr(diff)
    return "search" in text or "fts" in text


def test_upgrade_is_idempotent(db):
    revision = db.current_revision()
    db._upgraded = False
    db.upgrade()
    assert db.current_revision() == revision
