"""Daily digests as Discord shows them (and as the CLI prints them), and `/digest status`."""

from __future__ import annotations

import datetime as dt

import discord

from bot.render import fit, format_date, pack_embeds, plural, shorten, text_embeds
from bot.render.posts import articles_lines, post_card_embed
from bot.services.digest import describe_run, format_local, retry_until
from bot.services.views import DigestStatus, DigestView, StatusInfo

DIGEST_COLOUR = discord.Colour.blurple()
DETAILED = 20  # posts shown as cards; the rest as one line each
LISTED = 60  # posts named at all; beyond that the digest says how many more and where to find them


def _day(digest: DigestView) -> str:
    return f"{digest.local_date:%A, %-d %B %Y}"


def _heading(digest: DigestView, *, markdown: bool = True) -> tuple[str, list[str]]:
    since = digest.local(digest.since)
    lines = [f"{plural(len(digest.posts), 'new post')} since {since:%a %-d %b %H:%M} {since.tzname()}."]
    top, n = digest.most_discussed, digest.most_discussed_comments
    if top is not None and n:
        name = f"**{fit(top.title, 200)}**" if markdown else shorten(top.title, 200)
        lines.append(f"Most discussed: {name} ({plural(n, 'new comment')})")
    return f"Daily digest · {_day(digest)}", lines


def _rest(digest: DigestView) -> list[str]:
    """One line per post beyond the detailed ones, and a closing count when even those run out."""
    lines = [
        f"• **{fit(p.title, 150)}** — {format_date(p.date)}" + (f" · {fit(p.source, 100)}" if p.source else "") + f" · 💬 {p.comment_count}"
        for p in digest.posts[DETAILED:LISTED]
    ]
    hidden = len(digest.posts) - LISTED
    if hidden > 0:
        lines.append(f"…and {plural(hidden, 'more new post')}: `/post list` shows them all.")
    return lines


def digest_messages(digest: DigestView) -> list[list[discord.Embed]]:
    """A digest as messages of embeds: a heading, a card per post, then the rest listed briefly."""
    title, heading = _heading(digest)
    embeds = [discord.Embed(title=title, description="\n".join(heading), colour=DIGEST_COLOUR)]
    embeds += [post_card_embed(card, colour=DIGEST_COLOUR) for card in digest.posts[:DETAILED]]
    rest = _rest(digest)
    if rest:
        embeds += text_embeds("More new posts", "\n".join(rest), colour=DIGEST_COLOUR)
    return pack_embeds(embeds)


def digest_empty_text(digest: DigestView) -> str:
    since = digest.local(digest.since)
    return f"**Daily digest · {_day(digest)}**\nNo new posts since {since:%a %-d %b %H:%M} {since.tzname()}."


def digest_text(digest: DigestView) -> str:
    """The digest as plain text (the CLI), complete: every post with its summary."""
    title, heading = _heading(digest, markdown=False)
    out = [title, "=" * len(title), *heading]
    if digest.empty:
        out.append("No new posts.")
    for card in digest.posts:
        out += ["", card.title, f"  {format_date(card.date)}" + (f" · {card.source}" if card.source else "")]
        if card.summary:
            out.append(f"  {card.summary}")
        out += [f"  Quotes {line}" for line in articles_lines(card, markdown=False)]
        newest = f", newest by {card.newest_commenter}" if card.newest_commenter else ""
        out.append(f"  {plural(card.comment_count, 'comment')}{newest}")
    return "\n".join(out)


def status_lines(info: StatusInfo, *, now: dt.datetime, channel_problem: str | None = None) -> list[str]:
    """What `/digest status` shows for one channel's digest."""
    sub = info.subscription
    quiet = " (quiet: empty days post nothing)" if sub.quiet else " (empty days post “No new posts”)"
    lines = [f"**<#{sub.channel_id}>** — daily at {sub.time:%H:%M} {sub.timezone}{quiet}"]
    if channel_problem:
        lines.append(f"⚠️ {channel_problem}")
    when = "at the next wake-up (due now)" if info.next_run <= now else format_local(info.next_run, sub.timezone)
    lines.append(f"Next run: {when}")
    last = info.last_run
    if last is None:
        lines.append("Last run: none yet")
        return lines
    at = last.finished_at or last.claimed_at
    lines.append(f"Last run: {last.local_date:%a %d %b %Y} ({format_local(at, sub.timezone)}) — {describe_run(last, now=now, timezone=sub.timezone)}")
    if last.status == DigestStatus.FAILED:
        until = retry_until(sub, last, now)
        if until is not None:
            lines.append(f"Retrying each minute until {format_local(until, sub.timezone)}.")
        else:
            lines.append("No more retries for that day; fix the channel and use `/digest now`, or wait for the next run.")
    return lines
