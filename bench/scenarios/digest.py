"""Scenario 3, digest: building + rendering a big digest, and the scheduler fanning out to many channels.

(a) build: `bot.services.digest.build_digest` over a window holding 1,000 new posts (of a
    generated 2k-post store), then `bot.render.digest.digest_messages` - median of several runs after a
    warm-up. Target <= 1 s.
(b) scheduler: S channels subscribed for the same minute, a few new posts, the real bot as two
    OS processes on one SQLite file, each running one of two shards (SHARD_COUNT=2, SHARD_IDS=0
    and 1) in its own simcord with its shard's servers (pinned ids: server g on shard g % 2);
    both virtual clocks are moved past the digest time together and each scheduler sends its
    servers' digests. Counted from both processes' `env.http_requests`: message POSTs per channel
    (every channel exactly once, none twice, also after a further two minutes of ticks). simcord does not model Discord's global
    rate limit (50 requests/s), and sending takes no virtual time, so the figure is the bot's own
    production rate in wall-clock time, both processes together: requests/s the bot can issue. At >= 45/s (90% of the
    limit) the bot can keep the limit busy; above 50/s it relies on discord.py's 429 handling
    (which waits out a global limit) - it does not pace itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import statistics
import sys
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


SHARDS = 2  # the bot runs as two processes, one shard each, on one database
PER_GUILD = 500  # Discord's channel limit per server (10k channels: 20 servers of 500)
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # simcord's clock starts here, in every process
FIRE = EPOCH + dt.timedelta(hours=1)  # the digests' time: 01:00 UTC
RESULT = "RESULT "


def bench_guilds(channels_n: int) -> list[tuple[int, list[int]]]:
    """(guild id, channel ids) of the benchmark's servers: pinned snowflakes (from 2025) so both
    processes' simcords hold the same ids; server g is on shard g % SHARDS."""
    count = max(SHARDS, -(-channels_n // PER_GUILD))  # at least one server per shard
    per_guild = -(-channels_n // count)
    guilds = []
    for g in range(count):
        channels = range(g * per_guild, min(channels_n, (g + 1) * per_guild))
        guilds.append((((340_000_000_000 + g) << 22) | 1, [((340_000_100_000 + c) << 22) | 2 for c in channels]))
    return guilds


def prepare_store(url: str, guilds: list[tuple[int, list[int]]]) -> None:
    """Every channel subscribed for 01:00 UTC (set up just before midnight, so yesterday's 01:00 is no
    missed digest to record at start-up) and a few posts loaded before."""
    from sqlalchemy import insert

    from bot.db import Database
    from bot.models import DigestSubscription, Post

    database = Database(url)
    database.upgrade()
    created = EPOCH - dt.timedelta(minutes=30)
    with database.session() as session:
        rows = [
            {"guild_id": g, "channel_id": c, "time": f"{FIRE:%H:%M}", "timezone": "UTC", "quiet": True, "created_at": created}
            for g, channels in guilds for c in channels
        ]
        session.execute(insert(DigestSubscription), rows)
        for i in range(5):
            loaded = EPOCH - dt.timedelta(hours=2, minutes=i)
            session.execute(
                insert(Post).values(
                    key=f"bench:digest:{i}", date=loaded.date(), title=f"Digest benchmark post {i}", body="Article 5 matters. " * 40,
                    truncated=False, labels="", loaded_from="bench", content_hash=f"bench{i}", loaded_at=loaded, updated_at=loaded,
                )
            )
    database.dispose()


async def scheduler_rows(ctx: Context, tmp: Path) -> list[Row]:
    """Both processes start, build their shard's servers, then (together) move their clocks past 01:00."""
    channels_n = ctx.size(10_000, 200)
    url = f"sqlite:///{tmp / 'digest.db'}"
    guilds = bench_guilds(channels_n)
    prepare_store(url, guilds)
    spec = tmp / "guilds.json"
    spec.write_text(json.dumps(guilds), encoding="utf-8")
    console.print(f"  scheduler: {channels_n:,} subscribed channels, {SHARDS} bot processes (one shard each) on one SQLite file ...")
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.scenarios.digest", url, str(shard), str(spec),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[2],
        )
        for shard in range(SHARDS)
    ]
    try:
        ready = [await _answer(child) for child in children]
        console.print(f"    channels created in {max(r['setup_seconds'] for r in ready):.1f} s (setup); advancing both clocks to {FIRE:%H:%M} UTC")
        for child in children:
            child.stdin.write(b"go\n")
            await child.stdin.drain()
        results = await asyncio.gather(*(_answer(child) for child in children))
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
            await child.wait()
    return [scheduler_row(channels_n, [c for _g, cs in guilds for c in cs], results)]


async def _answer(child) -> dict:
    while line := await child.stdout.readline():
        if line.startswith(RESULT.encode()):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f"a digest benchmark process exited ({await child.wait()}) without its result")


