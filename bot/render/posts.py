"""Posts as Discord shows them: the one post card, /post list pages, comments, search hits, load reports.

A post is linked where a reader can go on: its discussion thread in the server, else its own
address (`post_url`). The plain-text forms (`card_text`, `comments_text`) are the CLI's.
"""

from __future__ import annotations

import datetime as dt

import discord

from bot.render import (
    EMBED_TITLE_LIMIT,
    escape,
    field_value,
    fit,
    format_date,
    plural,
    safe_url,
    shorten,
    split_markdown,
    timestamp,
)
from bot.services.views import (
    CommentOrigin,
    HitKind,
    LoadStatus,
    PostCard,
    PostPage,
    SearchHit,
    Snippet,
    SourceKind,
    SourceResult,
    StoredComment,
    ThreadRef,
    number_ranges,
)

POST_COLOUR = discord.Colour.dark_blue()
SUMMARY_LIMIT = 600  # characters of a card's summary, wherever the card is shown
COMMENTS_PER_PAGE = 8
PAGE_BUDGET = 3800  # description characters per page: below 4096, and 6000 with title and footer
HITS_PER_PAGE = 5
SNIPPET_LIMIT = 500


def articles_lines(card: PostCard, *, markdown: bool = True) -> list[str]:
    """"North Atlantic Treaty: Articles 4, 5", a line per treaty the post cites (plain text: `markdown=False`)."""
    return [
        f"{escape(treaty) if markdown else treaty}: {'Article' if len(numbers) == 1 else 'Articles'} {number_ranges(list(numbers))}"
        for treaty, numbers in card.articles
    ]


def thread_url(thread: ThreadRef) -> str:
    """A thread as a link (Discord opens it in the app)."""
    return f"https://discord.com/channels/{thread.guild_id}/{thread.thread_id}"


def post_url(link: str | None, thread: ThreadRef | None) -> str | None:
    """Where a post's title leads: its thread in this server, else its own address (a safe http(s) one)."""
    if thread is not None:
        return thread_url(thread)
    url = safe_url(link)
    return url if url and not any(c in url for c in "<>") else None


def linked(markdown: str, url: str | None) -> str:
    """Markdown text as a masked link to `url` (no preview), or as it is without one."""
    if not url:
        return markdown
    return f"[{markdown.replace(']', chr(92) + ']')}](<{url}>)"


def post_card_embed(
    card: PostCard, *, footer: str | None = None, colour: discord.Colour = POST_COLOUR, discussion: bool = True, discuss: str = "`/discuss`"
) -> discord.Embed:
    """The post at a glance: /post show, its thread's first message, feed announcements and digests.
    `discuss`: the /discuss command as the card names it (the bot's clickable mention)."""
    embed = discord.Embed(
        title=fit(card.title, EMBED_TITLE_LIMIT, links=False),
        url=safe_url(card.link),
        description=fit(card.summary, SUMMARY_LIMIT) or None,
        colour=colour,
    )
    embed.add_field(name="Date", value=format_date(card.date), inline=True)
    if card.source:
        embed.add_field(name="Source", value=fit(card.source, 200), inline=True)
    comments = str(card.comment_count)
    if card.comment_count and card.newest_commenter:
        comments += f", newest by {fit(card.newest_commenter, 80)}"
    embed.add_field(name="Comments", value=comments, inline=True)
    if card.headline:
        embed.add_field(name="Headline", value=fit(card.headline, 1000), inline=False)
    if card.articles:
        embed.add_field(name="Articles quoted", value=field_value("\n".join(articles_lines(card))), inline=False)
    if discussion:
        where = f"<#{card.thread.thread_id}>" if card.thread else f"No thread yet: start one with {discuss}."
        embed.add_field(name="Discussion", value=where, inline=False)
    embed.set_footer(text=footer or f"Post #{card.id}")
    return embed


