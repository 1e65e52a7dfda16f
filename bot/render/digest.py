"""Daily digests as Discord shows them (and as the CLI prints them), and `/digest status`.

A digest's layout is its subscription's: "full" shows the first `max_posts` posts as cards (5 by
default, at most 20) and lists the next ones a line each; "compact" lists `max_posts` posts a
line each (30 by default). Either way at most 60 posts are named, then a count says how many more
there are and where to find them. A line links the post's title to its thread in the server, else
to the post's own address. Moments are Discord timestamps, which every reader sees in their own
timezone; the CLI's plain text uses the digest's timezone instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import discord

from bot.render import fit, format_date, pack_embeds, plural, shorten, text_embeds, timestamp
from bot.render.posts import card_text, linked, post_card_embed, post_url
from bot.services.digest import MAX_POSTS, DigestTaken, describe_run, format_local, retry_until
from bot.services.views import DigestStatus, DigestStyle, DigestView, PostCard, Run, StatusInfo, Subscription

DIGEST_COLOUR = discord.Colour.blurple()
DEFAULT_CARDS = 5  # full style: posts shown as cards unless the subscription says otherwise
MAX_CARDS = 20  # full style: never more cards than this (three messages of embeds)
DEFAULT_LINES = 30  # compact style: posts listed unless the subscription says otherwise
LISTED = MAX_POSTS  # posts named at all; beyond that the digest says how many more and where to find them


@dataclass(frozen=True)
class DigestLayout:
    """How a digest shows its posts, from its subscription; `discuss` is the /discuss command as cards name it."""

    style: DigestStyle = DigestStyle.FULL
    max_posts: int | None = None
    discuss: str = "`/discuss`"

    @classmethod
    def of(cls, sub: Subscription | None, *, discuss: str = "`/discuss`") -> DigestLayout:
        return cls(style=sub.style, max_posts=sub.max_posts, discuss=discuss) if sub else cls(discuss=discuss)

    @property
    def cards(self) -> int:
        return 0 if self.style == DigestStyle.COMPACT else min(self.max_posts or DEFAULT_CARDS, MAX_CARDS)

    @property
    def listed(self) -> int:
        """How many posts are named in all (cards and lines)."""
        return min(self.max_posts or DEFAULT_LINES, LISTED) if self.style == DigestStyle.COMPACT else LISTED

    def describe(self) -> str:
        """"full: up to 5 cards" / "compact: up to 30 lines", for setup and status."""
        if self.style == DigestStyle.COMPACT:
            return f"compact: one line a post, up to {self.listed}"
        return f"full: up to {plural(self.cards, 'card')}, then a line a post"


def _day(digest: DigestView) -> str:
    return f"{digest.local_date:%A, %-d %B %Y}"


def _since(digest: DigestView, *, markdown: bool) -> str:
    if markdown:
        return timestamp(digest.since, "f")
    return format_local(digest.since, digest.timezone)


def _heading(digest: DigestView, *, markdown: bool = True) -> tuple[str, list[str]]:
    if digest.empty:
        return f"Daily digest · {_day(digest)}", [f"No new posts since {_since(digest, markdown=markdown)}."]
    lines = [f"{plural(len(digest.posts), 'new post')} since {_since(digest, markdown=markdown)}."]
    top, n = digest.most_discussed, digest.most_discussed_comments
    if top is not None and n:
        name = f"**{linked(fit(top.title, 200, links=False), post_url(None, top.thread))}**" if markdown else shorten(top.title, 200)
        lines.append(f"Most discussed: {name} ({plural(n, 'new comment')})")
    return f"Daily digest · {_day(digest)}", lines


def post_line(card: PostCard) -> str:
    """One post in one line: its title (linked), date, source and comments."""
    title = f"**{linked(fit(card.title, 150, links=False), post_url(card.link, card.thread))}**"
    source = f" · {fit(card.source, 100)}" if card.source else ""
    return f"• {title} — {format_date(card.date)}{source} · 💬 {card.comment_count}"


def _lines(digest: DigestView, layout: DigestLayout) -> list[str]:
    """One line per post beyond the cards, and a closing count when even those run out."""
    lines = [post_line(p) for p in digest.posts[layout.cards : layout.listed]]
    hidden = len(digest.posts) - max(layout.listed, layout.cards)
    if hidden > 0:
        lines.append(f"…and {plural(hidden, 'more new post')}: `/post list` shows them all.")
    return lines


def digest_messages(digest: DigestView, layout: DigestLayout | None = None) -> list[list[discord.Embed]]:
    """A digest as messages of embeds: a heading, a card per post (full style), then the rest listed briefly."""
    layout = layout or DigestLayout()
    title, heading = _heading(digest)
    if layout.style == DigestStyle.COMPACT:
        heading.append(f"Talk about a post with {layout.discuss}.")
    embeds = [discord.Embed(title=title, description="\n".join(heading), colour=DIGEST_COLOUR)]
    embeds += [post_card_embed(card, colour=DIGEST_COLOUR, discuss=layout.discuss) for card in digest.posts[: layout.cards]]
    rest = _lines(digest, layout)
    if rest:
        embeds += text_embeds("New posts" if layout.style == DigestStyle.COMPACT else "More new posts", "\n".join(rest), colour=DIGEST_COLOUR)
    return pack_embeds(embeds)


def digest_empty_text(digest: DigestView) -> str:
    title, [line] = _heading(digest)
    return f"**{title}**\n{line}"


def digest_text(digest: DigestView) -> str:
    """The digest as plain text (the CLI), complete: every post with its summary."""
    title, heading = _heading(digest, markdown=False)
    out = [title, "=" * len(title), *heading]
    for card in digest.posts:
        out += ["", *card_text(card)]
    return "\n".join(out)


def role_ping(sub: Subscription) -> str | None:
    return f"<@&{sub.role_id}>" if sub.role_id else None


def role_mentions(sub: Subscription) -> discord.AllowedMentions:
    """What a digest may ping: exactly its role, never anyone else (stored text never pings)."""
    roles = [discord.Object(sub.role_id)] if sub.role_id else False
    return discord.AllowedMentions(everyone=False, users=False, roles=roles, replied_user=False)


# --------------------------------------------------------------------------- setup, status, /digest now


def moment(at: dt.datetime) -> str:
    """A moment and how far it is from now, as every reader sees them: "<t:…:f> (<t:…:R>)"."""
    return f"{timestamp(at, 'f')} ({timestamp(at, 'R')})"


def settings_line(sub: Subscription, layout: DigestLayout) -> str:
    """"daily at 08:00 Europe/Berlin · full: up to 5 cards · mentions @role · quiet on empty days"."""
    empty = "quiet on empty days" if sub.quiet else "posts “No new posts” on empty days"
    role = f" · mentions <@&{sub.role_id}>" if sub.role_id else ""
    return f"daily at {sub.time:%H:%M} {sub.timezone} · {layout.describe()}{role} · {empty}"


def next_run_text(next_run: dt.datetime, now: dt.datetime) -> str:
    return "at the next wake-up (due now)" if next_run <= now else moment(next_run)


def _last_run(sub: Subscription, last: Run, now: dt.datetime) -> str:
    """When the last digest ran (a skipped one: when it was due), then how it went; each said once."""
    at = sub.scheduled_at(last.local_date) if last.status == DigestStatus.SKIPPED else (last.finished_at or last.claimed_at)
    return f"Last run: {moment(at)} — {describe_run(last, now=now, timezone=sub.timezone)}"


def status_lines(info: StatusInfo, *, now: dt.datetime, channel_problem: str | None = None) -> list[str]:
    """What `/digest status` shows for one channel's digest."""
    sub = info.subscription
    lines = [f"**<#{sub.channel_id}>** — {settings_line(sub, DigestLayout.of(sub))}"]
    if channel_problem:
        lines.append(f"⚠️ {channel_problem}")
    lines.append(f"Next run: {next_run_text(info.next_run, now)}")
    last = info.last_run
    if last is None:
        lines.append("Last run: none yet")
        return lines
    lines.append(_last_run(sub, last, now))
    if last.status == DigestStatus.FAILED:
        until = retry_until(sub, last, now)
        if until is not None:
            lines.append(f"Retrying each minute until {timestamp(until, 't')}.")
        else:
            lines.append("No more retries for that day; fix the channel and use `/digest now`, or wait for the next run.")
    return lines


def taken_text(taken: DigestTaken) -> str:
    """Why `/digest now` posted nothing: today's digest was taken care of already (and when)."""
    run = taken.run
    done = f"{describe_run(run, now=taken.now, timezone=taken.timezone)}, {timestamp(run.claimed_at, 'f')}" if run else "claimed, earlier"
    return f"Today's digest for this channel was already taken care of ({done}); a channel gets one digest per day."