def scheduler_row(channels_n: int, channel_ids: list[int], results: list[dict]) -> Row:
    """Every channel's message POSTs across both processes: exactly one each; the rate of all of them."""
    posts = Counter()
    for result in results:
        posts.update({int(c): n for c, n in result["posts"].items()})
    per_channel = Counter(posts.get(c, 0) for c in channel_ids)
    twice = sum(1 for c in channel_ids if posts.get(c, 0) > 1)
    missing = sum(1 for c in channel_ids if posts.get(c, 0) == 0)
    message_requests = sum(r["message_posts"] for r in results)
    stamps = [r["first"] for r in results if r["first"]] + [r["last"] for r in results if r["last"]]
    span = (max(stamps) - min(stamps)) if len(stamps) > 1 else max(r["wall_seconds"] for r in results)
    rate = message_requests / span if span > 0 else float("inf")
    ok = missing == 0 and twice == 0
    return Row(
        "digest",
        "scheduler send rate (bot-side, 2 processes)",
        f"{fmt_count(channels_n)} channels due the same minute, {SHARDS} shards",
        rate,
        "req/s",
        f">= {0.9 * GLOBAL_LIMIT:g} req/s, all sent, none twice",
        ok and rate >= 0.9 * GLOBAL_LIMIT,
        baseline=f"global limit {GLOBAL_LIMIT:g} req/s",
        ratio=rate / GLOBAL_LIMIT,
        note=(
            f"{message_requests:,} message POSTs in {span:.1f} s wall (first to last, both processes), {missing} channels missed, "
            f"{twice} sent twice (also after two more minutes of ticks); per process "
            + ", ".join(f"shard {r['shard']}: {r['message_posts']:,}" for r in results)
            + "; simcord does not model the global rate limit - this is the bot's production rate, it does not pace itself to 50/s"
        ),
        extra={"channels": channels_n, "processes": SHARDS, "message_posts": message_requests, "span_seconds": span,
               "missing": missing, "twice": twice, "posts_per_channel": dict(per_channel),
               "per_process": [{k: r[k] for k in ("shard", "message_posts", "wall_seconds")} for r in results]},
    )


async def child(url: str, shard: int, spec: Path) -> None:
    """One bot process: shard `shard` of SHARDS, its own simcord with its shard's servers and channels."""
    import simcord

    from bot import Settings, create_bot
    from tests.digest_child import pinned_text_channel

    guilds = [(g, cs) for g, cs in json.loads(spec.read_text(encoding="utf-8")) if (g >> 22) % SHARDS == shard]
    bot = create_bot(Settings(database_url=url, shard_count=SHARDS, shard_ids=(shard,)))
    # Sending thousands of digests takes tens of seconds of wall time inside one advance_time.
    async with simcord.run(bot, settle_timeout=600, strict_sync=False) as env:
        started = time.perf_counter()
        for g, (guild_id, channels) in enumerate(guilds):
            guild = env.create_guild(name=f"bench {g}", id=guild_id)
            for c, channel_id in enumerate(channels):
                pinned_text_channel(env, guild, f"digest-{c}", channel_id)
        _say({"setup_seconds": time.perf_counter() - started})
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "go": both at once
        first = len(env.http_requests)
        stamps: list[float] = []
        requests = _TimedList(env.backend.http_requests, stamps)
        env.backend.http_requests = requests
        began = time.perf_counter()
        await env.advance_time((FIRE - env.now()).total_seconds() + 1.001)
        wall = time.perf_counter() - began
        sent_stamps = list(stamps)
        sent = sum(1 for e in list(requests)[first:] if e.method == "POST" and MESSAGE_POST.search(e.path))
        await env.advance_time(120)  # two more scheduler ticks: nothing may be sent again
        after = list(requests)[first:]
    await bot.release()
    posts = Counter(int(m.group(1)) for e in after if e.method == "POST" and (m := MESSAGE_POST.search(e.path)))
    _say({
        "shard": shard, "posts": {str(c): n for c, n in posts.items()}, "message_posts": sent, "wall_seconds": wall,
        "first": sent_stamps[0] if sent_stamps else None, "last": sent_stamps[-1] if sent_stamps else None,
    })


def _say(result: dict) -> None:
    print(RESULT + json.dumps(result), flush=True)


class _TimedList(list):
    """env.backend.http_requests with the wall-clock time of each append (simcord logs no time;
    time.time(), so the two processes' stamps compare)."""

    def __init__(self, existing, stamps: list[float]) -> None:
        super().__init__(existing)
        self._stamps = stamps

    def append(self, entry) -> None:
        self._stamps.append(time.time())
        super().append(entry)


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