def post_list_embed(page: PostPage) -> discord.Embed:
    lines = []
    for p in page.posts:
        source = f" · {fit(p.source, 60)}" if p.source else ""
        lines.append(f"**{fit(p.title, 150)}**\n{format_date(p.date)}{source} · 💬 {p.comment_count} · #{p.id}")
    embed = discord.Embed(title="Posts, newest first", description="\n\n".join(lines), colour=POST_COLOUR)
    embed.set_footer(text=f"Page {page.page + 1} of {page.pages} · /post show to read one")
    return embed


# --------------------------------------------------------------------------- comments


def _comment_block(c: StoredComment) -> str:
    when = f" · {timestamp(c.posted_at, 'f')}" if c.posted_at else ""
    where = " · Discord" if c.origin == CommentOrigin.DISCORD else ""
    return f"**{fit(c.author, 100)}**{when}{where} · #{c.id}\n{escape(c.text)}"


def comment_pages(title: str, comments: list[StoredComment]) -> list[list[discord.Embed]]:
    """One embed per page, a few comments each; a very long comment spans pages."""
    blocks: list[str] = []
    for c in comments:
        blocks.extend(split_markdown(_comment_block(c), PAGE_BUDGET))
    pages: list[str] = []
    current: list[str] = []
    for block in blocks:
        if current and (len(current) == COMMENTS_PER_PAGE or len("\n\n".join([*current, block])) > PAGE_BUDGET):
            pages.append("\n\n".join(current))
            current = []
        current.append(block)
    if current:
        pages.append("\n\n".join(current))
    from_discord = sum(c.origin == CommentOrigin.DISCORD for c in comments)
    footer = f"{len(comments) - from_discord} original, {from_discord} from Discord"
    heading = f"Comments on {fit(title, EMBED_TITLE_LIMIT - 20, links=False)}"
    return [[discord.Embed(title=heading, description=page, colour=POST_COLOUR).set_footer(text=footer)] for page in pages]


# --------------------------------------------------------------------------- search


def snippet_markdown(snippet: Snippet, *, limit: int = SNIPPET_LIMIT) -> str:
    """Matched words in bold, everything escaped; cut between pieces, so the markup stays whole."""
    out = ""
    for text, matched in snippet:
        piece = escape(text)
        if len(out) + len(piece) + 4 > limit:
            return out.rstrip() + "…"
        out += f"**{piece}**" if matched and piece.strip() else piece
    return out


def snippet_text(snippet: Snippet) -> str:
    """A snippet as plain text (the terminal)."""
    return "".join(text for text, _ in snippet)


def _hit_when(hit: SearchHit) -> str | None:
    """Plain text: a hit's own date (a comment's time, a post's date)."""
    if hit.kind == HitKind.COMMENT:
        return format_date(hit.posted_at.date()) if hit.posted_at else None
    return format_date(hit.date) if hit.date else None


def belongs_to(hit: SearchHit) -> str:
    """Plain text: what a hit belongs to (the terminal)."""
    when = _hit_when(hit)
    dated = f" ({when})" if when else ""
    if hit.kind == HitKind.COMMENT:
        return f"comment #{hit.id} by {hit.author}{dated} on post #{hit.post_id}: {hit.title}"
    if hit.kind == HitKind.ARTICLE:
        return f"Article {hit.article} of {hit.title}"
    link = f" {hit.link}" if hit.link else ""
    return f"post #{hit.id}: {hit.title}{dated}{link}"


def hit_block(number: int, hit: SearchHit) -> str:
    """One hit: what it belongs to (linked to the post's thread here, else its address), then its snippet."""
    url = post_url(hit.link, hit.thread)
    if hit.kind == HitKind.POST:
        title = snippet_markdown(hit.heading, limit=220) if len(hit.title) <= 200 else fit(hit.title, 200, links=False)
        where = f"📰 {linked(title, url)} ({format_date(hit.date)}) · #{hit.id}"
    elif hit.kind == HitKind.COMMENT:
        when = f" · {timestamp(hit.posted_at, 'f')}" if hit.posted_at else ""
        title = f"*{linked(fit(hit.title, 150, links=False), url)}*"
        where = f"💬 comment by {fit(hit.author or '?', 80)}{when} on {title} · post #{hit.post_id}"
    else:
        where = f"📜 Article {escape(hit.article or '?')} of {fit(hit.title, 150)}"
    text = snippet_markdown(hit.snippet)
    return f"**{number}.** {where}" + (f"\n> {text}" if text else "")


