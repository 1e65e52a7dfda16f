"""`postbot demo`: the real bot answering real slash commands in simcord's simulated Discord.

No token and no network: the sample data is loaded into a temporary store, a simulated server
is created, and a scripted member runs commands; each exchange is printed as a user would see it.

`postbot demo --week` (`run_week`) plays a week in a server on simcord's clock: an admin's digest
at 08:00 Europe/Berlin with a role, a feed served by the demo on 127.0.0.1 (allowed as an operator
allows a private host) announced with that role and a thread a post, a member's message in the
thread saved as a comment, a search finding it; printed as a member's client shows it (`Screen`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import tempfile
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import discord
import simcord
from aiohttp import web

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


# --------------------------------------------------------------------------- `postbot demo --week`

WEEK_ZONE = zoneinfo.ZoneInfo("Europe/Berlin")  # the server's digest timezone, and the reader's clock
FEED_PATH = "/world.xml"


@dataclass
class Entry:
    """One item of the demo's feed."""

    title: str
    text: str
    published: dt.datetime

    @property
    def link(self) -> str:
        return "https://news.example.org/" + re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


# The feed a server in the week watches: two entries when it is added (loaded, not announced), a
# third on Thursday morning (announced, with its thread), a fourth on Monday.
FEED_START = [
    Entry("Seoul summons the Russian ambassador over the Pyongyang pact",
          "South Korea's foreign ministry summoned the Russian ambassador on Tuesday. It called the new pact a threat "
          "to regional security. Moscow said the treaty was aimed at no third country.",
          dt.datetime(2025, 12, 30, 9, tzinfo=dt.timezone.utc)),
    Entry("What the 1961 treaty between Moscow and Pyongyang said",
          "The 1961 treaty of friendship bound the Soviet Union to defend North Korea. It lapsed in the 1990s. "
          "Historians compare it with the new partnership agreement.",
          dt.datetime(2025, 12, 31, 9, tzinfo=dt.timezone.utc)),
]
FEED_THURSDAY = Entry(
    "Russia and North Korea ratify their mutual defence treaty",
    "Both parliaments ratified the comprehensive strategic partnership treaty this week. Its fourth article obliges "
    "each side to give military help if the other is attacked. Analysts in Seoul expect closer arms cooperation. "
    "Continue reading...",
    dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone.utc),
)
FEED_MONDAY = Entry(
    "Japan and South Korea hold talks on the new treaty",
    "Foreign ministers of Japan and South Korea met in Tokyo on Monday. They discussed the Russian-North Korean "
    "treaty and missile warnings. A joint statement is expected later this week.",
    dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc),
)
COMMENT = "Ratified within days: faster than anyone expected."


def feed_xml(entries: list[Entry]) -> bytes:
    """An RSS 2.0 document of these entries, newest first."""
    items = "".join(
        f"<item><title>{xml_escape(e.title)}</title><link>{e.link}</link><guid>{e.link}</guid>"
        f"<pubDate>{email.utils.format_datetime(e.published, usegmt=True)}</pubDate>"
        f"<description>{xml_escape(e.text)}</description></item>"
        for e in sorted(entries, key=lambda e: e.published, reverse=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>World desk</title>'
        f"<link>https://news.example.org/</link><description>World news</description>{items}</channel></rss>"
    ).encode()


class FeedSite:
    """A real HTTP server on 127.0.0.1 serving the demo's feed, which the script grows."""

    def __init__(self) -> None:
        self.entries = list(FEED_START)
        self.runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serve on a free port; returns the feed's URL."""
        app = web.Application()
        app.router.add_get(FEED_PATH, self.feed)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}{FEED_PATH}"

    async def feed(self, request: web.Request) -> web.Response:
        response = web.Response(body=feed_xml(self.entries), content_type="application/rss+xml")
        response.force_close()  # no idle keep-alive connection left waiting on the real clock
        return response

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


_MARKUP = re.compile(
    r"<@&(?P<role>\d+)>|<#(?P<channel>\d+)>|<@!?(?P<user>\d+)>|</(?P<command>[\w -]+):\d+>"
    r"|<t:(?P<unix>-?\d+)(?::(?P<style>[tTdDfFR]))?>|\\(?P<escaped>[^\w\s])"
    r"|\[(?P<text>[^\]]+)\]\(<?(?P<url>https?://[^\s>)]+)>?\)|\*\*"
)
_JUMP = re.compile(r"https://discord\.com/channels/\d+/(\d+)$")


