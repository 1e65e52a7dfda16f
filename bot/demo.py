"""`postbot demo`: the real bot answering real slash commands in simcord's simulated Discord.

No token and no network: the sample data is loaded into a temporary store, a simulated server
is created, and a scripted member runs commands; each exchange is printed as a user would see it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import discord
import simcord

from bot.client import create_bot
from bot.db import Database
from bot.services.loading import load
from bot.settings import DATA_DIR, Settings


@dataclass
class Step:
    """One scripted slash command: its name (with subcommands) and options."""

    command: str
    options: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        options = " ".join(f"{k}:{v}" for k, v in self.options.items())
        return f"/{self.command} {options}".strip()


SCRIPT = [
    Step("article", {"number": "4"}),
    Step("article", {"number": "3"}),
    Step("articles"),
    Step("article", {"number": "9"}),
    Step("post list"),
    Step("search", {"query": "strategic partnership"}),
    Step("digest preview"),
]


def describe_message(content: str | None, embeds: list[discord.Embed], *, ephemeral: bool) -> list[str]:
    """A bot message as plain lines: content, then each embed's title, text and fields."""
    lines = [("(only you can see this) " if ephemeral else "") + (content or "")] if content or ephemeral else []
    for embed in embeds:
        if embed.title:
            lines.append(f"▌ {embed.title}")
        if embed.description:
            lines.extend(f"▌ {line}" for line in embed.description.splitlines())
        for f in embed.fields:
            lines.append(f"▌ {f.name}: {f.value}")
        if embed.footer and embed.footer.text:
            lines.append(f"▌ — {embed.footer.text}")
    return [line for line in lines if line.strip()]


async def run_demo(out: Callable[[str], None] = print, *, database_url: str | None = None) -> int:
    """Run the script; returns how many commands were shown."""
    with tempfile.TemporaryDirectory(prefix="postbot-demo-") as tmp:
        settings = Settings(database_url=database_url or f"sqlite:///{Path(tmp) / 'demo.db'}")
        bot = create_bot(settings)
        await bot.database.call(Database.upgrade)
        try:
            async with simcord.run(bot, check_errors=False, shard_count=1) as env:
                return await _tour(env, out)
        finally:
            await bot.release()


async def _tour(env: simcord.Env, out: Callable[[str], None]) -> int:
    bot = env.bot
    # Loaded inside the simulation, so the digest sees the posts as new on its clock.
    report = await bot.database.call(load, sources=[str(DATA_DIR)], now=discord.utils.utcnow())
    out(f"Loaded the sample data: {report.summary()}")
    guild = env.create_guild(name="postbot demo")
    channel = guild.create_text_channel("general")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    member = guild.add_member(env.create_user("alice"), roles=[admins])  # may run admin commands too
    known = {command.qualified_name for command in bot.tree.walk_commands()}
    shown = 0
    for step in SCRIPT:
        if step.command not in known:
            continue
        out("")
        out(f"alice › {step.label}")
        try:
            result = await member.slash(channel, step.command, **step.options)
        except Exception as exc:  # one broken step must not hide the rest of the tour
            out(f"  (this step failed: {type(exc).__name__}: {exc})")
            continue
        for message in [m for m in [result.response, *result.followups] if m is not None]:
            for line in describe_message(message.content, message.embeds, ephemeral=message.ephemeral):
                out(f"  postbot › {line}")
        shown += 1
    return shown
