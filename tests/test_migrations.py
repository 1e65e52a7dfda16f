"""The Alembic migrations create exactly the schema the models describe, on every backend."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import bot.models  # noqa: F401
from bot.db import Database, alembic_config
from bot.services.search import search


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


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("empty_postgres_url")


OLD_ROWS = [
    "INSERT INTO post (id, key, date, title, headline, source, author, body, truncated, labels, link, loaded_from, content_hash, loaded_at, updated_at) "
    "VALUES (1, 'post:2024-06-23:summit', '2024-06-23', 'Summit', NULL, 'RT', NULL, 'Leaders met about the zebra pact.', false, '', "
    "NULL, 'https://example.org/feed.xml', 'h1', '2024-06-23 10:00:00', '2024-06-23 10:00:00')",
    "INSERT INTO comment (id, post_id, position, author, text, posted_at, origin, created_at) "
    "VALUES (1, 1, 0, 'Anonymous', 'Own comment.', NULL, 'post', '2024-06-23 10:00:00')",
    "INSERT INTO comment (id, post_id, position, author, text, posted_at, origin, discord_message_id, discord_user_id, discord_guild_id, created_at) "
    "VALUES (2, 1, 0, 'alice', 'Said in server 555.', '2024-06-24 10:00:00', 'discord', 9, 7, 555, '2024-06-24 10:00:00')",
    "INSERT INTO treaty (id, name, provenance, has_text, created_at) VALUES (1, 'North Atlantic Treaty', '', false, '2024-06-23 10:00:00')",
    "INSERT INTO quote (id, post_id, treaty_id, number, \"offset\", post_date) VALUES (1, 1, 1, 5, 0, '2024-06-23')",
    "INSERT INTO feed (id, guild_id, url, channel_id, interval_minutes, etag, last_polled_at, last_status, failures, paused, primed, created_at) "
    "VALUES (1, 555, 'https://example.org/feed.xml', 10, 15, 'old-etag', '2024-06-23 10:00:00', 'ok', 0, false, true, '2024-06-01 10:00:00')",
    "INSERT INTO feed (id, guild_id, url, channel_id, interval_minutes, etag, last_polled_at, last_status, failures, paused, primed, created_at) "
    "VALUES (2, 666, 'https://example.org/feed.xml', 20, 60, 'new-etag', '2024-06-24 10:00:00', 'ok', 0, false, true, '2024-06-02 10:00:00')",
]


def test_upgrade_in_place_keeps_the_data(empty_url):
    """A database made by 0001-0004 with data in it: 0005 scopes it and keeps every row."""
    database = Database(empty_url)
    command.upgrade(alembic_config(database.engine), "0004")
    with database.engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement))
    database.upgrade()
    with database.engine.connect() as connection:
        rows = lambda sql: connection.execute(text(sql)).all()  # noqa: E731
        assert rows("SELECT id, scope FROM post") == [(1, 0)]  # existing posts become the library's
        assert rows("SELECT id, scope FROM comment ORDER BY id") == [(1, 0), (2, 555)]  # Discord comments keep their server
        assert rows("SELECT scope FROM quote") == [(0,)]
        assert rows("SELECT url, etag FROM feedsource") == [("https://example.org/feed.xml", "new-etag")]  # the state polled last
        assert rows("SELECT guild_id, channel_id, interval_minutes, primed FROM feed ORDER BY id") == [(555, 10, 15, True), (666, 20, 60, True)]
        assert rows("SELECT feed_id, entry_key, post_id FROM feedentry ORDER BY feed_id") == [
            (1, "post:2024-06-23:summit", 1), (2, "post:2024-06-23:summit", 1)  # seen: not announced again
        ]
    hits = search(database, query="zebra", scope=555)
    assert [(h.kind, h.id) for h in hits] == [("post", 1)]
    assert search(database, query="server 555", scope=666) == []
    database.dispose()
