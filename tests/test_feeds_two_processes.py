"""Two bot processes polling one feed (issue #10, item 3) on one database (PostgreSQL, SQLite).

Each child below runs the real bot in simcord with the same two servers (same guild and channel
ids), both watching one feed that a local HTTP server (127.0.0.1, in the test's event loop) grows
by three entries a round. The test moves both virtual clocks to the same moment, lets both poll
at once, and collects what each announced: every new entry is announced exactly once per server
across both processes, the URL is fetched once a round, and no poll is a failure.

Run as `python -m tests.test_feeds_two_processes DATABASE_URL FEED_URL` it is one child: it reads
commands on stdin (`start`, `add N`, `tick SECONDS`, `quit`) and answers each with one `REPORT {json}` line.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
from collections import Counter

from .feed_servers import feed_server  # noqa: F401  (fixtures)
from .helpers import ROOT

GUILDS = (900000000000000001, 900000000000000002)  # the same ids in both processes
ROUNDS = 10
NEW_PER_ROUND = 3
REPORT = "REPORT "
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # simcord's clock starts here
BACKLOG = ("The summit is announced", "Delegations arrive", "The agenda is published")


def feed_of(titles: list[str]) -> bytes:
    """A small RSS feed with these entries, newest first."""
    items = "".join(
        f"<item><title>{t}</title><link>https://example.org/{t.lower().replace(' ', '-')}</link>"
        f"<pubDate>Thu, 01 Feb 2018 10:00:00 GMT</pubDate><description>{t}: what happened today.</description></item>"
        for t in titles
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Summit news</title>{items}</channel></rss>'.encode()


# --------------------------------------------------------------------------- the child: one bot


async def child(database_url: str, feed_url: str) -> None:
    import discord  # noqa: PLC0415
    import simcord  # noqa: PLC0415

    from bot import Settings, create_bot  # noqa: PLC0415

    from .helpers import released  # noqa: PLC0415

    commands = _lines()
    await anext(commands)  # "start": the processes start their bots one after the other (each syncs its commands)
    bot = create_bot(Settings(database_url=database_url, feed_allow_private_hosts="127.0.0.1"))
    # The second process finds the commands synced already (as Discord would remember them); each
    # simcord is a fresh Discord, so it registers them itself (strict_sync off).
    async with released(bot), simcord.run(bot, strict_sync=False, shard_count=1) as env:
        cog = bot.get_cog("Feeds")
        cog.poll_loop.cancel()  # the test says when to tick; a tick is what the loop runs
        await env.advance_time((EPOCH + dt.timedelta(seconds=5) - env.now()).total_seconds())
        servers = []  # made at the same virtual moment in both processes, so their snowflakes agree
        for guild_id in GUILDS:
            guild = env.create_guild(name=f"server {guild_id % 10}", id=guild_id)
            channel = guild.create_text_channel("general")
            admins = guild.create_role("admins", permissions=discord.Permissions(manage_guild=True))
            admin = guild.add_member(env.create_user(f"ada{guild_id % 10}"), roles=[admins])
            servers.append((guild, channel, admin))
        channels = {channel.id: guild.id for guild, channel, _admin in servers}
        seen = 0

        def said() -> list[list]:
            """What the bot posted in the servers' channels since last asked: [guild id, title or text]."""
            nonlocal seen
            posted = [r for r in env.http_requests[seen:] if r.method == "POST" and r.path.endswith("/messages")]
            seen = len(env.http_requests)
            out = []
            for request in posted:
                channel_id = int(request.path.split("/")[2])
                embeds = request.json.get("embeds") or []  # new entries come batched, a card each
                out.extend([channels.get(channel_id), e.get("title")] for e in embeds)
                if not embeds:
                    out.append([channels.get(channel_id), request.json.get("content")])
            return out

        print(REPORT + json.dumps({"ready": [[g.id, c.id] for g, c, _a in servers]}), flush=True)
        async for line in commands:
            command, _, argument = line.partition(" ")
            if command == "add":
                guild, channel, admin = servers[int(argument)]
                added = await admin.slash(channel, "feed add", url=feed_url, channel=channel)
                text = (added.response or added.followups[0]).content
                answer = {"added": text, "announced": said()}
            elif command == "tick":
                target = EPOCH + dt.timedelta(seconds=float(argument))
                await env.advance_time((target - env.now()).total_seconds())
                results = await cog.poll_due()
                await env.settle()
                answer = {
                    "results": [[r.feed and r.feed.guild_id, r.ok, r.status] for r in results],
                    "announced": said(),
                }
            else:
                break
            print(REPORT + json.dumps(answer), flush=True)


