"""One bot process of tests/test_shard_processes.py: some shards of a bot that runs in two processes.

`python -m tests.shard_child DATABASE_URL SHARD_IDS` runs the real bot with SHARD_COUNT=2 and the
given SHARD_IDS ("0", "1" or "0,1") in its own simcord, which holds the same four servers as the
other process (pinned guild and channel ids; servers 0 and 2 are on shard 0, 1 and 3 on shard 1),
so the bot receives the events of its shards' servers only. It reads commands on stdin and
answers each with one `REPORT {json}` line:

- `start`: the bot logs in; the report lists the servers this process sees.
- `add N URL`: `/feed add URL` in server N's news channel, by its admin.
- `tick SECONDS`: the clock moves to the epoch + SECONDS (the digest scheduler runs as it does),
  then one feed tick (`poll_due`, the feed loop's body) and settle.
- `discuss POST COUNT SECONDS`: at epoch + SECONDS, `/discuss POST` in each of its servers, then
  COUNT members' messages in each thread (ids unique to this process: the other one talks at
  another moment); the report lists the message ids, and per server its thread and message ids.
- `mirror THREADS`: THREADS (JSON: [server index, thread id, [message ids]] as `discuss` reported them
  in the other process) arrive here too, with the same ids, in this process's servers: Discord
  delivering one shard's events to both processes while the shard moves. The report lists the ids
  and how many messages the comment counter saw.
- `quit` (or SIGTERM): the bot shuts down as `postbot run` does.

Every report carries what the bot posted since the last one: [guild id, channel kind, its embeds'
titles (or its text)] per message, and the feed URLs its polls fetched, with the subscriptions' guilds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys

import discord
import simcord

from bot import Settings, create_bot
from bot.client import configure_logging, install_signal_handlers
from bot.services import comments

from .digest_child import pinned_text_channel
from .shutdown_child import stdin_lines

SHARD_COUNT = 2
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # simcord's clock starts here
# Snowflakes from 2025 (below what simcord hands out in 2026): server i is on shard i % 2.
GUILDS = tuple(((350_000_000_000 + i) << 22) | 7 for i in range(4))
KINDS = ("digest", "news", "posts")
REPORT = "REPORT "


def channel_id(guild_index: int, kind: str) -> int:
    return ((350_000_001_000 + 10 * guild_index + KINDS.index(kind)) << 22) | 9


class World:
    """The four servers, each with a digest, a news and a posts channel, an admin and readers."""

    def __init__(self, env: simcord.Env) -> None:
        self.env = env
        self.servers = []
        for index, guild_id in enumerate(GUILDS):
            guild = env.create_guild(name=f"server {index}", id=guild_id)
            channels = {kind: pinned_text_channel(env, guild, kind, channel_id(index, kind)) for kind in KINDS}
            admins = guild.create_role("admins", permissions=discord.Permissions(manage_guild=True))
            admin = guild.add_member(env.create_user(f"ada{index}"), roles=[admins])
            readers = [guild.add_member(env.create_user(f"reader{index}-{r}")) for r in range(5)]
            self.servers.append((guild, channels, admin, readers))
        self.kinds = {channel_id(i, kind): (GUILDS[i], kind) for i in range(len(GUILDS)) for kind in KINDS}
        self.seen = 0

    def posted(self) -> list[list]:
        """What the bot posted in the servers' channels since the last call."""
        requests = self.env.http_requests
        fresh, self.seen = requests[self.seen:], len(requests)
        out = []
        for request in fresh:
            parts = request.path.split("/")
            if request.method != "POST" or len(parts) != 4 or parts[3] != "messages":
                continue
            guild_id, kind = self.kinds.get(int(parts[2]), (None, "thread"))
            titles = [embed.get("title") for embed in request.json.get("embeds") or []]
            out.append([guild_id, kind, titles or [request.json.get("content")]])
        return out


