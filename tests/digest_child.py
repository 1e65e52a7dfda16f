"""A second bot process for tests/test_digest_processes.py, killed in the middle of sending a digest.

`python -m tests.digest_child DATABASE_URL GUILD_ID CHANNEL_ID SECONDS` starts the real bot in its own
simcord, in a server and a channel with the test's ids, and moves its virtual clock SECONDS on so the
digest falls due. When the bot asks Discord to post the digest's second message (the first one sent,
and recorded if the bot records it) the process prints `READY <messages posted>` and freezes there,
for the test to kill it with SIGKILL at that very point. If that never happens it prints
`DONE <messages posted>` and exits 1.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import simcord

from bot import Settings, create_bot

FROZEN = 120  # seconds the frozen process waits for its SIGKILL before giving up (failing the test)


def pinned_text_channel(env: simcord.Env, guild, name: str, channel_id: int):
    """`guild.create_text_channel` with an id of the test's choosing (simcord pins guild ids only), so
    two processes, each with its own simcord, post to the one channel id the database knows."""
    backend = env.backend
    backend.snowflake = lambda: backend.reserve_id(channel_id)  # shadows the method for this one channel
    try:
        channel = guild.create_text_channel(name)
    finally:
        del backend.snowflake
    assert channel.id == channel_id, (channel.id, channel_id)
    return channel


class Tripwire(list):
    """simcord's log of the bot's HTTP requests, which freezes the process when the bot asks to post
    message number `at` (from 0) to `path`: before simcord has created it."""

    def __init__(self, path: str, *, at: int) -> None:
        super().__init__()
        self.path, self.at, self.posted = path, at, 0

    def append(self, entry) -> None:
        if entry.method == "POST" and entry.path == self.path:
            if self.posted == self.at:
                print(f"READY {self.posted}", flush=True)
                time.sleep(FROZEN)  # the event loop, the bot and its database work all stop here
                os._exit(1)
            self.posted += 1
        super().append(entry)


async def main(url: str, guild_id: int, channel_id: int, seconds: float) -> int:
    bot = create_bot(Settings(database_url=url))
    try:
        async with simcord.run(bot, settle_timeout=30, shard_count=1) as env:
            guild = env.create_guild(name="digest processes", id=guild_id)
            pinned_text_channel(env, guild, "digest", channel_id)
            tripwire = env.backend.http_requests = Tripwire(f"/channels/{channel_id}/messages", at=1)
            await env.advance_time(seconds)
            print(f"DONE {tripwire.posted}", flush=True)
    finally:
        await bot.release()
    return 1


if __name__ == "__main__":
    database_url, guild, channel, advance = sys.argv[1:5]
    sys.exit(asyncio.run(main(database_url, int(guild), int(channel), float(advance))))