async def _lines():
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        yield line.strip()


# --------------------------------------------------------------------------- the test: two of them


class Child:
    """One bot process; `ask` sends a command and waits for its report."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def spawn(cls, database_url: str, feed_url: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.test_feeds_two_processes", database_url, feed_url, cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return cls(process)

    async def report(self) -> dict:
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), 60)
            if not line:
                raise AssertionError(f"the bot process exited ({await self.process.wait()}) without answering")
            if line.startswith(REPORT.encode()):
                return json.loads(line[len(REPORT):])

    async def ask(self, command: str) -> dict:
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        return await self.report()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.process.stdin.write(b"quit\n")
            await self.process.stdin.drain()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def round_problems(number: int, new: list[str], fetched: int, reports: list[dict]) -> list[str]:
    """What went wrong in one round, as readable lines (none: each server told of each entry once)."""
    problems = [f"round {number}: the feed was fetched {fetched} times"] if fetched != 1 else []
    for guild in GUILDS:
        told = Counter(title for report in reports for g, title in report["announced"] if g == guild)
        if told != Counter(new):
            doubled = sorted(t for t, n in told.items() if n > 1)
            missing = sorted(set(new) - set(told))
            problems.append(f"round {number}, server {guild % 10}: announced twice {doubled}, never {missing}, all {dict(told)}")
    for report in reports:
        problems += [f"round {number}: a poll failed: {status}" for _g, ok, status in report["results"] if not ok]
    return problems


async def test_two_processes_polling_one_feed_fetch_it_once_and_announce_each_entry_once(database_url, feed_server):
    """On the test's own PostgreSQL database (skipped without TEST_DATABASE_URL), and on one SQLite file."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    url = feed_server.url("/feed.xml")
    feed_server.set_body(feed_of(list(BACKLOG)), EPOCH)
    first, second = [await Child.spawn(database_url, url) for _ in "ab"]
    problems: list[str] = []
    try:
        ready = [await first.ask("start"), await second.ask("start")]
        assert ready[0] == ready[1]  # the same guild and channel ids in both processes
        added = [await first.ask("add 0"), await second.ask("add 1")]  # each server subscribes through another bot
        assert [a["announced"] for a in added] == [[], []]
        assert all("First check: ok: 3 new, 0 updated, 0 unchanged" in a["added"] for a in added), added
        titles = list(BACKLOG)
        for number in range(1, ROUNDS + 1):
            new = [f"Round {number} brings entry {n}" for n in range(NEW_PER_ROUND)]
            titles[:0] = new
            feed_server.set_body(feed_of(titles), EPOCH + dt.timedelta(seconds=930 * number))
            before = feed_server.hits["/feed.xml"]
            moment = f"tick {30 + 930 * number}"  # both clocks at the same moment, a poll interval on
            reports = await asyncio.gather(first.ask(moment), second.ask(moment))
            problems += round_problems(number, new, feed_server.hits["/feed.xml"] - before, reports)
    finally:
        await asyncio.gather(first.stop(), second.stop())
    engine = create_engine(database_url)
    with engine.connect() as connection:
        [(failures, error, leased)] = connection.execute(text("SELECT failures, last_error, lease_until FROM feedsource"))
        waiting = connection.execute(text("SELECT count(*) FROM feedentry WHERE state <> 'seen' AND state <> 'sent'"))
        unsent = waiting.scalar_one()
    engine.dispose()
    assert problems == [], "\n".join(problems)
    assert (failures, error, leased, unsent) == (0, None, None, 0)


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1], sys.argv[2]))
