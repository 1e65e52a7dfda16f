"""/feed add|list|remove|status and the polling loop that keeps watched feeds fresh.

One `tasks.loop` ticks every minute (`poll_due`, which tests call directly): it polls the feed
URLs that are due, each claimed so that one process fetches it however many servers and bots
watch it; then it sends the announcements waiting for this bot's servers - those its own polls
recorded and those another process or `postbot feed poll` did - each entry once with its card (as
its server sees it). A feed that the poll paused is reported to every server watching it.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import net
from bot.client import PostBot
from bot.errors import UserFacingError
from bot.render import AUTOCOMPLETE_MAX, CHOICE_NAME_LIMIT, NO_MENTIONS, escape, link_text, shorten
from bot.render.feeds import announcement, feed_list_embeds, more_announced, paused_notice, status_embed
from bot.services import feeds
from bot.services.views import FeedRecord, PollResult, SourceRecord

log = logging.getLogger(__name__)

GIVE_UP = (403, 404)  # a channel that refuses the bot or is gone: its announcements are dropped, not retried


class Feeds(commands.Cog):
    """Watched RSS/Atom feeds: new entries become posts, and are announced where asked."""

    # Discord takes default permissions per top-level command only (not per subcommand), so the
    # whole group is for Manage Server by default; add and remove also check it in code, since a
    # server may show /feed to members with an override (then they may use list and status).
    feed = app_commands.Group(
        name="feed",
        description="Watch RSS/Atom feeds for new posts.",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: PostBot) -> None:
        self.bot = bot
        self.db = bot.database
        self.fetch_timeout = net.FETCH_TIMEOUT
        self.max_bytes = net.MAX_BYTES

    async def cog_load(self) -> None:
        self.poll_loop.start()

    async def cog_unload(self) -> None:
        self.poll_loop.cancel()

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
        """One tick: poll every due feed URL that no other process is polling (concurrently,
        bounded), then send what is waiting to be announced in this bot's servers."""
        due = await self.db.call(feeds.due_sources, now=discord.utils.utcnow())
        results = await self.poll(due, due_only=True) if due else []
        if results:
            log.info("polled feed URLs for %d subscriptions: %d ok", len(results), sum(r.ok for r in results))
        await self.send_announcements()
        return results

    async def poll(self, due: list[SourceRecord], *, due_only: bool = False) -> list[PollResult]:
        """Poll these URLs and tell each subscription's server of a feed the poll paused."""
        results = await feeds.poll_feeds(
            self.db, self.bot.http_session, self.bot.settings.feed_allow_private_hosts, due,
            now=discord.utils.utcnow(), due_only=due_only, timeout=self.fetch_timeout, max_bytes=self.max_bytes,
        )
        for result in results:
            if result.paused_now and result.feed is not None and result.feed.guild_id is not None:
                try:
                    await self.tell_paused(result.feed)
                except Exception:  # one channel's trouble must not keep the others from hearing
                    log.exception("telling of paused feed %s failed", result.feed.id)
        return results

    async def send_announcements(self) -> None:
        """Send the pending announcements of this bot's servers (other shards send their own)."""
        waiting = await self.db.call(feeds.announcing, now=discord.utils.utcnow())
        for feed in waiting:
            if self.bot.get_guild(feed.guild_id) is None:
                continue
            try:
                await self.announce(feed)
            except Exception:  # one channel's trouble must not keep the others from hearing
                log.exception("announcing feed %s failed; retried once its lease runs out", feed.id)

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

    async def announce(self, feed: FeedRecord) -> None:
        """Take the subscription's pending entries, send each card, and mark each sent as it goes."""
        taken = await self.db.call(feeds.take_announcements, feed_id=feed.id, now=discord.utils.utcnow())
        if taken is None:
            return
        feed = taken.feed
        every = [entry for _card, entries in taken.cards for entry in entries] + list(taken.rest)
        channel = self._sendable(feed.channel_id, feed.guild_id)
        if channel is None:
            log.warning("feed %s: channel %s is gone or closed to me; not announcing", feed.id, feed.channel_id)
            await self.db.call(feeds.mark_announced, entry_ids=every)
            return
        try:
            for card, entries in taken.cards:
                await channel.send(embed=announcement(card), allowed_mentions=NO_MENTIONS)
                await self.db.call(feeds.mark_announced, entry_ids=entries)
            if taken.more:
                await channel.send(more_announced(feed, taken.more), allowed_mentions=NO_MENTIONS)
                await self.db.call(feeds.mark_announced, entry_ids=taken.rest)
        except discord.HTTPException as exc:
            if exc.status not in GIVE_UP:
                raise
            log.warning("feed %s: channel %s refused the announcement (%s); dropping it", feed.id, feed.channel_id, exc.status)
            await self.db.call(feeds.mark_announced, entry_ids=every)

    async def tell_paused(self, feed: FeedRecord) -> None:
        """The feed's channel, else the server's system channel; logged when neither will do."""
        channel = self._sendable(feed.channel_id, feed.guild_id) or self._sendable(None, feed.guild_id)
        if channel is None:
            log.warning("feed %s paused; no channel in guild %s to say so", feed.id, feed.guild_id)
            return
        await channel.send(paused_notice(feed), allowed_mentions=NO_MENTIONS)

    # --- commands -------------------------------------------------------------------------

    async def feed_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        watched = await self.db.call(feeds.list_feeds, guild_id=interaction.guild_id)
        current = current.lower()
        return [
            app_commands.Choice(name=shorten(f"#{f.id} {f.url}", CHOICE_NAME_LIMIT), value=str(f.id))
            for f in watched
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
        interval = interval_minutes or self.bot.settings.feed_poll_minutes
        await interaction.response.defer(ephemeral=True, thinking=True)
        feed, created = await self.db.call(
            feeds.add_feed, url=url, guild_id=interaction.guild_id, channel_id=channel.id if channel else None,
            interval_minutes=interval, now=discord.utils.utcnow(),
        )
        results = await self.poll([feed.source])
        await self.send_announcements()  # every server watching the URL hears of its news
        result = next((r for r in results if r.feed is not None and r.feed.id == feed.id), None)
        where = f"new posts will be announced in {channel.mention}" if channel else "new posts are loaded without announcements"
        verb = "Now watching" if created else "Updated"
        lines = [f"{verb} {link_text(feed.url, 1000)} (#{feed.id}), every {interval} minutes; {where}."]
        if result is not None and result.ok:
            lines.append(f"First check: {escape(result.status)}.")
        elif result is not None:
            lines.append(f"The first check failed: {escape(result.feed.last_error or 'unknown')}. I will retry with back-off; see `/feed status`.")
        else:
            lines.append("The first check could not run; I will retry, see `/feed status`.")
        await interaction.followup.send("\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @feed.command(name="list")
    async def list_(self, interaction: discord.Interaction) -> None:
        """The feeds this server watches, where they are announced and how often they are checked."""
        watched = await self.db.call(feeds.list_feeds, guild_id=interaction.guild_id)
        if not watched:
            await interaction.response.send_message("This server watches no feeds; add one with `/feed add`.", ephemeral=True)
            return
        await interaction.response.send_message(embeds=feed_list_embeds(watched), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @feed.command(name="remove")
    @app_commands.describe(feed="The feed to stop watching (its posts stay)")
    @app_commands.autocomplete(feed=feed_autocomplete)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def remove(self, interaction: discord.Interaction, feed: str) -> None:
        """Stop watching a feed; the posts it brought stay in the store."""
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing may wait for the database
        removed = await self.db.call(feeds.remove_feed, guild_id=interaction.guild_id, ref=feed)
        await interaction.followup.send(f"Stopped watching {link_text(removed.url, 1000)}.", ephemeral=True, allowed_mentions=NO_MENTIONS)

    @feed.command(name="status")
    @app_commands.describe(feed="One feed to explain (leave out for all of this server's feeds)")
    @app_commands.autocomplete(feed=feed_autocomplete)
    async def status(self, interaction: discord.Interaction, feed: str | None = None) -> None:
        """How each feed is doing: last and next check, failures and their reason."""
        if feed is None:
            shown = await self.db.call(feeds.list_feeds, guild_id=interaction.guild_id)
        else:
            shown = [await self.db.call(feeds.get_feed, guild_id=interaction.guild_id, ref=feed)]
        if not shown:
            await interaction.response.send_message("This server watches no feeds; add one with `/feed add`.", ephemeral=True)
            return
        note = f"Showing 10 of {len(shown)} feeds; pick one with the `feed` option." if len(shown) > 10 else None
        embeds = [status_embed(f) for f in shown[:10]]
        await interaction.response.send_message(note, embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: PostBot) -> None:
    await bot.add_cog(Feeds(bot))
