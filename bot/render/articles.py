"""Treaty articles as Discord shows them: /article pages, /articles lists. Long texts are split
across embeds and pages, never cut."""

from __future__ import annotations

import discord

from bot.render import EMBED_FIELD_LIMIT, escape, field_value, fit, format_date, pack_embeds, plural, text_embeds
from bot.services.views import ArticleAnswer, ArticleSource, PostRef, TreatyArticles, number_ranges

ARTICLE_COLOUR = discord.Colour.dark_teal()
PREVIEW = 140  # characters of an article shown in /articles <treaty>
MAX_POSTS = 10  # citing posts named under an article
NOT_QUOTED = "No post quotes its wording yet; the posts below cite it."


def posts_field(posts: tuple[PostRef, ...], total: int) -> str:
    """Up to MAX_POSTS "• title (date)" lines within a field's limit, then how many more of `total`."""
    lines: list[str] = []
    for index, post in enumerate(posts):
        line = f"• {fit(post.title, 150)} ({format_date(post.date)})"
        if index == MAX_POSTS or len("\n".join([*lines, line])) + 30 > EMBED_FIELD_LIMIT:
            break
        lines.append(line)
    if total > len(lines):
        lines.append(f"…and {total - len(lines):,} more (find them with /search)")
    return "\n".join(lines)


def quoted_in(answer: ArticleAnswer) -> str | None:
    """Where the wording comes from when the treaty's own text is not loaded (plain text)."""
    if answer.source == ArticleSource.QUOTE and answer.quoted_in is not None:
        post = answer.quoted_in
        return f"As quoted in {post.title} ({format_date(post.date)}); the treaty's own text is not loaded."
    return None


def article_pages(answer: ArticleAnswer) -> list[list[discord.Embed]]:
    """The article as pages of embeds: its whole text (split if long), then the treaty and citing posts."""
    text = escape(answer.text) if answer.text else NOT_QUOTED
    embeds = text_embeds(escape(answer.heading, links=False), text, colour=ARTICLE_COLOUR, footer=quoted_in(answer) or answer.chapter)
    last = embeds[-1]
    last.add_field(name="Treaty", value=fit(answer.treaty, EMBED_FIELD_LIMIT), inline=False)
    if answer.posts:
        last.add_field(name=f"Cited in {plural(answer.post_count, 'post')}", value=posts_field(answer.posts, answer.post_count), inline=False)
    if answer.also_in:
        others = escape("; ".join(answer.also_in))
        last.add_field(name="Also in", value=field_value(f"{others}. Pick one with the treaty option."), inline=False)
    return pack_embeds(embeds)


def _treaty_lines(treaty: TreatyArticles) -> list[str]:
    kind = f"full text, {len(treaty.articles)} articles" if treaty.has_text else "quoted in posts"
    lines = [f"**{escape(treaty.name)}** — {kind}", f"Articles: {number_ranges(treaty.numbers)}"]
    cited = [f"{a.number} ({plural(a.post_count, 'post')})" for a in treaty.articles if a.post_count]
    if cited:
        lines.append("Cited: " + ", ".join(cited))
    return lines


def articles_pages(treaties: list[TreatyArticles], *, detailed: bool) -> list[list[discord.Embed]]:
    """Every known treaty with its article numbers; one treaty (detailed) with a preview of each article."""
    if detailed:
        treaty = treaties[0]
        title = f"Articles of {escape(treaty.name, links=False)}"
        lines = []
        for a in treaty.articles:
            count = f" · cited in {plural(a.post_count, 'post')}" if a.post_count else ""
            preview = fit(a.preview, PREVIEW) if a.preview else "(cited without a quote)"
            lines.append(f"**Article {escape(a.label)}**{count}\n{preview}")
    else:
        title = "Treaty articles known"
        lines = ["\n".join(_treaty_lines(t)) for t in treaties]
    return pack_embeds(text_embeds(title, "\n\n".join(lines), colour=ARTICLE_COLOUR, footer="Quote one with /article number treaty."))
