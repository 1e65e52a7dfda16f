"""Scenario 4, capture: a burst of thread messages through simcord, collected as comments.

The real bot opens a post's discussion thread with `/discuss`; then M messages by 50 members
arrive in that thread at once (created in simcord's Discord back to back, as a busy thread
would deliver them, before the bot gets to run), and the clock runs until every one is
stored. Figure: messages stored per second of wall-clock time, from the first message
created until the last comment is in the database (the cog's write-behind queue flushed).
"None lost": the stored comments are exactly the M message ids.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.framework import Context, Row, console, fmt_count, not_available
from bench.generate import BENCH_GUILD, cached_sqlite_store, private_copy

POST = 21  # a library post of the generated store (bench.generate.SCOPES): every server sees it

TARGET = 1000.0


def run(ctx: Context) -> list[Row]:
    try:
        import cogs.discussion  # noqa: F401
        from bot.services import comments  # noqa: F401
    except ImportError as exc:
        return [not_available("capture", "thread burst", str(exc), f">= {TARGET:,.0f} msg/s, none lost")]
    path, _ = cached_sqlite_store(2000, ctx.seed)
    with tempfile.TemporaryDirectory(prefix="postbot-bench-capture-") as tmp:
        copy = Path(tmp) / "store.db"
        private_copy(path, copy)
        return [asyncio.run(measure(ctx, f"sqlite:///{copy}"))]


async def measure(ctx: Context, url: str) -> Row:
    import simcord
    from sqlalchemy import select

    from bot import Settings, create_bot
    from bot.models import Comment, CommentOrigin
    from bot.services import comments as svc

    m = ctx.size(5000, 1000)
    bot = create_bot(Settings(database_url=url))
    async with simcord.run(bot, shard_count=1) as env:
        guild = env.create_guild(id=BENCH_GUILD)
        channel = guild.create_text_channel("posts")
        admin = guild.add_member(env.create_user("admin"))
        members = [guild.add_member(env.create_user(f"reader{i}")) for i in range(50)]
        result = await admin.slash(channel, "discuss", post=str(POST))
        if env.errors or result.response is None:
            raise RuntimeError(f"/discuss failed: {env.errors[-1] if env.errors else 'no response'}")
        ref = svc.post_thread(bot.database, post_id=POST, guild_id=guild.id)
        if ref is None:
            raise RuntimeError("/discuss opened no thread")
        thread_id = ref.thread_id
        cog = bot.get_cog("Discussion")
        console.print(f"  capture: burst of {m:,} messages into thread {thread_id}")
        backend = env.backend
        started = time.perf_counter()
        ids = [
            backend.create_message(thread_id, members[i % len(members)].id, f"Comment {i}: what Article 5 really means for us. " * 3).id
            for i in range(m)
        ]
        await env.settle(timeout=120)
        if cog is not None and hasattr(cog, "writer"):
            await cog.writer.flush()
        elapsed = time.perf_counter() - started
        with bot.database.session() as session:
            stored = set(
                session.execute(select(Comment.discord_message_id).where(Comment.origin == CommentOrigin.DISCORD, Comment.post_id == POST)).scalars()
            )
    lost = len(set(ids) - stored)
    rate = m / elapsed
    return Row(
        "capture",
        "thread burst -> comments",
        f"{fmt_count(m)} messages, 50 authors",
        rate,
        "msg/s",
        f">= {TARGET:,.0f} msg/s, none lost",
        rate >= TARGET and lost == 0,
        note=f"{elapsed:.2f} s until all stored; {lost} lost, {len(stored)} stored",
        extra={"messages": m, "seconds": elapsed, "lost": lost, "stored": len(stored)},
    )
