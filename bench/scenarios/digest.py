"""Scenario 3, digest: building + rendering a big digest, and the scheduler fanning out to many channels.

(a) build: `bot.services.digest.build_digest` over a window holding 1,000 new posts (of a
    generated 2k-post store), then `bot.render.digest.digest_messages` - median of several runs after a
    warm-up. Target <= 1 s.
(b) scheduler: S channels subscribed for the same minute, a few new posts, the real bot as two
    OS processes on one SQLite file, each running one of two shards (SHARD_COUNT=2, SHARD_IDS=0
    and 1) in its own simcord with its shard's servers (pinned ids: server g on shard g % 2);
    both virtual clocks are moved past the digest time together, far enough for S digests at
    the paced rate (S/45 s plus 10%, plus a tick), and each scheduler sends its servers' digests,
    each process at its share of BULK_SENDS_PER_SECOND (bot/pacing.py: 45/s x 1 of 2 shards).
    Counted from both processes' `env.http_requests`, each request stamped with Discord's clock
    (simcord's virtual one, which the bot's pacing runs on: the two processes' clocks start at
    the same epoch and move together) and the wall clock: message POSTs per channel (every
    channel exactly once, none twice, also after a further two minutes of ticks); the most
    requests in any one-second window of both processes together; the 429s a Discord enforcing
    the global limit (50 requests in any second, a simulated limiter over the merged stamps:
    simcord itself does not model it) would have answered; and how long the digests took on
    Discord's clock, first to last, against S/45 s. The wall-clock figure (how fast the bot
    gets through the same work in simcord, where sending takes no time) is in the note.
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

GLOBAL_LIMIT = 50.0  # Discord's global limit per bot: requests in any one second
PACE = 45.0  # BULK_SENDS_PER_SECOND's default, all processes together: the target for any second
MESSAGE_POST = re.compile(r"/channels/(\d+)/messages$")


def run(ctx: Context) -> list[Row]:
    try:
        from bot.render.digest import digest_messages  # noqa: F401
        from bot.services import digest as service  # noqa: F401
    except ImportError as exc:
        return [
            not_available("digest", "build + render", str(exc), "<= 1 s"),
            not_available("digest", "scheduler pacing", str(exc), f"<= {PACE:g} req/s in any second, 0 429s"),
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
    budget = channels_n / PACE * 1.1 + 61  # the paced fan-out with its 10%, and one more scheduler tick
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.scenarios.digest", url, str(shard), str(spec), str(budget),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[2],
            limit=1 << 26,  # the result line holds every request's time
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
    return scheduler_rows_of(channels_n, [c for _g, cs in guilds for c in cs], results)


async def _answer(child) -> dict:
    while line := await child.stdout.readline():
        if line.startswith(RESULT.encode()):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f"a digest benchmark process exited ({await child.wait()}) without its result")


def global_limit_429s(stamps: list[float], limit: float = GLOBAL_LIMIT) -> int:
    """How many of these requests (times in s) a Discord allowing `limit` in any one second would refuse
    (a refused one does not count towards the limit)."""
    accepted: list[float] = []
    refused = first = 0
    for t in sorted(stamps):
        while accepted[first:] and accepted[first] <= t - 1.0:
            first += 1
        if len(accepted) - first >= limit:
            refused += 1
        else:
            accepted.append(t)
    return refused


def busiest_second(stamps: list[float]) -> int:
    """The most requests within any one-second window [t, t + 1)."""
    times, most, first = sorted(stamps), 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - 1.0 + 1e-9:
            first += 1
        most = max(most, last - first + 1)
    return most


def scheduler_rows_of(channels_n: int, channel_ids: list[int], results: list[dict]) -> list[Row]:
    """Every channel's message POSTs across both processes: exactly one each; the pace of all requests."""
    posts = Counter()
    for result in results:
        posts.update({int(c): n for c, n in result["posts"].items()})
    per_channel = Counter(posts.get(c, 0) for c in channel_ids)
    twice = sum(1 for c in channel_ids if posts.get(c, 0) > 1)
    missing = sum(1 for c in channel_ids if posts.get(c, 0) == 0)
    message_requests = sum(r["message_posts"] for r in results)
    virtual = [t for r in results for t in r["virtual"]]  # every request, Discord's clock
    most, refused = busiest_second(virtual), global_limit_429s(virtual)
    took = (max(virtual) - min(virtual)) if len(virtual) > 1 else 0.0
    allowed = channels_n / PACE * 1.1
    wall = [t for r in results for t in (r["first"], r["last"]) if t]
    wall_span = (max(wall) - min(wall)) if len(wall) > 1 else max(r["wall_seconds"] for r in results)
    ok = missing == 0 and twice == 0
    size = f"{fmt_count(channels_n)} channels due the same minute, {SHARDS} shards"
    counts = f"{missing} channels missed, {twice} sent twice (also after two more minutes of ticks)"
    extra = {"channels": channels_n, "processes": SHARDS, "message_posts": message_requests, "requests": len(virtual),
             "busiest_second": most, "simulated_429s": refused, "discord_seconds": took, "wall_seconds": wall_span,
             "missing": missing, "twice": twice, "posts_per_channel": dict(per_channel),
             "per_process": [{k: r[k] for k in ("shard", "message_posts", "wall_seconds")} for r in results]}
    return [
        Row(
            "digest", "scheduler pacing (2 processes, Discord's clock)", size, most, "req in a second",
            f"<= {PACE:g} in any second, 0 429s, 0 missed, 0 twice", ok and most <= PACE and refused == 0,
            baseline=f"global limit {GLOBAL_LIMIT:g} req/s", ratio=most / GLOBAL_LIMIT,
            note=f"{len(virtual):,} requests ({message_requests:,} message POSTs); {refused} would have been 429s under a "
                 f"{GLOBAL_LIMIT:g}/s global limit; {counts}; per process "
                 + ", ".join(f"shard {r['shard']}: {r['message_posts']:,}" for r in results),
            extra=extra,
        ),
        Row(
            "digest", "scheduler fan-out time (Discord's clock)", size, took, "s",
            f"<= {allowed:.0f} s ({fmt_count(channels_n)}/{PACE:g} + 10%), all sent", ok and took <= allowed,
            baseline=f"{fmt_count(channels_n)}/{PACE:g} = {channels_n / PACE:.0f} s", ratio=took / (channels_n / PACE),
            note=f"first to last request; in wall-clock time simcord got through it in {wall_span:.1f} s "
                 f"({message_requests / wall_span if wall_span > 0 else float('inf'):.0f} req/s: the bot's production rate, sending takes no time there)",
        ),
    ]


