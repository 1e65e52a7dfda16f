"""One bot, two processes, one database (issue #12): shards split between processes, everything once.

Two real OS processes (tests/shard_child.py), each the real bot with SHARD_COUNT=2 in its own
simcord holding the same four servers (pinned ids; servers 0 and 2 on shard 0, 1 and 3 on shard 1),
share one database: the test's own PostgreSQL scratch database, and one SQLite file. Each server
has a daily digest at 00:10 UTC and subscribes to one feed URL (a local HTTP server in the test's
event loop that grows by three entries a round), through the process that has its shard; the
library also watches a second URL, added from the CLI. The two virtual clocks move a minute at a
time together (each step a tick of the digest scheduler and of the feed loop in both processes),
as two processes share real time. Checked across both processes:

- every server's digest is sent once, by the process of its shard;
- every feed entry is announced once per server, by the process of its shard; the shared URL is
  fetched at most once a minute (by whichever process has a subscriber and wins its lease); the
  CLI's URL is polled by shard 0's process only;
- every thread message is stored once: in "split" each process opens its servers' threads; in
  "overlap" the messages of shard 1's servers reach both processes, with the same ids;
- SIGTERM ends both processes with exit code 0.

"overlap" is the moment a shard moves: the old process still runs shards 0 and 1 while the new one
already runs shard 1. Both see servers 1 and 3, and the leases still make it once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
from collections import Counter

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.models import Comment, CommentOrigin, DigestRun
from bot.services import digest as digest_service
from bot.services import feeds as feed_service

from .feed_servers import feed_server  # noqa: F401  (fixture)
from .helpers import ROOT, add_post
from .shard_child import EPOCH, GUILDS, REPORT, channel_id
from .test_feeds_two_processes import feed_of

ROUNDS = 2
REPLIES = 40  # thread messages per server
LAYOUTS = {"split": ("0", "1"), "overlap": ("0,1", "1")}
SHARD = {guild: i % 2 for i, guild in enumerate(GUILDS)}


class Child:
    """One bot process; `ask` sends a command and waits for its report."""

    def __init__(self, process: asyncio.subprocess.Process, shards: str) -> None:
        self.process = process
        self.shards = {int(s) for s in shards.split(",")}

    @classmethod
    async def spawn(cls, database_url: str, shards: str, log) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.shard_child", database_url, shards, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return cls(process, shards)

    async def ask(self, command: str) -> dict:
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), 90)
            if not line:
                raise AssertionError(f"the bot process (shards {self.shards}) exited ({await self.process.wait()}) without answering")
            if line.startswith(REPORT.encode()):
                return json.loads(line[len(REPORT):])

    async def terminate(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


def prepare(db: Database, feed_url: str) -> int:
    """Posts, a digest per server, and the CLI's feed; returns the post to discuss."""
    loaded = EPOCH - dt.timedelta(hours=1)
    post_id = add_post(db, "The summit, day one", now=loaded)
    for title in ("The summit, day two", "The communiqué"):
        add_post(db, title, now=loaded)
    for index, guild_id in enumerate(GUILDS):
        digest_service.set_subscription(
            db, guild_id=guild_id, channel_id=channel_id(index, "digest"), time=dt.time(0, 10), timezone="UTC", quiet=True,
            now=EPOCH - dt.timedelta(days=1),
        )
    # Due from 00:00:30 on: after the bots' first feed tick at start-up, so each poll is in a report.
    feed_service.add_feed(db, url=feed_url, guild_id=None, channel_id=None, interval_minutes=15, now=EPOCH + dt.timedelta(seconds=30))
    return post_id


def by_kind(reports: list[tuple[Child, dict]], kind: str) -> list[tuple[set[int], int, list[str]]]:
    """(shards of the process that posted it, guild, embed titles) of every message of one kind posted."""
    return [(child.shards, guild, titles) for child, report in reports for guild, k, titles in report["posted"] if k == kind]


def stored_replies(db: Database) -> list[tuple[int, int]]:
    with db.session() as session:
        rows = session.execute(select(Comment.discord_guild_id, Comment.discord_message_id).where(Comment.origin == CommentOrigin.DISCORD))
        return [(g, m) for g, m in rows]


