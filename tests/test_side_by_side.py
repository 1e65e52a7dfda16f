"""One use case's read-only parts on connections side by side (`Database.side_by_side`), as /search
ranks posts beside comments: at the same time, each on its own connection, never deadlocked by a
small pool, and an error in one part is the call's error once every part is done.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from bot.db import Database
from bot.services.search import search

from .test_search_newest import GUILD, store


def connection_of(session) -> int:
    """Which connection a session is on: the server's backend on PostgreSQL, the driver's on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(text("SELECT pg_backend_pid()")).scalar()
    return id(session.connection().connection.dbapi_connection)


def test_parts_run_at_the_same_time_each_on_its_own_connection(db):
    both_running = threading.Barrier(2, timeout=10)  # broken (an error) if one part ran after the other

    def part(n):
        def run(session):
            connection = connection_of(session)  # held from here until the part returns
            both_running.wait()
            return n, connection

        return run

    [(first, a), (second, b)] = db.side_by_side(part(1), part(2))
    assert (first, second) == (1, 2) and a != b


def test_in_a_single_connection_store_the_parts_run_one_after_another():
    db = Database("sqlite://")
    try:
        names = db.side_by_side(*(lambda session: threading.current_thread().name for _ in range(3)))
    finally:
        db.dispose()
    assert names == [threading.current_thread().name] * 3


def test_a_failing_part_is_the_calls_error_after_the_others_finished(db):
    finished = []

    def slow(session):
        time.sleep(0.2)
        finished.append("slow")

    def failing(session):
        raise ValueError("part two failed")

    with pytest.raises(ValueError, match="part two failed"):
        db.side_by_side(failing, slow)
    assert finished == ["slow"]


def test_searches_on_a_one_connection_pool_all_finish(postgres_url):
    """Each search ranks on two connections at once; eight at a time share one. A caller that held
    its connection while waiting for its other part would wait for itself (the pool's timeout)."""
    db = Database(postgres_url, pool_size=1)
    try:
        made = store(db, 12, word_at={3, 6, 9, 10, 11}, comment_at={4, 10})
        expected = {made[i][0] for i in (10, 9, 6, 4, 3)}  # GUILD's and the library's; 11 is OTHER's
        with ThreadPoolExecutor(8) as searches:
            found = list(searches.map(lambda _: {h.post_id for h in search(db, scope=GUILD, query="herring")}, range(8)))
    finally:
        db.dispose()
    assert found == [expected] * 8
