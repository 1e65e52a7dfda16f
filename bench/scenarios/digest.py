"""Scenario 3, digest: building + rendering a big digest, and the scheduler fanning out to many channels.

(a) build: `bot.services.digest.build_digest` over a window holding 1,000 new posts (of a
    generated 2k-post store), then `bot.render.digest.digest_messages` - median of several runs after a
    warm-up. Target <= 1 s.
(b) scheduler: S channels subscribed for the same minute, a few new posts, the real bot in
    simcord; the virtual clock is moved past the digest time and the scheduler loop sends.
    Counted from `env.http_requests`: message POSTs per channel (every channel exactly once, none
    twice, also after a further two minutes of ticks). simcord does not model Discord's global
    rate limit (50 requests/s), and sending takes no virtual time, so the figure is the bot's own
    production rate in wall-clock time: requests/s the bot can issue. At >= 45/s (90% of the
    limit) the bot can keep the limit busy; above 50/s it relies on discord.py's 429 handling
    (which waits out a global limit) - it does not pace itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.framework import Context, Row, console, fmt_count, not_available
from bench.generate import cached_sqlite_store

GLOBAL_LIMIT = 50.0
MESSAGE_POST = re.compile(r"/channels/(\d+)/messages$")


def run(ctx: Context) -> list[Row]:
    try:
        from bot.render.digest import digest_messages  # noqa: F401
        from bot.services import digest as service  # noqa: F401
    except ImportError as exc:
        return [
            not_available("digest", "build + render", str(exc), "<= 1 s"),
            not_available("digest", "scheduler send rate", str(exc), f">= {0.9 * GLOBAL_LIMIT:g} req/s, none twice"),
        ]
    rows = [build_row(ctx)]
    with tempfile.TemporaryDirectory(prefix="postbot-bench-digest-") as tmp:
        rows += asyncio.run(scheduler_rows(ctx, Path(tmp)))
    return rows


def build_row(ctx: Context) -> Row:
    from bot.db import Database
    from bot.render.digest import digest_messages
    from bot.services.digest import build_digest

    new = ctx.size(1000, 1000)
    path, _ = cached_sqlite_store(2000, ctx.seed)
    database = Database(f"sqlite:///{path}")
    # bench.generate loads post i at 2025-01-01 + i seconds: a window of `new` posts.
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=500)
    until = start + dt.timedelta(seconds=new)
    times, messages, posts = [], 0, 0
    for i in range(ctx.size(7, 3) + 1):
        started = time.perf_counter()
        with database.session() as session:
            digest = build_digest(session, since=start, until=until, local_date=until.date(), timezone="UTC", scope=None)
        rendered = digest_messages(digest)
        if i:  # the first run warms caches and is excluded
            times.append(time.perf_counter() - started)
        messages, posts = len(rendered), len(digest.posts)
    database.dispose()
    if posts != new:
        raise RuntimeError(f"digest window held {posts} posts, expected {new}")
    median = statistics.median(times)
    return Row(
        "digest",
        "build + render",
        f"{fmt_count(new)} new posts",
        median,
        "s",
        "<= 1 s",
        median <= 1.0,
        note=f"median of {len(times)}, max {max(times):.2f} s; {messages} messages",
        extra={"runs": times},
    )


async def scheduler_rows(ctx: Context, tmp: Path) -> list[Row]:
    import simcord
    from sqlalchemy import insert

    from bot import Settings, create_bot
    from bot.models import DigestSubscription, Post

    channels_n = ctx.size(10_000, 200)
    per_guild = 500  # Discord's channel limit per server
    url = f"sqlite:///{tmp / 'digest.db'}"
    bot = create_bot(Settings(database_url=url))
    console.print(f"  scheduler: {channels_n:,} subscribed channels ...")
    # Sending 10,000 digests takes tens of seconds of wall time inside one advance_time.
    async with simcord.run(bot, settle_timeout=600) as env:
        now = env.now()
        # The digest fires at the next whole hour (+ a minute's margin), local UTC.
        fire = (now + dt.timedelta(hours=1, minutes=1)).replace(minute=0, second=0, microsecond=0)
        if fire - now < dt.timedelta(minutes=3):
            fire += dt.timedelta(hours=1)
        channel_ids = []
        guild_ids = []
        started = time.perf_counter()
        for g in range((channels_n + per_guild - 1) // per_guild):
            guild = env.create_guild(name=f"bench {g}")
            for c in range(min(per_guild, channels_n - g * per_guild)):
                channel = guild.create_text_channel(f"digest-{c}")
                channel_ids.append(channel.id)
                guild_ids.append(guild.id)
        setup_channels = time.perf_counter() - started
        created = now - dt.timedelta(days=1)
        with bot.database.session() as session:
            session.execute(
                insert(DigestSubscription),
                [
                    {"guild_id": g, "channel_id": c, "time": f"{fire:%H:%M}", "timezone": "UTC", "quiet": True, "created_at": created}
                    for g, c in zip(guild_ids, channel_ids)
                ],
            )
            for i in range(5):
                loaded = now - dt.timedelta(hours=2, minutes=i)
                session.execute(
                    insert(Post).values(
                        key=f"bench:digest:{i}", date=loaded.date(), title=f"Digest benchmark post {i}", body="Article 5 matters. " * 40,
                        truncated=False, labels="", loaded_from="bench", content_hash=f"bench{i}", loaded_at=loaded, updated_at=loaded,
                    )
                )
        console.print(f"    channels created in {setup_channels:.1f} s (setup); advancing the clock to {fire:%H:%M} UTC")
        first = len(env.http_requests)
        stamps: list[float] = []
        requests = _TimedList(env.backend.http_requests, stamps)
        env.backend.http_requests = requests
        began = time.perf_counter()
        await env.advance_time((fire - now).total_seconds() + 1.001)
        wall = time.perf_counter() - began
        sent_log = list(requests)[first:]
        sent_stamps = list(stamps)
        await env.advance_time(120)  # two more scheduler ticks: nothing may be sent again
        after = list(requests)[first:]
    posts = Counter()
    for entry in after:
        m = MESSAGE_POST.search(entry.path)
        if entry.method == "POST" and m:
            posts[int(m.group(1))] += 1
    per_channel = Counter(posts.get(c, 0) for c in channel_ids)
    twice = sum(1 for c in channel_ids if posts.get(c, 0) > 1)
    missing = sum(1 for c in channel_ids if posts.get(c, 0) == 0)
    message_requests = sum(1 for e in sent_log if e.method == "POST" and MESSAGE_POST.search(e.path))
    span = (sent_stamps[-1] - sent_stamps[0]) if len(sent_stamps) > 1 else wall
    rate = message_requests / span if span > 0 else float("inf")
    ok = missing == 0 and twice == 0
    return [
        Row(
            "digest",
            "scheduler send rate (bot-side)",
            f"{fmt_count(channels_n)} channels due the same minute",
            rate,
            "req/s",
            f">= {0.9 * GLOBAL_LIMIT:g} req/s, all sent, none twice",
            ok and rate >= 0.9 * GLOBAL_LIMIT,
            baseline=f"global limit {GLOBAL_LIMIT:g} req/s",
            ratio=rate / GLOBAL_LIMIT,
            note=(
                f"{message_requests:,} message POSTs in {span:.1f} s wall (first to last), {missing} channels missed, "
                f"{twice} sent twice; simcord does not model the global rate limit - this is the bot's production rate, "
                f"it does not pace itself to 50/s"
            ),
            extra={"channels": channels_n, "message_posts": message_requests, "wall_seconds": wall, "span_seconds": span,
                   "missing": missing, "twice": twice, "posts_per_channel": dict(per_channel)},
        )
    ]


class _TimedList(list):
    """env.backend.http_requests with the wall-clock time of each append (simcord logs no time)."""

    def __init__(self, existing, stamps: list[float]) -> None:
        super().__init__(existing)
        self._stamps = stamps

    def append(self, entry) -> None:
        self._stamps.append(time.perf_counter())
        super().append(entry)
