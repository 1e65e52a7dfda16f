"""/feed add|list|remove|status and the polling loop that keeps watched feeds fresh.

One `tasks.loop` ticks every minute and polls the feeds that are due (`poll_due`, which tests
call directly). New posts of a primed feed are announced in the feed's channel with a summary
card; a feed that the poll paused is reported to its server.
"""

from __future__ import annotations

import logging

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.errors import UserFacingError
from bot.render import (
    AUTOCOMPLETE_MAX,
    CHOICE_NAME_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_LIMIT,
    EMBED_TITLE_LIMIT,
    NO_MENTIONS,
    field_value,
    shorten,
    text_embeds,
)
from bot.services import feeds as service
from bot.services.feeds import FeedView, PollResult, PostCard

log = logging.getLogger(__name__)

MAX_ANNOUNCEMENTS = 10  # per feed and poll: a feed that suddenly lists 50 new entries must not flood
CARD_SUMMARY_LIMIT = 600
COLOUR = discord.Colour.orange()


def _when(value) -> str:
    return discord.utils.format_dt(value, "R") if value else "never"


def feed_state(feed: FeedView) -> str:
    """One line: how the feed is doing."""
    if feed.paused:
        return f"⏸️ paused (failing since {_when(feed.failing_since)})"
    if feed.last_status is None:
        return "⏳ not polled yet"
    if feed.failures:
        return f"⚠️ failing ({feed.failures}×), retry {_when(feed.next_poll_at)}"
    return f"✅ {feed.last_status}"


def card_embed(card: PostCard) -> discord.Embed:
    """The summary card of a newly loaded post: title, date, source, link, short summary."""
    embed = discord.Embed(
        title=shorten(card.title, EMBED_TITLE_LIMIT),
        url=card.link if card.link and card.link.startswith(("http://", "https://")) else None,
        description=shorten(card.summary, min(CARD_SUMMARY_LIMIT, EMBED_DESCRIPTION_LIMIT)) or None,
        colour=COLOUR,
    )
    embed.add_field(name="Date", value=card.date.isoformat())
    if card.source:
        embed.add_field(name="Source", value=field_value(card.source))
    if card.link:
        embed.add_field(name="Link", value=shorten(card.link, EMBED_FIELD_LIMIT), inline=False)
    embed.set_footer(text=f"post #{card.post_id} · /post show to read it")
    return embed


