"""Graceful shutdown (issue #12): SIGTERM during a burst stores every message; work in flight finishes.

The SIGTERM test runs the real bot in its own OS process (tests/shutdown_child.py, its own simcord,
the signal handlers `postbot run` installs) on SQLite and on the test's PostgreSQL database. While
the burst arrives the test holds the database's write lock, so at the moment of the signal not
one of the 1,000 messages is stored yet: they are all in the comment writer's queue. The process
must keep them through the shutdown, write them once the lock is gone, and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import select
import signal
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, select as query, text
from sqlalchemy.engine import make_url

from bot import Settings
from bot.client import RESTARTING
from bot.db import Database
from bot.models import Comment, CommentOrigin, DigestRun
from bot.services import digest as digest_service

from .helpers import ROOT, World, shown

BURST = 1000
CHILD_TIMEOUT = 60


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url)


def stored_messages(url: str) -> list[int]:
    """The Discord message ids stored as comments."""
    database = Database(url)
    try:
        with database.session() as session:
            found = query(Comment.discord_message_id).where(Comment.origin == CommentOrigin.DISCORD)
            return list(session.execute(found).scalars())
    finally:
        database.dispose()


@contextlib.contextmanager
def write_lock(url: str):
    """Hold the database's write lock on the comments (SQLite: the whole file) until the block ends."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(text("LOCK TABLE comment IN EXCLUSIVE MODE"))  # reads go on, writes wait
        try:
            yield
        finally:
            connection.rollback()
    engine.dispose()


def read_line(child: subprocess.Popen, log) -> str:
    """The child's next line, or what became of it (with the end of its log)."""
    ready, _, _ = select.select([child.stdout], [], [], CHILD_TIMEOUT)
    line = child.stdout.readline().decode().strip() if ready else ""
    if line:
        return line
    state = f"exited {child.poll()}" if child.poll() is not None else "said nothing"
    return f"(the child {state}; its log ends:)\n{log.read_text(errors='replace')[-4000:]}"


async def test_sigterm_during_a_burst_of_thread_messages_stores_all_of_them(database_url, tmp_path):
    Database(database_url).upgrade()  # the child finds the schema current (SQLite: the file exists)
    log = tmp_path / "child.log"
    with open(log, "wb") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.shutdown_child", database_url, str(BURST)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        line = read_line(child, log)
        assert line.startswith("READY "), line
        with write_lock(database_url):
            child.stdin.write(b"burst\n")
            child.stdin.flush()
            line = read_line(child, log)
            assert line == f"SENT {BURST}", line
            await asyncio.sleep(0.5)  # the writer takes its first batch and waits for the lock
            assert stored_messages(database_url) == []
            child.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            assert child.poll() is None, "the bot exited while its comments were still queued"
        assert child.wait(timeout=CHILD_TIMEOUT) == 0, log.read_text(errors="replace")[-4000:]
        assert child.stdout.read().decode().split() == ["CLOSED"]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stdin.close()
    stored = stored_messages(database_url)
    assert len(stored) == BURST and len(set(stored)) == BURST
    messages = log.read_text(errors="replace")
    assert "SIGTERM: shutting down" in messages and "Traceback" not in messages, messages[-4000:]


# --------------------------------------------------------------------------- in one process


async def test_a_shutdown_lets_the_digest_tick_in_flight_finish_and_refuses_new_commands(simcord_env):
    """The scheduler is sending when the shutdown starts: it finishes (the run is recorded as sent,
    not left claimed for another process to take over in 5 minutes), and a command that arrives
    meanwhile is told the bot is restarting."""
    world = World(simcord_env)
    bot = world.bot
    for i in range(3):
        world.add_post(f"Post {i}", date=simcord_env.now().date())
    digest_service.set_subscription(
        world.db, guild_id=world.guild.id, channel_id=world.channel.id, time=dt.time(0, 2), timezone="UTC", quiet=True,
        now=simcord_env.now(),
    )
    cog = bot.get_cog("Digest")
    sending = asyncio.Event()
    release = asyncio.Event()
    original = cog.deliver

    async def slow_deliver(job):  # the tick stays in flight until the test lets it go on
        sending.set()
        await simcord_env.external_wait(release.wait(), reason="the test holds the digest mid-send")
        return await original(job)

    cog.deliver = slow_deliver
    advancing = asyncio.ensure_future(simcord_env.advance_time(150))
    await asyncio.wait_for(sending.wait(), 10)
    closing = asyncio.ensure_future(bot.close())
    for _ in range(20):
        await asyncio.sleep(0)
    assert bot.stopping and not closing.done()
    release.set()
    await asyncio.wait_for(closing, 30)
    await asyncio.wait_for(advancing, 30)
    [run] = _runs(world.db)
    assert (run.status, run.attempts) == ("sent", 1)
    assert [m.embeds[0].title for m in world.channel.history()][0].startswith("Daily digest")
    assert not cog.scheduler.is_running()


async def test_commands_arriving_during_shutdown_are_told_to_retry(simcord_env):
    world = World(simcord_env)
    world.bot.stopping = True  # what the shutdown sets first
    result = await world.alice.slash(world.channel, "post list")
    assert result.ephemeral and shown(result).content == RESTARTING
    world.bot.stopping = False


def _runs(db: Database) -> list[DigestRun]:
    with db.session() as session:
        return list(session.execute(query(DigestRun)).scalars())
