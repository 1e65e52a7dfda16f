"""Search ranks the newest matches a viewer sees (bot/store/search.py), however they are found.

On PostgreSQL the newest matches are read above a floor id that is lowered until there are enough
(`_pg_recent`, served by migration 0011's index): the tries are made tiny here, so a few dozen
posts take every path - enough at the first floor, a lower floor, and past the last one every
match. The expectation is worked out from what was stored, never from the search code.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

import bot.store.search as search_module
from bot.ingest.posts import ParsedComment, ParsedPost
from bot.services.loading import post_row
from bot.services.search import search
from bot.store.posts import upsert_posts
from bot.store.search import COMMENT, POST

from .helpers import NOW

GUILD, OTHER, LIBRARY = 7001, 7002, 0


def store(db, n: int, *, word_at: set[int], comment_at: set[int] = frozenset()) -> dict[int, int]:
    """Posts 0..n-1, loaded in that order, in the library, GUILD and OTHER by turns; post i says
    "herring" when i is in `word_at`, and its comment does when i is in `comment_at`. -> {i: (id, scope)}."""
    made = {}
    for i in range(n):
        scope = (LIBRARY, GUILD, OTHER)[i % 3]
        body = f"Market report {i}: prices of {'herring and ' if i in word_at else ''}cod this week."
        comment = "Too many herring." if i in comment_at else "Cod again."
        parsed = ParsedPost(
            date=dt.date(2024, 6, 1), title=f"Report {i}", headline=None, source="RT", body=body, truncated=False,
            comments=[ParsedComment(author="reader", text=comment, position=0)], link=None, entry_id=None,
        )
        with db.session() as session:
            _, post_id = upsert_posts(session, rows=[post_row(parsed, loaded_from=f"test/{i}", scope=scope)], now=NOW + dt.timedelta(seconds=i))[0]
        made[i] = (post_id, scope)
    return made


@pytest.fixture
def tiny_tries(monkeypatch):
    monkeypatch.setattr(search_module, "RANKED_PER_KIND", 4)
    monkeypatch.setattr(search_module, "FIRST_BAND", 3)
    monkeypatch.setattr(search_module, "LAST_BAND", 12)


@pytest.mark.parametrize(
    "word_at",
    [
        set(range(60)),  # every post: the first floor has enough
        set(range(0, 60, 4)),  # one in four: lower floors
        {1, 4, 7, 10, 13},  # only old posts: past the last floor, every match
        set(),
    ],
    ids=["dense", "sparse", "old", "none"],
)
def test_the_newest_matches_the_viewer_sees_are_ranked(db, tiny_tries, word_at):
    made = store(db, 60, word_at=word_at)
    visible = [i for i in sorted(word_at, reverse=True) if made[i][1] in (LIBRARY, GUILD)]
    hits = search(db, scope=GUILD, query="herring")
    assert {h.id for h in hits if h.kind == POST} == {made[i][0] for i in visible[:4]}
    unscoped = [i for i in sorted(word_at, reverse=True)]
    assert {h.id for h in search(db, scope=None, query="herring") if h.kind == POST} == {made[i][0] for i in unscoped[:4]}


@pytest.mark.parametrize("enough, expected", [(2, [58, 50]), (3, [58, 50, 20, 5])], ids=["enough-in-the-last-band", "short-every-match"])
def test_a_sparse_words_matches_in_the_newest_rows_are_ranked_when_enough(postgres_url, tiny_tries, monkeypatch, enough, expected):
    """PostgreSQL's search is bounded in time: the newest LAST_BAND (12) rows hold posts 50 and 58 of
    the word's four; two are enough here, so the older 20 and 5 are not read. With three needed,
    every match is."""
    from bot.db import Database

    monkeypatch.setattr(search_module, "ENOUGH_IN_LAST_BAND", enough)
    db = Database(postgres_url)
    try:
        made = store(db, 60, word_at={5, 20, 50, 58})
        hits = search(db, scope=None, query="herring")
    finally:
        db.dispose()
    assert {h.id for h in hits if h.kind == POST} == {made[i][0] for i in expected}


def test_comments_too(db, tiny_tries):
    made = store(db, 45, word_at=set(), comment_at={2, 5, 10, 20, 31, 40, 43, 44})
    hits = search(db, scope=GUILD, query="herring")
    assert [h.kind for h in hits] == [COMMENT] * 4
    assert {h.post_id for h in hits} == {made[i][0] for i in (43, 40, 31, 10)}  # 44 is OTHER's, 20 and 5 too


def test_postgresql_answers_from_the_newest_index(postgres_url):
    """Migration 0011 put the newest-matches index in place of the plain one (btree_gin is there)."""
    from bot.db import Database

    db = Database(postgres_url)
    db.upgrade()
    with db.engine.connect() as connection:
        names = set(connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename IN ('post', 'comment')")).scalars())
    db.dispose()
    assert {"ix_post_search_newest", "ix_comment_search_newest"} <= names
    assert not {"ix_post_search", "ix_comment_search"} & names


def test_without_btree_gin_the_upgrade_keeps_the_plain_indexes_and_says_why(caplog):
    """A role that may not create extensions (no CREATE on its database): the upgrade completes,
    logs why once, keeps the plain GIN indexes, and search finds the newest matches all the same."""
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from bot.db import Database

    from .helpers import postgres_admin_url

    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("TEST_DATABASE_URL not set")
    role, name = f"postbot_noext_{uuid.uuid4().hex[:8]}", f"postbot_noext_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    inside = create_engine(make_url(admin_url).set(database=name), isolation_level="AUTOCOMMIT")
    with inside.connect() as connection:
        connection.execute(text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"'))
    inside.dispose()
    db = Database(make_url(admin_url).set(database=name, username=role, password=None).render_as_string(hide_password=False))
    try:
        with caplog.at_level("WARNING", logger="bot.migrations"):
            db.upgrade()
        [warning] = [r for r in caplog.records if "btree_gin" in r.getMessage()]
        assert "search keeps its plain GIN indexes" in warning.getMessage()
        with db.engine.connect() as connection:
            names = set(connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename IN ('post', 'comment')")).scalars())
        assert {"ix_post_search", "ix_comment_search"} <= names and "ix_post_search_newest" not in names
        made = store(db, 12, word_at={3, 6, 9, 10, 11})
        assert {h.id for h in search(db, scope=GUILD, query="herring")} == {made[i][0] for i in (10, 9, 6, 3)}  # 11 is OTHER's
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