class Feeds(commands.Cog):
    """Watched RSS/Atom feeds: new entries become posts, and are announced where asked."""

    feed = app_commands.Group(name="feed", description="Watch RSS/Atom feeds for new posts.", guild_only=True)

    def __init__(self, bot) -> None:
        self.bot = bot
        self.http: aiohttp.ClientSession | None = None
        self.fetch_timeout = service.FETCH_TIMEOUT
        self.max_bytes = service.MAX_FEED_BYTES

    async def cog_load(self) -> None:
        self.poll_loop.start()

    async def cog_unload(self) -> None:
        self.poll_loop.cancel()
        if self.http is not None:
            await self.http.close()

    def _http(self) -> aiohttp.ClientSession:
        """One session for all polls, opened on first use (a bot without feeds never opens it)."""
        if self.http is None or self.http.closed:
            self.http = service.new_http_session(public_only=not self.bot.settings.feed_allow_private_hosts)
        return self.http

    # --- polling --------------------------------------------------------------------------

    @tasks.loop(minutes=1)
    async def poll_loop(self) -> None:
        try:
            await self.poll_due()
        except Exception:  # e.g. the database is away: log it and try again next tick
            log.exception("feed polling tick failed")

    @poll_loop.before_loop
    async def _before_poll(self) -> None:
        await self.bot.wait_until_ready()

    async def poll_due(self) -> list[PollResult]:
        """One tick: poll every due feed (concurrently, bounded), then announce and report."""
        db = self.bot.database
        now = discord.utils.utcnow()
        due = await db.run(service.due_feeds, db, now=now)
        if not due:
            return []
        results = await self.poll(due)
        log.info("polled %d feeds: %d ok", len(results), sum(r.ok for r in results))
        return results

    async def poll(self, feeds: list[FeedView]) -> list[PollResult]:
        db = self.bot.database
        results = await service.poll_feeds(
            db, self._http(), feeds, now=discord.utils.utcnow(), timeout=self.fetch_timeout, max_bytes=self.max_bytes
        )
        for result in results:
            try:
                await self.report(result)
            except Exception:  # one channel's trouble must not keep the others from hearing
                log.exception("reporting on feed %s failed", result.feed and result.feed.id)
        return results

    async def report(self, result: PollResult) -> None:
        feed = result.feed
        if feed is None or feed.guild_id is None:
            return
        if result.new_posts and feed.channel_id:
            await self.announce(feed, result.new_posts)
        if result.paused_now:
            await self.tell_paused(feed)

    def _sendable(self, channel_id: int | None, guild_id: int) -> discord.abc.Messageable | None:
        channel = self.bot.get_channel(channel_id) if channel_id else None
        if channel is None and channel_id is None:
            guild = self.bot.get_guild(guild_id)
            channel = guild.system_channel if guild else None
        if channel is None or not hasattr(channel, "send"):
            return None
        me = channel.guild.me
        if me is not None and not channel.permissions_for(me).send_messages:
            return None
        return channel

    async def announce(self, feed: FeedView, cards: list[PostCard]) -> None:
        channel = self._sendable(feed.channel_id, feed.guild_id)
        if channel is None:
            log.warning("feed %s: channel %s is gone or closed to me; not announcing", feed.id, feed.channel_id)
            return
        for card in cards[:MAX_ANNOUNCEMENTS]:
            await channel.send(embed=card_embed(card), allowed_mentions=NO_MENTIONS)
        if len(cards) > MAX_ANNOUNCEMENTS:
            more = len(cards) - MAX_ANNOUNCEMENTS
            await channel.send(
                f"…and {more} more new posts from <{feed.url}> (see `/post list`).", allowed_mentions=NO_MENTIONS
            )

    async def tell_paused(self, feed: FeedView) -> None:
        """The feed's channel, else the server's system channel; logged when neither will do."""
        channel = self._sendable(feed.channel_id, feed.guild_id) or self._sendable(None, feed.guild_id)
        text = (
            f"I paused the feed <{shorten(feed.url, 1500)}>: it has failed for a day "
            f"(last error: {shorten(feed.last_error or 'unknown', 300)}). "
            "Add it again with `/feed add` to resume it."
        )
        if channel is None:
            log.warning("feed %s paused; no channel in guild %s to say so", feed.id, feed.guild_id)
            return
        await channel.send(text, allowed_mentions=NO_MENTIONS)

    # --- commands -------------------------------------------------------------------------

    async def feed_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        db = self.bot.database
        feeds = await db.run(service.list_feeds, db, guild_id=interaction.guild_id)
        current = current.lower()
        return [
            app_commands.Choice(name=shorten(f"#{f.id} {f.url}", CHOICE_NAME_LIMIT), value=str(f.id))
            for f in feeds
            if current in f.url.lower() or current == str(f.id)
        ][:AUTOCOMPLETE_MAX]

    @feed.command(name="add")
    @app_commands.describe(
        url="The feed's address (RSS or Atom), http:// or https://",
        channel="Where to announce new posts (leave out to only load them)",
        interval_minutes="How often to check it (default: the bot's setting, usually 15)",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def add(
        self,
        interaction: discord.Interaction,
        url: str,
        channel: discord.TextChannel | None = None,
        interval_minutes: app_commands.Range[int, 5, 1440] | None = None,
    ) -> None:
        """Watch a feed: load its posts now and every few minutes, announcing new ones in a channel."""
        if channel is not None:
            perms = channel.permissions_for(interaction.guild.me)
            if not (perms.send_messages and perms.embed_links):
                raise UserFacingError(f"I cannot post embeds in {channel.mention}; give me Send Messages and Embed Links there.")
        db = self.bot.database
        interval = interval_minutes or self.bot.settings.feed_poll_minutes
        await interaction.response.defer(ephemeral=True, thinking=True)
        feed, created = await db.run(
            service.add_feed,
            db,
            url=url,
            guild_id=interaction.guild_id,
            channel_id=channel.id if channel else None,
            interval_minutes=interval,
            now=discord.utils.utcnow(),
        )
        [result] = await self.poll([feed])
        where = f"new posts will be announced in {channel.mention}" if channel else "new posts are loaded without announcements"
        verb = "Now watching" if created else "Updated"
        lines = [f"{verb} <{feed.url}> (#{feed.id}), every {interval} minutes; {where}."]
        if result.feed is not None and result.ok:
            lines.append(f"First check: {result.feed.last_status}.")
        elif result.feed is not None:
            lines.append(f"The first check failed: {result.feed.last_error}. I will retry with back-off; see `/feed status`.")
        await interaction.followup.send("\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @feed.command(name="list")
    async def list_(self, interaction: discord.Interaction) -> None:
        """The feeds this server watches, where they are announced and how often they are checked."""
        db = self.bot.database
        feeds = await db.run(service.list_feeds, db, guild_id=interaction.guild_id)
        if not feeds:
            await interaction.response.send_message("This server watches no feeds; add one with `/feed add`.", ephemeral=True)
            return
        lines = [
            f"**#{f.id}** <{shorten(f.url, 300)}> → {f'<#{f.channel_id}>' if f.channel_id else 'no channel'}, "
            f"every {f.interval_minutes} min · {feed_state(f)}"
            for f in feeds
        ]
        embeds = text_embeds(f"Watched feeds ({len(feeds)})", "\n".join(lines), colour=COLOUR)
        await interaction.response.send_message(embeds=embeds[:10], ephemeral=True, allowed_mentions=NO_MENTIONS)

    @feed.command(name="remove")
    @app_commands.describe(feed="The feed to stop watching (its posts stay)")
    @app_commands.autocomplete(feed=feed_autocomplete)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def remove(self, interaction: discord.Interaction, feed: str) -> None:
        """Stop watching a feed; the posts it brought stay in the store."""
        db = self.bot.database
        removed = await db.run(service.remove_feed, db, guild_id=interaction.guild_id, ref=feed)
        await interaction.response.send_message(f"Stopped watching <{removed.url}>.", ephemeral=True, allowed_mentions=NO_MENTIONS)

    @feed.command(name="status")
    @app_commands.describe(feed="One feed to explain (leave out for all of this server's feeds)")
    @app_commands.autocomplete(feed=feed_autocomplete)
    async def status(self, interaction: discord.Interaction, feed: str | None = None) -> None:
        """How each feed is doing: last and next check, failures and their reason."""
        db = self.bot.database
        if feed is None:
            feeds = await db.run(service.list_feeds, db, guild_id=interaction.guild_id)
        else:
            feeds = [await db.run(service.get_feed, db, guild_id=interaction.guild_id, ref=feed)]
        if not feeds:
            await interaction.response.send_message("This server watches no feeds; add one with `/feed add`.", ephemeral=True)
            return
        embeds = [self.status_embed(f) for f in feeds[:10]]
        note = f"Showing 10 of {len(feeds)} feeds; pick one with the `feed` option." if len(feeds) > 10 else None
        await interaction.response.send_message(note, embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @staticmethod
    def status_embed(feed: FeedView) -> discord.Embed:
        embed = discord.Embed(title=shorten(f"#{feed.id} {feed.url}", EMBED_TITLE_LIMIT), description=feed_state(feed), colour=COLOUR)
        embed.add_field(name="Last check", value=_when(feed.last_polled_at))
        embed.add_field(name="Next check", value="paused" if feed.paused else _when(feed.next_poll_at) if feed.next_poll_at else "soon")
        embed.add_field(name="Announces in", value=f"<#{feed.channel_id}>" if feed.channel_id else "nowhere (loads only)")
        if feed.last_error:
            embed.add_field(name="Reason", value=field_value(feed.last_error), inline=False)
        if feed.paused:
            embed.add_field(name="To resume", value="Add it again with `/feed add`.", inline=False)
        return embed


async def setup(bot) -> None:
    await bot.add_cog(Feeds(bot))