@pytest.mark.parametrize("layout", list(LAYOUTS))
async def test_two_processes_of_one_bot_send_every_digest_announcement_and_reply_once(database_url, feed_server, tmp_path, layout):  # noqa: F811
    db = Database(database_url)
    db.upgrade()
    shared, library = feed_server.url("/feed.xml"), feed_server.url("/lm.xml")
    titles = ["The summit is announced", "Delegations arrive", "The agenda is published"]
    feed_server.set_body(feed_of(titles), EPOCH)
    post_id = prepare(db, library)
    with open(tmp_path / "a.log", "wb") as log_a, open(tmp_path / "b.log", "wb") as log_b:
        first = await Child.spawn(database_url, LAYOUTS[layout][0], log_a)
        second = await Child.spawn(database_url, LAYOUTS[layout][1], log_b)
    children = (first, second)
    reports: list[tuple[Child, dict]] = []
    try:
        ready = [await child.ask("start") for child in children]  # one after the other: each syncs its commands
        assert [set(r["guilds"]) for r in ready] == [{g for g in GUILDS if SHARD[g] in c.shards} for c in children]
        for index, guild in enumerate(GUILDS):  # each server subscribes through the process that has its shard
            owner = second if SHARD[guild] in second.shards else first
            added = await owner.ask(f"add {index} {shared}")
            assert "Now watching" in added["added"] and "3 new" in added["added"], added
            reports.append((owner, added))
        announced: list[str] = []
        minute = 0
        for number in range(1, ROUNDS + 1):  # a round: three new entries, then 16 minutes
            new = [f"Round {number} brings entry {n}" for n in range(3)]
            titles[:0] = new
            announced += new
            feed_server.set_body(feed_of(titles), EPOCH + dt.timedelta(minutes=minute))
            for minute in range(minute + 1, minute + 17):
                # Both clocks move a minute together: the processes share one time, as they would.
                before = feed_server.hits.get("/feed.xml", 0)
                step = await asyncio.gather(*(child.ask(f"tick {60 * minute}") for child in children))
                reports += zip(children, step)
                assert feed_server.hits.get("/feed.xml", 0) - before <= 1, f"minute {minute}: the shared URL was fetched twice"
        if layout == "split":  # at different moments, so the two simcords hand out different message ids
            for child, at in zip(children, (60 * minute + 20, 60 * minute + 40)):
                reports.append((child, await child.ask(f"discuss {post_id} {REPLIES} {at}")))
        else:  # both processes run shard 1: its servers' thread messages reach both, with the same ids
            discussed = await first.ask(f"discuss {post_id} {REPLIES} {60 * minute + 20}")
            reports.append((first, discussed))
            mirrored = await second.ask("mirror " + json.dumps(discussed["threads"], separators=(",", ":")))
            reports.append((second, mirrored | {"messages": []}))
        codes = [await child.terminate() for child in children]
    finally:
        for child in children:
            if child.process.returncode is None:
                child.process.kill()
                await child.process.wait()
    logs = "\n".join(f"--- {name}:\n" + (tmp_path / name).read_text(errors="replace")[-3000:] for name in ("a.log", "b.log"))
    assert codes == [0, 0], logs
    for name in ("a.log", "b.log"):  # nothing failed on the way, not even a duplicate write retried
        text = (tmp_path / name).read_text(errors="replace")
        assert "ERROR" not in text and "Traceback" not in text, f"--- {name}:\n{text[-3000:]}"

    # Every server's digest: once, by the process of its shard.
    digests = by_kind(reports, "digest")
    assert Counter(guild for _s, guild, _t in digests) == Counter(GUILDS), digests
    assert all(SHARD[guild] in shards and titles[0].startswith("Daily digest") for shards, guild, titles in digests), digests
    with db.session() as session:
        today = select(DigestRun.guild_id, DigestRun.status, DigestRun.attempts).where(DigestRun.local_date == EPOCH.date())
        runs = [tuple(row) for row in session.execute(today)]
    assert sorted(runs) == sorted((g, "sent", 1) for g in GUILDS)

    # Every entry: announced once per server, by the process of its shard.
    news = by_kind(reports, "news")
    for guild in GUILDS:
        told = Counter(title for _s, g, titles in news if g == guild for title in titles)
        assert told == Counter(announced), f"server {GUILDS.index(guild)} was told {dict(told)}"
    assert all(SHARD[guild] in shards for shards, guild, _t in news)
    # The library's URL (CLI, no server): polled by the process with shard 0, once a round.
    polled = [(child.shards, url) for child, report in reports for url, guild in report["fetched"] if guild is None]
    assert polled and all(url == library and 0 in shards for shards, url in polled), polled
    assert feed_server.hits["/lm.xml"] == len(polled) == 1 + (16 * ROUNDS - 1) // 15  # every 15 minutes from 00:01

    # Every thread message: stored once, in its server (in "overlap" shard 1's reached both processes).
    sent = [m for _c, report in reports for m in report.get("messages", [])]
    assert len(sent) == len(set(sent)) == REPLIES * len(GUILDS)
    stored = stored_replies(db)
    assert sorted(m for _g, m in stored) == sorted(sent)
    assert Counter(g for g, _m in stored) == Counter({g: REPLIES for g in GUILDS})
    if layout == "overlap":
        on_shard_1 = [m for index, _t, ids in discussed["threads"] if SHARD[GUILDS[index]] == 1 for m in ids]
        assert sorted(mirrored["messages"]) == sorted(on_shard_1) and mirrored["captured"] == REPLIES * 2
    db.dispose()