class Screen:
    """Shows text as a member's Discord client would: mentions as names, commands as `/name`,
    timestamps in the reader's timezone (Europe/Berlin) and relative to the simulated now,
    escapes dropped."""

    def __init__(self, env: simcord.Env, out: Callable[[str], None]) -> None:
        self.env, self.out = env, out

    def show(self, text: str) -> str:
        return _MARKUP.sub(self._one, text)

    def _one(self, m: re.Match) -> str:
        bot = self.env.bot
        if m["role"]:
            role = next((r for g in bot.guilds if (r := g.get_role(int(m["role"]))) is not None), None)
            return f"@{role.name}" if role else "@unknown-role"
        if m["channel"]:
            channel = bot.get_channel(int(m["channel"]))
            return f"#{channel.name}" if channel else "#unknown"
        if m["user"]:
            user = bot.get_user(int(m["user"]))
            return f"@{user.display_name}" if user else "@unknown-user"
        if m["command"]:
            return f"/{m['command']}"
        if m["unix"]:
            at = dt.datetime.fromtimestamp(int(m["unix"]), dt.timezone.utc)
            return relative(at, self.env.now()) if m["style"] == "R" else f"{at.astimezone(WEEK_ZONE):%-d %B %Y %H:%M}"
        if m["text"]:  # a masked link: its text, and where it leads (a channel or thread by its name)
            jump = _JUMP.match(m["url"])
            channel = bot.get_channel(int(jump[1])) if jump else None
            text = self.show(m["text"])
            where = m["url"] if channel is None else "its thread" if channel.name == text else f"#{channel.name}"
            return f"{text} (→ {where})"
        return m["escaped"] or ""  # `**`: bold, which plain text cannot show

    def heading(self, text: str) -> None:
        self.out("")
        self.out(f"━━ {self.clock()} · {text}")

    def clock(self) -> str:
        return f"{self.env.now().astimezone(WEEK_ZONE):%a %-d %b %H:%M}"

    def said(self, who: str, where: str, text: str) -> None:
        self.out(f"{where} · {who} › {text}")

    def answer(self, result) -> None:
        """A slash command's answer (response, then followups)."""
        for message in [m for m in [result.response, *result.followups] if m is not None]:
            for line in describe_message(message.content, message.embeds, ephemeral=message.ephemeral):
                for part in self.show(line).splitlines():
                    self.out(f"  postbot › {part}")

    def posted(self, message: discord.Message, where: str) -> None:
        """A message the bot posted by itself, with its buttons and thread."""
        self.out(f"{where} · postbot · {message.created_at.astimezone(WEEK_ZONE):%H:%M}:")
        for line in describe_message(message.content, message.embeds, ephemeral=False):
            self.out(f"  {self.show(line)}")
        buttons = [c.label for row in message.components for c in getattr(row, "children", []) if getattr(c, "label", None)]
        if buttons:
            self.out("  " + "  ".join(f"[{label}]" for label in buttons))


def relative(at: dt.datetime, now: dt.datetime) -> str:
    """Discord's relative time (`<t:…:R>`), roughly: "in 7 hours", "2 days ago"."""
    seconds = (at - now).total_seconds()
    amount = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if amount >= size:
            n = round(amount / size)
            break
    else:
        return "in a few seconds" if seconds >= 0 else "a few seconds ago"
    span = f"{n} {unit}{'' if n == 1 else 's'}"
    return f"in {span}" if seconds >= 0 else f"{span} ago"


async def run_week(out: Callable[[str], None] = print, *, database_url: str | None = None) -> int:
    """A week in a server, scripted: returns how many scenes showed something."""
    site = FeedSite()
    url = await site.start()
    with tempfile.TemporaryDirectory(prefix="postbot-week-") as tmp:
        # The operator allows the demo's own feed server on 127.0.0.1; the bot refuses private hosts otherwise.
        settings = Settings(database_url=database_url or f"sqlite:///{Path(tmp) / 'week.db'}", feed_allow_private_hosts="127.0.0.1")
        bot = create_bot(settings)
        await bot.database.call(Database.upgrade)

        async def quarter_hourly() -> None:
            """The bot's minute loops tick every 15 minutes here, so that a week takes seconds (changed
            from the bot's own work, where simcord's clock drives their timers)."""
            for loop in (bot.get_cog("Digest").scheduler, bot.get_cog("Feeds").poll_loop):
                loop.change_interval(minutes=15)

        bot.add_listener(quarter_hourly, "on_ready")
        try:
            # Any error the bot raised during the week is raised at the end: the week is also a check.
            async with simcord.run(bot, shard_count=1, settle_timeout=60) as env:
                return await Week(env, site, Screen(env, out)).run(url)
        finally:
            await bot.release()
            await site.close()


