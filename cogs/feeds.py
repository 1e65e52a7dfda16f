"""/feed add|filter|list|remove|status and the polling loop that keeps watched feeds fresh.

One `tasks.loop` ticks every minute (`poll_due`, which tests call directly): it polls the feed
URLs that are due, each claimed so that one process fetches it however many servers and bots
watch it; then it sends the announcements waiting for this bot's servers - those its own polls
recorded and those another process or `postbot feed poll` did - each entry once with its card (as
its server sees it). A feed that the poll paused is reported to every server watching it.

Where an announcement goes: in a text channel, the cards batched (up to 10 a message) with a
"Discuss" button each; with `thread:true`, one message a post with its discussion thread opened
on it; in a forum channel, one forum post a post (tagged with the feed's title when the forum has
such a tag). Such a thread is registered as the post's discussion thread in the server, so its
messages are collected as comments under the server's discussion mode. The subscription's role
is mentioned in the first message of each round, and is the only mention allowed.
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
from bot.render.feeds import (
    added_lines, announcement_messages, feed_list_embeds, filters_line, more_announced, paused_notice, role_mentions,
    status_embed, thread_name,
)
from bot.services import comments, feed_filters, feeds
from bot.services.discovery import discover_feed
from bot.services.views import Announcements, FeedRecord, PollResult, PostCard, SourceRecord, ThreadRef
from cogs._threads import DiscussButton, discuss_view

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
        self.bot.add_dynamic_items(DiscussButton)  # the cards' buttons work after a restart too
        self.poll_loop.start()

    async def cog_unload(self) -> None:
        self.poll_loop.cancel()
        self.bot.remove_dynamic_items(DiscussButton)

    # --- polling --------------------------------------------------------------------------

    @tasks.loop(minutes=1)
    async def poll_loop(self) -> None:
        with self.bot.working():  # a shutdown lets a tick finish
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
        due = await self.db.call(feeds.due_sources, now=discord.utils.utcnow(), owns=self.bot.owns_guild)  # URLs its shards' servers watch
        results = await self.poll(due, due_only=True) if due else []
        if results:
            log.info("polled feed URLs for %d subscriptions: %d ok", len(results), sum(r.ok for r in results))
        await self.send_announcements()
        return results

    async def poll(
        self, due: list[SourceRecord], *, due_only: bool = False, prefetched: dict[str, feeds.Prefetched] | None = None
    ) -> list[PollResult]:
        """Poll these URLs and tell each subscription's server of a feed the poll paused."""
        results = await feeds.poll_feeds(
            self.db, self.bot.http_session, self.bot.settings.feed_allow_private_hosts, due,
            now=discord.utils.utcnow(), due_only=due_only, timeout=self.fetch_timeout, max_bytes=self.max_bytes,
            prefetched=prefetched,
        )
        for result in results:
            self.bot.metrics.feed_polled(ok=result.ok, status=result.status)
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

    def _sendable(self, channel_id: int | None, guild_id: int, *, forum: bool = False):
        """The channel to post in (a forum too, with `forum`), if it is there and open to the bot."""
        channel = self.bot.get_channel(channel_id) if channel_id else None
        if channel is None and channel_id is None:
            guild = self.bot.get_guild(guild_id)
            channel = guild.system_channel if guild else None
        if channel is None or not (hasattr(channel, "send") or (forum and isinstance(channel, discord.ForumChannel))):
            return None
        me = channel.guild.me
        if me is not None and not channel.permissions_for(me).send_messages:
            return None
        return channel

    async def announce(self, feed: FeedRecord) -> None:
        """Take the subscription's pending entries, send their cards, and mark each sent as it goes."""
        taken = await self.db.call(feeds.take_announcements, feed_id=feed.id, now=discord.utils.utcnow())
        if taken is None:
            return
        feed = taken.feed
        every = [entry for _card, entries in taken.cards for entry in entries] + list(taken.rest)
        channel = self._sendable(feed.channel_id, feed.guild_id, forum=True)
        if channel is None:
            log.warning("feed %s: channel %s is gone or closed to me; not announcing", feed.id, feed.channel_id)
            await self.db.call(feeds.mark_announced, entry_ids=every)
            return
        try:
            if isinstance(channel, discord.ForumChannel):
                await self._forum_posts(channel, taken)
            elif feed.threads:
                await self._threaded(channel, taken)
            else:
                await self._batched(channel, taken)
            if taken.more:  # a forum takes posts, not lines: there the rest are only stored
                if not isinstance(channel, discord.ForumChannel):
                    await self.bot.pacer.take()
                    await channel.send(more_announced(feed, taken.more), allowed_mentions=NO_MENTIONS)
                await self.db.call(feeds.mark_announced, entry_ids=taken.rest)
        except discord.HTTPException as exc:
            if exc.status not in GIVE_UP:
                raise
            log.warning("feed %s: channel %s refused the announcement (%s); dropping it", feed.id, feed.channel_id, exc.status)
            await self.db.call(feeds.mark_announced, entry_ids=every)

    async def _batched(self, channel, taken: Announcements) -> None:
        """Cards batched into messages, each card with its "Discuss" button."""
        feed, entries = taken.feed, dict((card.id, ids) for card, ids in taken.cards)
        for message in announcement_messages(feed, [(card, taken.images.get(card.id)) for card, _ids in taken.cards]):
            await self.bot.pacer.take()  # each request of a bulk send under Discord's global limit
            await channel.send(
                message.content, embeds=list(message.embeds), view=discuss_view(message.posts), allowed_mentions=role_mentions(feed)
            )
            await self.db.call(feeds.mark_announced, entry_ids=[e for post_id, _label in message.posts for e in entries[post_id]])

    async def _threaded(self, channel: discord.TextChannel, taken: Announcements) -> None:
        """A message a post, its discussion thread opened on it (unless the post has one here already)."""
        feed = taken.feed
        for index, (card, entries) in enumerate(taken.cards):
            [message] = announcement_messages(feed, [(card, taken.images.get(card.id))], ping=index == 0)
            await self.bot.pacer.take()
            sent = await channel.send(
                message.content, embeds=list(message.embeds), view=discuss_view(message.posts), allowed_mentions=role_mentions(feed)
            )
            await self.db.call(feeds.mark_announced, entry_ids=entries)  # announced, whatever becomes of its thread
            if card.thread is not None:
                continue
            try:
                await self.bot.pacer.take()
                thread = await sent.create_thread(name=thread_name(card))
            except discord.HTTPException as exc:  # e.g. Create Public Threads was taken away: the card stands
                log.warning("feed %s: could not open a thread for post %s (%s)", feed.id, card.id, exc.status)
                continue
            await self._register(card, feed, channel.id, thread)

    async def _forum_posts(self, forum: discord.ForumChannel, taken: Announcements) -> None:
        """A forum post a post, tagged with the feed's title when the forum has that tag; it is the
        post's discussion thread here unless the post has one already (then the post says where)."""
        feed = taken.feed
        name = (feed.title or "").casefold().strip()
        tags = [tag for tag in forum.available_tags if name and tag.name.casefold().strip() == name][:1]
        if forum.flags.require_tag and not tags:
            log.warning("feed %s: forum %s requires a tag and has none named %r; dropping", feed.id, forum.id, feed.title)
            await self.db.call(feeds.mark_announced, entry_ids=[e for _card, ids in taken.cards for e in ids])
            return
        for index, (card, entries) in enumerate(taken.cards):
            [message] = announcement_messages(feed, [(card, taken.images.get(card.id))], ping=index == 0)
            content = message.content
            if card.thread is not None:
                content = "\n".join(filter(None, [content, f"Discussed in <#{card.thread.thread_id}>."]))
            await self.bot.pacer.take()
            made = await forum.create_thread(
                name=thread_name(card), content=content, embeds=list(message.embeds), applied_tags=tags,
                allowed_mentions=role_mentions(feed),
            )
            await self.db.call(feeds.mark_announced, entry_ids=entries)
            if card.thread is None:
                await self._register(card, feed, forum.id, made.thread)

    async def _register(self, card: PostCard, feed: FeedRecord, channel_id: int, thread: discord.Thread) -> None:
        """Remember the thread as the post's discussion thread in the server (if it got none meanwhile)."""
        ref = ThreadRef(post_id=card.id, guild_id=feed.guild_id, channel_id=channel_id, thread_id=thread.id)
        registered = await self.db.call(comments.register_thread, thread=ref, now=discord.utils.utcnow())
        if registered.thread_id != thread.id:
            log.info("post %s got thread %s meanwhile; thread %s stays unregistered", card.id, registered.thread_id, thread.id)

    async def tell_paused(self, feed: FeedRecord) -> None:
        """The feed's channel, else the server's system channel; logged when neither will do."""
        channel = self._sendable(feed.channel_id, feed.guild_id) or self._sendable(None, feed.guild_id)
        if channel is None:
            log.warning("feed %s paused; no channel in guild %s to say so", feed.id, feed.guild_id)
            return
        await self.bot.pacer.take()
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
        url="The feed's address (RSS or Atom), or a web page that names its feed; http:// or https://",
        channel="Where to announce new posts: a text or forum channel (leave out to only load them)",
        interval_minutes="How often to check it (default: the bot's setting, usually 15)",
        role="A role to mention when new posts are announced (only that role is pinged)",
        thread="Open a discussion thread on each announced post (a forum channel always does)",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def add(
        self,
        interaction: discord.Interaction,
        url: str,
        channel: discord.TextChannel | discord.ForumChannel | None = None,
        interval_minutes: app_commands.Range[int, 5, 1440] | None = None,
        role: discord.Role | None = None,
        thread: bool = False,
    ) -> None:
        """Watch a feed: load its posts now and every few minutes, announcing new ones in a channel."""
        notes = self._check_destination(interaction, channel, role, thread)
        interval = interval_minutes or self.bot.settings.feed_poll_minutes
        await interaction.response.defer(ephemeral=True, thinking=True)
        found, prefetched = await discover_feed(
            self.bot.http_session, self.bot.settings.feed_allow_private_hosts, url,
            timeout=self.fetch_timeout, max_bytes=self.max_bytes,
        )
        feed, created = await self.db.call(
            feeds.add_feed, url=found.url, guild_id=interaction.guild_id, channel_id=channel.id if channel else None,
            interval_minutes=interval, now=discord.utils.utcnow(), role_id=role.id if role else None,
            threads=thread and not isinstance(channel, discord.ForumChannel),
        )
        results = await self.poll([feed.source], prefetched={feed.url: prefetched} if prefetched is not None else None)
        await self.send_announcements()  # every server watching the URL hears of its news
        result = next((r for r in results if r.feed is not None and r.feed.id == feed.id), None)
        if isinstance(channel, discord.ForumChannel):
            notes += self._forum_notes(channel, result.feed if result and result.feed else feed)
        text = added_lines(
            result.feed if result and result.feed else feed, created=created, found=found, result=result,
            forum=isinstance(channel, discord.ForumChannel), notes=notes,
        )
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    def _check_destination(self, interaction: discord.Interaction, channel, role: discord.Role | None, thread: bool) -> list[str]:
        """Refuse what cannot work (a user error, before deferring); warnings for what will work only partly."""
        if channel is None:
            if role is not None or thread:
                raise UserFacingError("Pick a `channel` too: a role is mentioned, and threads open, where new posts are announced.")
            return []
        perms = channel.permissions_for(interaction.guild.me)
        needed = {"send_messages": perms.send_messages, "embed_links": perms.embed_links}
        if thread and not isinstance(channel, discord.ForumChannel):
            needed["create_public_threads"] = perms.create_public_threads
        missing = [name.replace("_", " ").title() for name, ok in needed.items() if not ok]
        if missing:
            raise UserFacingError(f"I cannot announce posts in {channel.mention}; give me {', '.join(missing)} there.")
        if role is None:
            return []
        if role.is_default():
            raise UserFacingError("Pick a role to mention, not @everyone.")
        if not role.mentionable and not perms.mention_everyone:
            return [f"⚠️ {role.mention} is not mentionable and I lack Mention All Roles in {channel.mention}: it will show, but nobody is notified."]
        return []

    @staticmethod
    def _forum_notes(forum: discord.ForumChannel, feed: FeedRecord) -> list[str]:
        """Whether the forum's posts will be tagged with the feed's title."""
        name = (feed.title or "").casefold().strip()
        if name and any(tag.name.casefold().strip() == name for tag in forum.available_tags):
            return [f"Its forum posts are tagged “{escape(feed.title)}”."]
        if forum.flags.require_tag:
            return [f"⚠️ {forum.mention} requires a tag: add one named “{escape(feed.title or '…')}” (the feed's title), or I cannot post there."]
        return [f"Add a tag named “{escape(feed.title)}” to {forum.mention} to have its posts tagged."] if feed.title else []

    @feed.command(name="filter")
    @app_commands.describe(
        feed="The feed to filter",
        include="Announce only entries with one of these words or phrases, comma-separated (leave out: no such rule)",
        exclude="Never announce entries with one of these words or phrases, comma-separated (leave out: no such rule)",
    )
    @app_commands.autocomplete(feed=feed_autocomplete)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def filter_(
        self,
        interaction: discord.Interaction,
        feed: str,
        include: app_commands.Range[str, 1, feed_filters.MAX_LIST_LENGTH] | None = None,
        exclude: app_commands.Range[str, 1, feed_filters.MAX_LIST_LENGTH] | None = None,
    ) -> None:
        """Announce only a feed's entries whose title or text has (or lacks) these words; leave both out to announce all."""
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing may wait for the database
        updated = await self.db.call(feed_filters.set_filters, guild_id=interaction.guild_id, ref=feed, include=include, exclude=exclude)
        await interaction.followup.send(filters_line(updated), ephemeral=True, allowed_mentions=NO_MENTIONS)

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
        """How each feed is doing: last and next check, failures and their reason, its role, threads and filters."""
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
