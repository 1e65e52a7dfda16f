"""Watched feeds as Discord shows them: announcements, /feed list and /feed status, the paused notice.

An announcement is the one post card (in the feed's colour, with the entry's picture), several
cards batched in one message (up to 10 embeds and 6,000 characters; more go in further messages),
each with a "Discuss" button (the cog makes the buttons from `AnnouncementMessage.posts`). A
subscription's role is mentioned in the first message of each round of announcements, and only
that role may be pinged by it (`role_mentions`); stored text is escaped and never pings.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.render import (
    THREAD_NAME_LIMIT, escape, field_value, fit, link_text, pack_embeds, plural,
    safe_url, shorten, text_embeds, timestamp,
)
from bot.render.posts import post_card_embed
from bot.services.views import Discovered, FeedRecord, PollResult, PostCard

FEED_COLOUR = discord.Colour.orange()
BUTTON_LABEL_LIMIT = 80


@dataclass(frozen=True)
class AnnouncementMessage:
    """One message of announcements: its text (the role mention, if any), its cards and, for each
    card, the post its "Discuss" button opens, with the button's label."""

    content: str | None
    embeds: tuple[discord.Embed, ...]
    posts: tuple[tuple[int, str], ...]  # (post id, button label), in card order


def _when(moment) -> str:
    """A moment in full and how long ago (or how soon): "<t:…:f> (<t:…:R>)"."""
    return f"{timestamp(moment, 'f')} ({timestamp(moment, 'R')})" if moment else "never"


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


def announcement(card: PostCard, image: str | None = None) -> discord.Embed:
    """A newly loaded post of a watched feed: its card (linked once, by its title), with the entry's picture."""
    embed = post_card_embed(card, colour=FEED_COLOUR, footer=f"Post #{card.id} · /post show to read it", discussion=False)
    if (picture := safe_url(image)) is not None:
        embed.set_image(url=picture)
    return embed


def discuss_label(card: PostCard, *, alone: bool) -> str:
    """A card's "Discuss" button: "Discuss" alone under one card, else named after its post (labels show text as it is)."""
    return "Discuss" if alone else shorten(f"Discuss: {' '.join(card.title.split())}", BUTTON_LABEL_LIMIT)


def role_ping(feed: FeedRecord) -> str | None:
    return f"<@&{feed.role_id}>" if feed.role_id else None


def role_mentions(feed: FeedRecord) -> discord.AllowedMentions:
    """What an announcement may ping: exactly the subscription's role, never anyone else."""
    roles = [discord.Object(feed.role_id)] if feed.role_id else False
    return discord.AllowedMentions(everyone=False, users=False, roles=roles, replied_user=False)


def announcement_messages(feed: FeedRecord, cards: list[tuple[PostCard, str | None]], *, ping: bool = True) -> list[AnnouncementMessage]:
    """Cards (with their pictures) batched into messages; the first carries the role mention (`ping`)."""
    embeds = [announcement(card, image) for card, image in cards]
    by_embed = {id(embed): card for embed, (card, _image) in zip(embeds, cards)}
    messages = []
    for group in pack_embeds(embeds):
        shown = [by_embed[id(embed)] for embed in group]
        labels = tuple((card.id, discuss_label(card, alone=len(shown) == 1)) for card in shown)
        content = role_ping(feed) if ping and not messages else None
        messages.append(AnnouncementMessage(content=content, embeds=tuple(group), posts=labels))
    return messages


def thread_name(card: PostCard) -> str:
    """A post's thread (or forum post) name: its title as it is (thread names show no markdown)."""
    return shorten(" ".join(card.title.split()), THREAD_NAME_LIMIT) or f"Post #{card.id}"


def discovered_line(found: Discovered) -> str:
    """Which feed a web page led to, for /feed add's answer."""
    named = f" “{fit(found.title, 100)}”" if found.title else ""
    line = f"{link_text(found.page or '', 300)} is a web page; it names the {found.kind or 'RSS'} feed{named} {link_text(found.url, 500)}: I watch that one."
    if found.others:
        shown = ", ".join(link_text(url, 150) for url in found.others[:3])
        line += f" It names {plural(len(found.others), 'other feed')} too ({shown}{', …' if len(found.others) > 3 else ''}); add one by its address to watch it instead."
    return line


def more_announced(feed: FeedRecord, more: int) -> str:
    return f"…and {more} more new posts from {_url(feed, 1500)} (see `/post list`)."