def search_page(query: str, hits: list[SearchHit], *, start: int, total: int) -> list[discord.Embed]:
    """One page of a search's hits, numbered from `start` + 1, of `total` best matches."""
    blocks = [hit_block(start + i + 1, h) for i, h in enumerate(hits)]
    description = "\n\n".join(blocks) or "The matches on this page have been removed since the search."
    embed = discord.Embed(title=f"Search: {fit(query, EMBED_TITLE_LIMIT - 10, links=False)}", description=description, colour=POST_COLOUR)
    best = "1 match" if total == 1 else f"{total} best matches"
    embed.set_footer(text=f"{best} · posts, comments and treaty articles")
    return [embed]


def nothing_found(query: str) -> str:
    return f"Nothing matches {fit(query, 100)}."


# --------------------------------------------------------------------------- plain text (the CLI)


def card_text(card: PostCard) -> list[str]:
    """A post card as plain lines: stored text as it is, nothing escaped."""
    lines = [card.title, f"  {format_date(card.date)}" + (f" · {card.source}" if card.source else "") + f" · post #{card.id}"]
    if card.headline:
        lines.append(f"  Headline: {card.headline}")
    if card.link:
        lines.append(f"  {card.link}")
    if card.summary:
        lines.append(f"  {card.summary}")
    lines += [f"  Quotes {line}" for line in articles_lines(card, markdown=False)]
    newest = f", newest by {card.newest_commenter}" if card.newest_commenter else ""
    lines.append(f"  {plural(card.comment_count, 'comment')}{newest}")
    return lines


def _local(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


def comments_text(title: str, comments: list[StoredComment]) -> list[str]:
    """A post's comments as plain lines, each with its number, author, time and origin."""
    if not comments:
        return [f"{title}: no comments yet."]
    from_discord = sum(c.origin == CommentOrigin.DISCORD for c in comments)
    lines = [f"Comments on {title} ({len(comments) - from_discord} original, {from_discord} from Discord)"]
    for c in comments:
        when = f" · {_local(c.posted_at)}" if c.posted_at else ""
        where = " · Discord" if c.origin == CommentOrigin.DISCORD else ""
        lines += ["", f"#{c.id} {c.author}{when}{where}", *(f"  {line}" for line in c.text.splitlines())]
    return lines



# --------------------------------------------------------------------------- loading


def load_report(result: SourceResult, *, filename: str) -> str:
    """What /load did with one upload, in a message well within 2,000 characters."""
    shown = f"`{shorten(filename, 100).replace('`', '')}`"
    if result.kind == SourceKind.TREATY and result.treaty is not None:
        t = result.treaty
        replaced = f", replacing {t.replaced}" if t.replaced else ""
        return f"📜 {shown} is a **treaty text**: {fit(t.name, 300)} loaded with {plural(len(t.articles), 'article')}{replaced}."
    if result.error:
        what = {SourceKind.FEED: "a **feed**", SourceKind.POST: "a **post file**", SourceKind.TREATY: "a **treaty text**"}.get(result.kind)
        why = fit(result.located(""), 1500)
        return f"❌ {shown} looks like {what} but was rejected: {why}" if what else f"❌ Rejected {shown}: {why}"
    kind = "a **feed**" if result.kind == SourceKind.FEED else "a **post file**"
    counts = ", ".join(f"{result.count(status)} {status}" for status in LoadStatus)
    lines = [f"✅ {shown} is {kind}: {counts}."]
    lines += [f"⚠️ {fit(w, 300)}" for w in result.warnings[:5]]
    if len(result.warnings) > 5:
        lines.append(f"…and {len(result.warnings) - 5} more warnings")
    return "\n".join(lines)