async def main(database_url: str, shard_ids: str) -> int:
    settings = Settings(
        database_url=database_url, shard_count=SHARD_COUNT, shard_ids=tuple(int(i) for i in shard_ids.split(",")),
        feed_allow_private_hosts="127.0.0.1",
    )
    configure_logging(settings)
    lines = stdin_lines()
    if await lines.get() != "start":
        return 1
    bot = create_bot(settings)
    # Each simcord is a fresh Discord: the second process finds the commands synced already (as
    # Discord would remember them), so its simcord must let unsynced commands run.
    async with simcord.run(bot, strict_sync=False, settle_timeout=5) as env:
        install_signal_handlers(bot)
        world = World(env)
        feeds = bot.get_cog("Feeds")
        feeds.poll_loop.cancel()  # the test says when a feed tick runs
        fetched: list[list] = []
        original = feeds.poll

        async def poll(due, **kwargs):
            results = await original(due, **kwargs)
            fetched.extend([r.feed.url, r.feed.guild_id] for r in results if r.feed is not None)
            return results

        feeds.poll = poll
        report({"guilds": sorted(g.id for g in bot.guilds)})
        while (line := await next_command(lines, bot)) not in (None, "quit"):
            answer = await run_command(env, bot, world, line)
            answer |= {"posted": world.posted(), "fetched": fetched[:]}
            fetched.clear()
            report(answer)
        await bot.close()
    return 0


async def next_command(lines: asyncio.Queue, bot) -> str | None:
    """The next line, or None once a signal shut the bot down."""
    get, closed = asyncio.ensure_future(lines.get()), asyncio.ensure_future(bot.wait_closed())
    done, _ = await asyncio.wait({get, closed}, return_when=asyncio.FIRST_COMPLETED)
    for task in (get, closed):
        if task not in done:
            task.cancel()
    return get.result() if get in done else None


async def run_command(env: simcord.Env, bot, world: World, line: str) -> dict:
    command, *args = line.split()
    if command == "add":
        guild, channels, admin, _readers = world.servers[int(args[0])]
        result = await admin.slash(channels["news"], "feed add", url=args[1], channel=channels["news"])
        return {"added": (result.response or result.followups[0]).content}
    if command == "tick":
        await env.advance_time((EPOCH + dt.timedelta(seconds=float(args[0])) - env.now()).total_seconds())
        await bot.get_cog("Feeds").poll_due()
        await env.settle()
        return {}
    if command == "discuss":
        post_id, count, at = args[0], int(args[1]), float(args[2])
        await env.advance_time((EPOCH + dt.timedelta(seconds=at) - env.now()).total_seconds())
        sent, threads = [], []
        for index, (guild, channels, _admin, readers) in enumerate(world.servers):
            if bot.get_guild(guild.id) is None:
                continue  # another process's server
            await readers[0].slash(channels["posts"], "discuss", post=post_id)
            thread_id = (await bot.database.call(comments.post_thread, post_id=int(post_id), guild_id=guild.id)).thread_id
            ids = [env.backend.create_message(thread_id, readers[i % len(readers)].id, reply_text(i, guild.id)).id for i in range(count)]
            sent += ids
            threads.append([index, thread_id, ids])
        await env.settle()
        await bot.get_cog("Discussion").writer.flush()
        return {"messages": sent, "threads": threads}
    if command == "mirror":
        return await mirror(env, bot, world, json.loads(args[0]))
    raise ValueError(f"unknown command {line!r}")


def reply_text(number: int, guild_id: int) -> str:
    return f"Reply {number} in {guild_id}"


async def mirror(env: simcord.Env, bot, world: World, threads: list) -> dict:
    """Discord's side of a moved shard: the thread messages the other process received (same thread and
    message ids), delivered to this one too, in the servers of its shards."""
    backend, sent = env.backend, []
    pinned: list[int] = []  # the next ids simcord hands out; then its own again
    allocate = backend.snowflake
    backend.snowflake = lambda: backend.reserve_id(pinned.pop(0)) if pinned else allocate()
    try:
        for index, thread_id, message_ids in threads:
            guild, channels, _admin, readers = world.servers[index]
            if bot.get_guild(guild.id) is None:
                continue
            pinned.append(thread_id)
            backend.create_thread(channels["posts"].id, "discussion", readers[0].id)
            for number, message_id in enumerate(message_ids):
                pinned.append(message_id)
                sent.append(backend.create_message(thread_id, readers[number % len(readers)].id, reply_text(number, guild.id)).id)
    finally:
        del backend.snowflake
    await env.settle()
    await bot.get_cog("Discussion").writer.flush()
    return {"messages": sent, "captured": bot.metrics.registry.get_sample_value("postbot_comments_captured_total")}


def report(answer: dict) -> None:
    print(REPORT + json.dumps(answer), flush=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
