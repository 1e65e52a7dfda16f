"""Watched feeds as Discord shows them: announcements, /feed list and /feed status, the paused notice."""

from __future__ import annotations

import discord

from bot.render import escape, field_value, fit, link_text, text_embeds, timestamp
from bot.render.posts import post_card_embed
from bot.services.views import FeedRecord, PostCard

FEED_COLOUR = discord.Colour.orange()


def _when(moment) -> str:
    return timestamp(moment, "R") if moment else "never"


def _url(feed: FeedRecord, limit: int = 300) -> str:
    """A feed's address, unfurled never (angle brackets) and cut to `limit`."""
    return link_text(feed.url, limit)


def feed_state(feed: FeedRecord) -> str:
    """One line: how the feed is doing."""
    if feed.paused:
        return f"⏸️ paused (failing since {_when(feed.failing_since)})"
    if feed.last_status is None:
        return "⏳ not polled yet"
    if feed.failures:
        return f"⚠️ failing ({feed.failures}×), retry {_when(feed.next_poll_at)}"
    return f"✅ {escape(feed.last_status)}"


def announcement(card: PostCard) -> discord.Embed:
    """A newly loaded post of a watched feed: its card."""
    return post_card_embed(card, colour=FEED_COLOUR, footer=f"Post #{card.id} · /post show to read it", discussion=False)


def more_announced(feed: FeedRecord, more: int) -> str:
    return f"…and {more} more new posts from {_url(feed, 1500)} (see `/post list`)."


def paused_notice(feed: FeedRecord) -> str:
    return (
        f"I paused the feed {_url(feed, 1500)}: it has failed for a day "
        f"(last error: {fit(feed.last_error or 'unknown', 300)}). Add it again with `/feed add` to resume it."
    )


def feed_list_embeds(feeds: list[FeedRecord]) -> list[discord.Embed]:
    lines = [
        f"**#{f.id}** {_url(f)} → {f'<#{f.channel_id}>' if f.channel_id else 'no channel'}, "
        f"every {f.interval_minutes} min · {feed_state(f)}"
        for f in feeds
    ]
    return text_embeds(f"Watched feeds ({len(feeds)})", "\n".join(lines), colour=FEED_COLOUR)[:10]


def status_embed(feed: FeedRecord) -> discord.Embed:
    embed = discord.Embed(title=fit(f"#{feed.id} {feed.url}", 256, links=False), description=feed_state(feed), colour=FEED_COLOUR)
    embed.add_field(name="Last check", value=_when(feed.last_polled_at))
    embed.add_field(name="Next check", value="paused" if feed.paused else _when(feed.next_poll_at) if feed.next_poll_at else "soon")
    embed.add_field(name="Announces in", value=f"<#{feed.channel_id}>" if feed.channel_id else "nowhere (loads only)")
    if feed.last_error:
        embed.add_field(name="Reason", value=field_value(escape(feed.last_error)), inline=False)
    if feed.paused:
        embed.add_field(name="To resume", value="Add it again with `/feed add`.", inline=False)
    return embed