async def child(url: str, shard: int, spec: Path, budget: float) -> None:
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
        virtual: list[float] = []
        requests = _TimedList(env.backend.http_requests, stamps, virtual, env)
        env.backend.http_requests = requests
        began = time.perf_counter()
        end = FIRE + dt.timedelta(seconds=1.001 + budget)
        while env.now() < end:  # in steps: each advance_time has its own settle timeout
            await env.advance_time(min(30.0, (end - env.now()).total_seconds()))
        wall = time.perf_counter() - began
        sent_stamps, sent_virtual = list(stamps), list(virtual)
        sent = sum(1 for e in list(requests)[first:] if e.method == "POST" and MESSAGE_POST.search(e.path))
        await env.advance_time(120)  # two more scheduler ticks: nothing may be sent again
        after = list(requests)[first:]
    await bot.release()
    posts = Counter(int(m.group(1)) for e in after if e.method == "POST" and (m := MESSAGE_POST.search(e.path)))
    _say({
        "shard": shard, "posts": {str(c): n for c, n in posts.items()}, "message_posts": sent, "wall_seconds": wall,
        "first": sent_stamps[0] if sent_stamps else None, "last": sent_stamps[-1] if sent_stamps else None,
        "virtual": sent_virtual,
    })


def _say(result: dict) -> None:
    print(RESULT + json.dumps(result), flush=True)


class _TimedList(list):
    """env.backend.http_requests with the wall-clock time (time.time(), so the two processes' stamps
    compare) and Discord's (simcord's virtual clock, as a POSIX time) of each append: simcord logs no time."""

    def __init__(self, existing, stamps: list[float], virtual: list[float], env) -> None:
        super().__init__(existing)
        self._stamps, self._virtual, self._env = stamps, virtual, env

    def append(self, entry) -> None:
        self._stamps.append(time.time())
        self._virtual.append(self._env.now().timestamp())
        super().append(entry)


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])))