def paused_notice(feed: FeedRecord) -> str:
    return (
        f"I paused the feed {_url(feed, 1500)}: it has failed for a day "
        f"(last error: {fit(feed.last_error or 'unknown', 300)}). Add it again with `/feed add` to resume it."
    )


def _extras(feed: FeedRecord) -> str:
    """What a subscription adds to its announcements, in one line of /feed list."""
    parts = [f"mentions <@&{feed.role_id}>" if feed.role_id else "", "a thread a post" if feed.threads else ""]
    parts.append("filtered" if feed.include_words or feed.exclude_words else "")
    return "".join(f" · {p}" for p in parts if p)


def feed_list_embeds(feeds: list[FeedRecord]) -> list[discord.Embed]:
    lines = [
        f"**#{f.id}** {_url(f)} → {f'<#{f.channel_id}>' if f.channel_id else 'no channel'}, "
        f"every {f.interval_minutes} min{_extras(f)} · {feed_state(f)}"
        for f in feeds
    ]
    return text_embeds(f"Watched feeds ({len(feeds)})", "\n".join(lines), colour=FEED_COLOUR)[:10]


def status_embed(feed: FeedRecord) -> discord.Embed:
    embed = discord.Embed(title=fit(f"#{feed.id} {feed.url}", 256, links=False), description=feed_state(feed), colour=FEED_COLOUR)
    embed.add_field(name="Last check", value=_when(feed.last_polled_at))
    embed.add_field(name="Next check", value="paused" if feed.paused else _when(feed.next_poll_at) if feed.next_poll_at else "soon")
    embed.add_field(name="Announces in", value=f"<#{feed.channel_id}>" if feed.channel_id else "nowhere (loads only)")
    if feed.title:
        embed.add_field(name="Feed", value=fit(feed.title, 200))
    if feed.role_id:
        embed.add_field(name="Mentions", value=f"<@&{feed.role_id}>")
    if feed.threads:
        embed.add_field(name="Threads", value="one a post, its discussion")
    embed.add_field(name="Filters", value=field_value(filters_text(feed)), inline=False)
    if feed.filtered:
        embed.add_field(name="Filtered", value=f"{feed.filtered:,} new entr{'y' if feed.filtered == 1 else 'ies'} stored, not announced")
    if feed.last_error:
        embed.add_field(name="Reason", value=field_value(escape(feed.last_error)), inline=False)
    if feed.paused:
        embed.add_field(name="To resume", value="Add it again with `/feed add`.", inline=False)
    return embed


def _terms(words: str) -> str:
    return ", ".join(f"“{escape(term.strip())}”" for term in words.split(",") if term.strip())


def filters_text(feed: FeedRecord) -> str:
    """The subscription's filters in a sentence."""
    rules = []
    if feed.include_words:
        rules.append(f"only entries with {_terms(feed.include_words)}")
    if feed.exclude_words:
        rules.append(f"never entries with {_terms(feed.exclude_words)}")
    return ("Announces " + "; ".join(rules) + " (title or text, any case).") if rules else "None: every new entry is announced."


def filters_line(feed: FeedRecord) -> str:
    """/feed filter's answer."""
    return f"Filters of {link_text(feed.url, 500)} (#{feed.id}): {filters_text(feed)} They apply to entries that arrive from now on."


def added_lines(
    feed: FeedRecord, *, created: bool, found: Discovered, result: PollResult | None, forum: bool, notes: list[str]
) -> str:
    """/feed add's answer: the feed chosen, where and how it is announced, its first check."""
    lines = [discovered_line(found)] if found.found else []
    if feed.channel_id is None:
        where = "new posts are loaded without announcements"
    elif forum:
        where = f"new posts become forum posts in <#{feed.channel_id}>, each its discussion thread"
    else:
        where = f"new posts will be announced in <#{feed.channel_id}>" + (", each with its discussion thread" if feed.threads else "")
    if feed.role_id:
        where += f", mentioning <@&{feed.role_id}>"
    verb = "Now watching" if created else "Updated"
    lines.append(f"{verb} {link_text(feed.url, 1000)} (#{feed.id}), every {feed.interval_minutes} minutes; {where}.")
    if result is not None and result.ok:
        lines.append(f"First check: {escape(result.status)}.")
    elif result is not None:
        lines.append(f"The first check failed: {escape(feed.last_error or 'unknown')}. I will retry with back-off; see `/feed status`.")
    else:
        lines.append("The first check could not run; I will retry, see `/feed status`.")
    return "\n".join(lines + notes)
