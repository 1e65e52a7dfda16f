"""Migration 0007 (issue #11) on a database with data: loaded articles get their headings and are
found by them; existing servers answer article references in chat; existing quotes keep theirs."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from bot.db import Database, alembic_config
from bot.services.search import search
from bot.store.search import ARTICLE

ROWS_AT_0006 = [
    "INSERT INTO treaty (id, name, provenance, has_text, created_at) VALUES (1, 'North Atlantic Treaty', '', true, '2024-06-23 10:00:00')",
    "INSERT INTO treatyalias (id, treaty_id, alias) VALUES (1, 1, 'Washington Treaty'), (2, 1, 'NATO')",
    "INSERT INTO article (id, treaty_id, number, label, text) VALUES "
    "(1, 1, 5, '5', 'The Parties agree that an armed attack against one or more of them shall be considered an attack against them all.'), "
    "(2, 1, 6, 'VI', 'For the purpose of Article 5, an armed attack includes an attack on the territory of any of the Parties.')",
    "INSERT INTO guildconfig (guild_id, collect_mode) VALUES (555, 'request')",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("empty_postgres_url")


def test_0007_fills_headings_and_keeps_the_data(empty_url):
    database = Database(empty_url)
    command.upgrade(alembic_config(database.engine), "0006")
    with database.engine.begin() as connection:
        for statement in ROWS_AT_0006:
            connection.execute(text(statement))
    database.upgrade()
    with database.engine.connect() as connection:
        rows = lambda sql: connection.execute(text(sql)).all()  # noqa: E731
        assert rows("SELECT id, heading FROM article ORDER BY id") == [
            (1, "Article 5 — North Atlantic Treaty (NATO)"),
            (2, "Article VI (6) — North Atlantic Treaty (NATO)"),
        ]
        assert rows("SELECT guild_id, collect_mode, chat_quotes FROM guildconfig") == [(555, "request", True)]
        assert rows("SELECT count(*) FROM chatanswer") == [(0,)]
    hits = search(database, query="Article 5 NATO", scope=555)
    assert [(h.kind, h.id) for h in hits][:1] == [(ARTICLE, 1)]  # the article itself, by its heading
    assert [h.id for h in search(database, query="armed attack", scope=None)] != []  # the texts are still indexed
    database.dispose()
