"""Store objects -> Discord text and embeds, always within Discord's limits, never cut silently."""

from __future__ import annotations

import re

import discord

MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
EMBED_FIELDS_MAX = 25
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
AUTOCOMPLETE_MAX = 25
CHOICE_NAME_LIMIT = 100
THREAD_NAME_LIMIT = 100

NO_MENTIONS = discord.AllowedMentions.none()
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))


def shorten(text: str, limit: int, *, placeholder: str = "…") -> str:
    """Fit a one-line label (title, choice name) into `limit`, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(placeholder)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + placeholder


def split_text(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` chars at paragraph, line, sentence or word breaks."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = 0
        for pattern in _BREAKS:
            ends = [m.start() for m in pattern.finditer(window) if 0 < m.start() <= limit]
            if ends and ends[-1] > limit // 3:
                cut = ends[-1]
                break
        if not cut:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks or [""]


def text_embeds(title: str, text: str, *, colour: discord.Colour | None = None, footer: str | None = None) -> list[discord.Embed]:
    """A long text as a series of embeds ("title (1/3)"), each description within the limit."""
    parts = split_text(text, EMBED_DESCRIPTION_LIMIT)
    embeds = []
    for index, part in enumerate(parts, 1):
        suffix = f" ({index}/{len(parts)})" if len(parts) > 1 else ""
        embed = discord.Embed(title=shorten(title, EMBED_TITLE_LIMIT - len(suffix)) + suffix, description=part, colour=colour)
        if footer:
            embed.set_footer(text=shorten(footer, EMBED_FOOTER_LIMIT))
        embeds.append(embed)
    return embeds


def pack_embeds(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages: at most 10 per message and 6000 characters over them."""
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        n = len(embed)
        if current and (len(current) == EMBEDS_PER_MESSAGE or size + n > EMBED_TOTAL_LIMIT):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += n
    if current:
        messages.append(current)
    return messages


def field_value(text: str) -> str:
    return shorten(text, EMBED_FIELD_LIMIT) or "\u200b"


# ----------------------------------------------------------------- digests
# (imports kept local: render stays importable without the digest service)

DIGEST_DETAILED = 20  # posts shown with summary and discussion; the rest as one line each
DIGEST_LISTED = 60  # posts named at all; beyond that the digest says how many more and where to find them
DIGEST_SUMMARY_LIMIT = 1200
DIGEST_COLOUR = discord.Colour.blurple()


def _digest_meta(post, *, markdown: bool = True) -> str:
    parts = [post.date.isoformat()]
    if post.source:
        source = shorten(post.source, 100)
        parts.append(discord.utils.escape_markdown(source) if markdown else source)
    return " · ".join(parts)


def _digest_discussion(post) -> str:
    if post.comment_count:
        noun = "comment" if post.comment_count == 1 else "comments"
        talk = f"💬 {post.comment_count} {noun}, newest by {discord.utils.escape_markdown(shorten(post.newest_commenter or '?', 80))}"
    else:
        talk = "💬 no comments yet"
    where = f"discuss in <#{post.thread_id}>" if post.thread_id else "discuss with `/discuss`"
    return f"{talk} · {where}"


def digest_post_embed(post) -> discord.Embed:
    lines = [f"**{_digest_meta(post)}**"]
    if post.summary:
        lines.append(shorten(post.summary, DIGEST_SUMMARY_LIMIT))
    if post.articles:
        lines.append(shorten("Quotes " + ", ".join(post.articles), EMBED_FIELD_LIMIT))
    lines.append(_digest_discussion(post))
    # Each part is capped, so the whole stays well inside the 4096-character description.
    embed = discord.Embed(title=shorten(post.title, EMBED_TITLE_LIMIT), description="\n".join(lines), colour=DIGEST_COLOUR)
    if post.link and len(post.link) <= 2000 and post.link.startswith(("http://", "https://")):
        embed.url = post.link
    return embed


def _digest_heading(digest) -> tuple[str, str]:
    title = f"Daily digest · {digest.local_date:%A, %-d %B %Y}"
    count = len(digest.posts)
    since = digest.local(digest.since)
    lines = [f"{count} new post{'s' if count != 1 else ''} since {since:%a %-d %b %H:%M} {since.tzname()}."]
    if digest.most_discussed is not None and digest.most_discussed_comments:
        top = digest.most_discussed
        n = digest.most_discussed_comments
        lines.append(f"Most discussed: **{discord.utils.escape_markdown(shorten(top.title, 200))}** ({n} new comment{'s' if n != 1 else ''})")
    return title, "\n".join(lines)


def _digest_rest(digest) -> list[str]:
    """One line per post beyond the detailed ones, and a closing count when even those run out."""
    rest = digest.posts[DIGEST_DETAILED:DIGEST_LISTED]
    lines = [f"• **{discord.utils.escape_markdown(shorten(p.title, 150))}** — {_digest_meta(p)} · 💬 {p.comment_count}" for p in rest]
    hidden = len(digest.posts) - DIGEST_LISTED
    if hidden > 0:
        lines.append(f"…and {hidden} more new post{'s' if hidden != 1 else ''}: `/post list` shows them all.")
    return lines


def digest_messages(digest) -> list[list[discord.Embed]]:
    """A digest as messages of embeds: a heading, one embed per post, then the rest listed briefly."""
    title, heading = _digest_heading(digest)
    embeds = [discord.Embed(title=title, description=heading, colour=DIGEST_COLOUR)]
    embeds += [digest_post_embed(p) for p in digest.posts[:DIGEST_DETAILED]]
    rest = _digest_rest(digest)
    if rest:
        embeds += text_embeds("More new posts", "\n".join(rest), colour=DIGEST_COLOUR)
    return pack_embeds(embeds)


def digest_empty_text(digest) -> str:
    since = digest.local(digest.since)
    return f"**Daily digest · {digest.local_date:%A, %-d %B %Y}**\nNo new posts since {since:%a %-d %b %H:%M} {since.tzname()}."


def digest_text(digest) -> str:
    """The digest as plain text (the CLI), complete: every post with its summary."""
    title, heading = _digest_heading(digest)
    out = [title, "=" * len(title), heading.replace("**", "")]
    if digest.empty:
        out.append("No new posts.")
    for post in digest.posts:
        out += ["", post.title, f"  {_digest_meta(post, markdown=False)}"]
        if post.summary:
            out.append(f"  {post.summary}")
        if post.articles:
            out.append("  Quotes " + ", ".join(post.articles))
        noun = "comment" if post.comment_count == 1 else "comments"
        newest = f", newest by {post.newest_commenter}" if post.newest_commenter else ""
        out.append(f"  {post.comment_count} {noun}{newest}")
    return "\n".join(out)
