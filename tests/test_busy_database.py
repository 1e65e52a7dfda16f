"""A long load beside the bot: the bot answers every command within Discord's 3 seconds.

`postbot load` runs in its own OS process on the bot's database (the same SQLite file, or the
same PostgreSQL database) and loads a large generated RSS feed while the simcord bot answers
/comment add, /post list, /search and /post show over and over. simcord's clock is virtual, so
the 3-second rule is checked here on the real clock: from the moment a command is invoked until
Discord (simcord's backend) has its first answer, a message or a deferral.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import Settings
from bot.client import APOLOGY
from bot.models import CommentOrigin
from bot.services import feeds
from bot.store.posts import count_posts, post_comments

from .helpers import ROOT, World, assert_user_error, shown

# Entries of the generated feed (110 bytes each): on SQLite enough for a load of many seconds
# (parsing, then 30 batches of 500 posts); PostgreSQL has no database-wide write lock, so fewer
# show it there (10,000 took 5.9 s until the loader kept the planner's statistics current, 3.2-3.9 s
# since). POSTBOT_BUSY_ENTRIES=150000 runs the 150k-entry feed (16.5 MB, minutes).
ENTRIES = {"sqlite": 15_000, "postgresql": 20_000}
DISCORD_LIMIT = 3.0  # seconds to the first answer
DONE_WITHIN = 15.0  # seconds until a command's answer is complete (a deferred one may take longer than 3 s)

pytestmark = pytest.mark.simcord(settle_timeout=30)


@pytest.fixture
def settings(database_url) -> Settings:
    """The bot on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    return Settings(database_url=database_url)


def big_feed(entries: int) -> bytes:
    """An RSS feed of `entries` small items ("Entry 0", ...), one a minute from 2025-01-01."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    items = "".join(
        f"<item><title>Entry {i}</title><guid>e{i}</guid><pubDate>{start + dt.timedelta(minutes=i):%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>"
        for i in range(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Long feed</title>'
        f"<link>https://example.org/</link><description>A long feed</description>{items}</channel></rss>"
    ).encode()


def start_load(path: Path, database_url: str, cwd: Path) -> subprocess.Popen:
    """`python -m bot load FILE` in its own process, on the bot's database."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "load", str(path)], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def callbacks(env, since: int) -> list:
    """The bot's first answers to interactions (message, deferral, ...) among its requests from `since` on."""
    return [r for r in env.http_requests[since:] if r.method == "POST" and r.path.endswith("/callback")]


async def timed(env, invoke) -> tuple[object, float, float]:
    """(result, seconds to the first answer, seconds to the end) of one interaction, on the real clock."""
    seen = len(env.http_requests)
    started = time.monotonic()
    task = asyncio.ensure_future(invoke())
    first = None
    while not task.done():
        if first is None and callbacks(env, seen):
            first = time.monotonic() - started
        await asyncio.sleep(0.005)
    result = await task
    done = time.monotonic() - started
    return result, (done if first is None else first), done


