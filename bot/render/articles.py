"""Treaty articles as Discord shows them: /article pages (a range: each article on its own pages),
/articles lists, and the compact cards that answer article references in chat. Long texts are
split across embeds and pages, never cut; a chat card is cut and says where the rest is."""

from __future__ import annotations

import discord

from bot.render import EMBED_FIELD_LIMIT, EMBED_TITLE_LIMIT, escape, field_value, fit, format_date, pack_embeds, plural, shorten, text_embeds
from bot.services.views import ArticleAnswer, ArticleAnswers, ArticleSource, PostRef, TreatyArticles, article_label, number_ranges

ARTICLE_COLOUR = discord.Colour.dark_teal()
PREVIEW = 140  # characters of an article shown in /articles <treaty>
MAX_POSTS = 10  # citing posts named under an article
NOT_QUOTED = "No post quotes its wording yet; the posts below cite it."
CARD_TEXT = 1200  # characters of an article's text on a chat card (three cards stay within 6000)


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


def _footer(answer: ArticleAnswer) -> str | None:
    return " ".join(p for p in (answer.note, quoted_in(answer) or answer.chapter) if p) or None


def also_text(answer: ArticleAnswer) -> str:
    """"Also: Article V of the NPT, Article 5 of the UN Charter." (markdown)"""
    return escape(", ".join(answer.also)) + "."


def article_pages(answer: ArticleAnswer) -> list[list[discord.Embed]]:
    """The article as pages of embeds: its whole text (split if long), then the treaty and citing posts."""
    text = escape(answer.text) if answer.text else NOT_QUOTED
    embeds = text_embeds(escape(answer.heading, links=False), text, colour=ARTICLE_COLOUR, footer=_footer(answer))
    last = embeds[-1]
    last.add_field(name="Treaty", value=fit(answer.treaty, EMBED_FIELD_LIMIT), inline=False)
    if answer.posts:
        last.add_field(name=f"Cited in {plural(answer.post_count, 'post')}", value=posts_field(answer.posts, answer.post_count), inline=False)
    if answer.also:
        last.add_field(name="Also", value=field_value(f"{also_text(answer)} Pick one with the treaty option."), inline=False)
    return pack_embeds(embeds)


def answers_pages(found: ArticleAnswers) -> list[list[discord.Embed]]:
    """Each article of the answer on its own page(s), in order; numbers the treaty lacks said on the first page."""
    pages = [page for answer in found.answers for page in article_pages(answer)]
    if found.missing:
        which = "Article" if len(found.missing) == 1 else "Articles"
        lacking = f"{which} {number_ranges(list(found.missing))} of {found.answers[0].treaty}"
        pages[0][-1].add_field(name="Not known", value=field_value(escape(f"{lacking}: no text loaded, no post cites it.")), inline=False)
    return pages


def article_card(answer: ArticleAnswer) -> discord.Embed:
    """One article in a chat answer: its heading, the opening of its text, where the wording comes from."""
    embed = discord.Embed(title=fit(answer.heading, EMBED_TITLE_LIMIT, links=False), colour=ARTICLE_COLOUR)
    if answer.text:
        whole = len(escape(answer.text)) <= CARD_TEXT
        embed.description = escape(answer.text) if whole else fit(answer.text, CARD_TEXT)
        if not whole:
            asked = article_label(str(answer.number), answer.paragraph)
            embed.description += f"\n\n*The whole article: /article {asked} treaty: {escape(answer.treaty)}*"
    else:
        embed.description = f"Cited in {plural(answer.post_count, 'post')}; no post quotes its wording yet."
    footer = quoted_in(answer) or answer.chapter
    if footer:
        embed.set_footer(text=shorten(footer, 300))
    return embed


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
