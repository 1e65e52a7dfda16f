"""A bot process for tests/test_shutdown.py, stopped with SIGTERM in the middle of a burst of thread messages.

`python -m tests.shutdown_child DATABASE_URL COUNT` starts the real bot in its own simcord with the
logging and the signal handlers `postbot run` installs, opens a post's discussion thread with `/discuss` and prints
`READY <thread id>`. On the line `burst` (stdin) COUNT members' messages arrive in the thread at
once, as gateway events (the bot's listener queues them for the comment writer); it prints
`SENT <count>` and waits for the signal. Once the bot has shut down it prints `CLOSED` and exits 0.
"""

from __future__ import annotations

import asyncio
import sys
import threading

import simcord

from bot import Settings, create_bot
from bot.client import configure_logging, install_signal_handlers
from bot.services import comments

from .helpers import add_post


def stdin_lines() -> asyncio.Queue:
    """Lines from stdin, read by a daemon thread (an executor thread blocked in readline would keep the process alive)."""
    queue: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, daemon=True).start()
    return queue


async def main(database_url: str, count: int) -> int:
    settings = Settings(database_url=database_url, shard_count=1)
    configure_logging(settings)  # as `postbot run` does
    bot = create_bot(settings)
    lines = stdin_lines()
    async with simcord.run(bot, settle_timeout=30) as env:
        install_signal_handlers(bot)
        guild = env.create_guild(name="shutdown")
        channel = guild.create_text_channel("posts")
        readers = [guild.add_member(env.create_user(f"reader{i}")) for i in range(20)]
        post_id = add_post(bot.database, "The post under discussion", now=env.now())
        await readers[0].slash(channel, "discuss", post=str(post_id))
        thread = comments.post_thread(bot.database, post_id=post_id, guild_id=guild.id)
        print(f"READY {thread.thread_id}", flush=True)
        if await lines.get() != "burst":
            return 1
        for i in range(count):  # each one a MESSAGE_CREATE the bot receives now
            env.backend.create_message(thread.thread_id, readers[i % len(readers)].id, f"Message {i} of the burst.")
        print(f"SENT {count}", flush=True)
        await bot.wait_closed()
    print("CLOSED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