class Week:
    """Thursday 1 January 2026 (simcord's first day) to the next Wednesday in one server. The bot's
    own loops send the digests and poll the feed as simcord's clock moves."""

    def __init__(self, env: simcord.Env, site: FeedSite, screen: Screen) -> None:
        self.env, self.site, self.screen, self.bot = env, site, screen, env.bot
        guild = env.create_guild(name="postbot week")
        self.general = guild.create_text_channel("general")
        self.news = guild.create_text_channel("news")
        admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
        self.readers = guild.create_role("Readers", mentionable=True)
        self.ada = guild.add_member(env.create_user("ada", global_name="Ada"), roles=[admins])
        self.alice = guild.add_member(env.create_user("alice", global_name="Alice"), roles=[self.readers])
        self.bob = guild.add_member(env.create_user("bob", global_name="Bob"), roles=[self.readers])
        self.seen: dict[int, int] = {}  # channel id -> the newest message already shown there
        self.scenes = 0

    async def run(self, url: str) -> int:
        """The script; returns how many scenes showed something."""
        await self.set_up(url)
        for day in range(7):
            await self.until(day, 8, 5)
            self.screen.heading("the daily digest at 08:00 Europe/Berlin")
            if not self.show_new(self.general):
                self.screen.out("#general · (nothing: no new posts, and this digest is quiet on such days)")
            if day in (0, 4):  # Thursday and Monday: a new entry in the feed, announced with its thread
                await self.feed_grows(day, FEED_THURSDAY if day == 0 else FEED_MONDAY)
            if day == 0:
                await self.talk(FEED_THURSDAY.title)
            if day == 1:
                await self.until(1, 12)
                self.screen.heading("a member searches")
                await self.slash(self.alice, self.general, "search", query="faster than anyone")
        await self.until(6, 18)
        self.screen.heading("the admin looks back on the week")
        await self.slash(self.ada, self.general, "digest status")
        await self.slash(self.ada, self.news, "feed status")
        return self.scenes

    async def set_up(self, url: str) -> None:
        self.screen.heading("the operator loads the sample data; an admin sets the server up")
        report = await self.bot.database.call(load, sources=[str(DATA_DIR)], now=self.env.now())
        self.screen.out(f"$ postbot load data/ → {report.summary()}")
        self.screen.out(f"$ export FEED_ALLOW_PRIVATE_HOSTS=127.0.0.1  # the operator allows the demo's own feed server, {url}")
        await self.slash(self.ada, self.general, "digest setup", channel=self.general, time="08:00", timezone="Europe/Berlin", role=self.readers)
        await self.slash(self.ada, self.general, "feed add", url=url, channel=self.news, interval_minutes=60, role=self.readers, thread=True)
        self.catch_up(self.news)  # nothing there: the feed's first entries are stored, not announced

    async def feed_grows(self, day: int, entry: Entry) -> None:
        """The entry appears just before 10:00; the bot's poll on the hour announces it."""
        await self.until(day, 9, 55)
        self.site.entries.append(entry)
        await self.until(day, 10, 5)
        self.screen.heading("a new entry in the watched feed")
        self.show_new(self.news)

    async def talk(self, title: str) -> None:
        """A member writes in the post's thread (saved as a comment); another reads the comments there."""
        thread = next(t for t in self.news.threads if t.name == title)
        self.screen.heading("a member talks in the post's thread")
        self.screen.said(self.bob.name, f"#{self.news.name} › 🧵 {thread.name}", COMMENT)
        await self.bob.send(thread, COMMENT)
        await self.env.settle()
        await self.slash(self.alice, thread, "comments")

    async def until(self, day: int, hour: int, minute: int = 0) -> None:
        """On to that local time, `day` days after Thursday 1 January, the bot's loops running meanwhile."""
        target = dt.datetime(2026, 1, 1 + day, hour, minute, tzinfo=WEEK_ZONE)
        await self.env.advance_time((target - self.env.now()).total_seconds())

    async def slash(self, member, where, command: str, **options) -> None:
        label = " ".join([f"/{command}", *(f"{k}:{_option(v)}" for k, v in options.items())])
        self.screen.said(member.name, f"{'🧵 ' if where.is_thread else '#'}{where.name}", label)
        self.screen.answer(await member.slash(where, command, **options))
        self.catch_up(where)  # the answer is shown; the channel's next news is the bot's own
        self.scenes += 1

    def catch_up(self, channel) -> list[discord.Message]:
        """The channel's messages not shown yet (now counted as shown)."""
        fresh = [m for m in channel.history() if m.id > self.seen.get(channel.id, 0)]
        if fresh:
            self.seen[channel.id] = fresh[-1].id
        return fresh

    def show_new(self, channel) -> int:
        """What the bot posted in the channel by itself since last shown, with the threads opened on it."""
        threads = {t.id: t for t in channel.threads}
        mine = [m for m in self.catch_up(channel) if m.author.id == self.bot.user.id and m.type is discord.MessageType.default]
        for message in mine:
            self.screen.posted(message, f"#{channel.name}")
            if (thread := threads.get(message.id)) is not None:
                self.screen.out(f"  🧵 postbot started a thread: {thread.name}")
        self.scenes += bool(mine)
        return len(mine)


def _option(value) -> str:
    """An option as the member typed or picked it."""
    if isinstance(value, bool):
        return str(value).lower()
    if hasattr(value, "mention"):  # a role or a channel, picked
        return ("@" if value.mention.startswith("<@&") else "#") + value.name
    return str(value)