async def test_the_bot_answers_while_a_long_feed_loads(simcord_env, database_url, tmp_path):
    world = World(simcord_env)
    entries = int(os.environ.get("POSTBOT_BUSY_ENTRIES") or ENTRIES[world.db.dialect])
    post_id = world.add_post("Summit in a busy week")
    feed = tmp_path / "long-feed.xml"
    feed.write_bytes(big_feed(entries))
    sent: list[str] = []

    def comment_add():
        sent.append(f"Comment {len(sent)} while loading.")
        return world.alice.slash(world.channel, "comment add", post=str(post_id), text=sent[-1])

    commands = [
        comment_add,
        lambda: world.alice.slash(world.channel, "post list"),
        lambda: world.alice.slash(world.channel, "search", query="summit"),
        lambda: world.alice.slash(world.channel, "post show", post=str(post_id)),
    ]
    answered, while_storing, slowest_first, slowest_done = 0, 0, 0.0, 0.0
    started = time.monotonic()
    loader = start_load(feed, database_url, tmp_path)
    try:
        while loader.poll() is None:
            with world.db.session() as session:
                storing = 1 < count_posts(session) < entries + 1
            for command in commands:
                result, first, done = await timed(simcord_env, command)
                message = shown(result)
                assert first <= DISCORD_LIMIT, f"first answer after {first:.2f} s"
                assert done <= DONE_WITHIN, f"answer complete after {done:.2f} s"
                assert message.content != APOLOGY and "locked" not in (message.content or ""), message.content
                assert message.content or message.embeds, result
                slowest_first, slowest_done = max(slowest_first, first), max(slowest_done, done)
                answered += 1
                while_storing += storing
    finally:
        if loader.poll() is None:
            loader.kill()
        out, err = loader.communicate()
    print(
        f"load of {entries} entries: {time.monotonic() - started:.1f} s; {answered} commands, {while_storing} while it stored; "
        f"slowest first answer {slowest_first:.2f} s, slowest complete answer {slowest_done:.2f} s"
    )

    assert loader.returncode == 0, err
    assert f"{entries} loaded, 0 updated, 0 unchanged, 0 failed" in out
    assert not simcord_env.errors, simcord_env.errors
    assert while_storing >= 20, f"only {while_storing} commands ran while the feed was being stored"
    with world.db.session() as session:
        assert count_posts(session) == entries + 1
        stored = [c.text for c in post_comments(session, post_id=post_id, scope=None) if c.origin == CommentOrigin.DISCORD]
    assert stored == sent


DEFERRED = 5  # interaction callback types: a command's deferral ("thinking..."),
DEFERRED_UPDATE = 6  # and a component's (the message is edited afterwards)


async def first_callback(env, invoke) -> tuple[object, int]:
    """The interaction's result and how the bot first answered it (the callback's type)."""
    seen = len(env.http_requests)
    result = await invoke()
    return result, callbacks(env, seen)[0].json["type"]


async def test_commands_that_write_defer_first(simcord_env):
    """Each command that writes acknowledges before it touches the database (it may wait there for
    a load's batch), answers in its follow-up, and still tells a member's mistake only to him."""
    world = World(simcord_env)
    post_id = world.add_post("Summit in a busy week")
    admin, channel = world.admin, world.channel
    message = await world.alice.send(channel, "Worth keeping.")
    feed, _ = await world.db.call(
        feeds.add_feed, url="https://example.org/feed.xml", guild_id=world.guild.id, channel_id=None, interval_minutes=60, now=simcord_env.now()
    )
    invocations = {
        "/comment add": (lambda: admin.slash(channel, "comment add", post=str(post_id), text="Well said."), "Saved as comment #"),
        "Save as comment": (lambda: admin.context_menu(channel, "Save as comment", message), "Which post"),
        "/comment remove": (lambda: admin.slash(channel, "comment remove", comment=1), "Removed comment #1"),
        "/discussion mode": (lambda: admin.slash(channel, "discussion mode", mode="request"), "only on request"),
        "/digest setup": (lambda: admin.slash(channel, "digest setup", channel=channel, time="08:00", timezone="UTC"), "Daily digest set"),
        "/digest off": (lambda: admin.slash(channel, "digest off"), "Daily digest stopped"),
        "/feed remove": (lambda: admin.slash(channel, "feed remove", feed=str(feed.id)), "Stopped watching"),
    }
    results = {}
    for name, (invoke, said) in invocations.items():
        results[name], first = await first_callback(simcord_env, invoke)
        assert first == DEFERRED and results[name].ephemeral, name
        assert said in shown(results[name]).content, (name, shown(results[name]).content)
    picker = shown(results["Save as comment"])
    picked, first = await first_callback(simcord_env, lambda: admin.select(picker, [str(post_id)]))
    assert first == DEFERRED_UPDATE and "Saved as comment #" in shown(picked).content, shown(picked).content
    missing, first = await first_callback(simcord_env, lambda: world.bob.slash(channel, "comment remove", comment=99))
    assert first == DEFERRED
    assert_user_error(simcord_env, missing, "There is no comment #99")
    nothing, first = await first_callback(simcord_env, lambda: admin.slash(channel, "digest off"))
    assert first == DEFERRED
    assert_user_error(simcord_env, nothing, "has no daily digest")
