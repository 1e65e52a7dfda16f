"""/article and /articles: quote a treaty article, list the articles known.

The answers come from bot.services.articles (the same as `postbot article` and `postbot treaty
list`). Long texts are split across embeds; what does not fit one message is paginated, never cut.
The work is a few indexed lookups, so the commands answer directly: not deferring keeps user
errors (unknown article or treaty) ephemeral.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.paginator import Paginator
from bot.render import EMBED_FIELD_LIMIT, field_value, pack_embeds, shorten, text_embeds
from bot.services import articles as service
from bot.services.articles import ArticleAnswer, TreatyArticles, number_ranges

log = logging.getLogger(__name__)

COLOUR = discord.Colour.dark_teal()
PREVIEW = 140  # characters of an article shown in /articles <treaty>
MAX_POSTS = 10  # citing posts named under an article


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(text)


def posts_field(posts: list[service.PostRef], total: int) -> str:
    """Up to MAX_POSTS "• title (date)" lines within a field's limit, then how many more of `total`."""
    lines: list[str] = []
    for index, post in enumerate(posts):
        line = f"• {_escape(shorten(post.title, 150))} ({post.date.isoformat()})"
        if index == MAX_POSTS or len("\n".join([*lines, line])) + 30 > EMBED_FIELD_LIMIT:
            break
        lines.append(line)
    if total > len(lines):
        lines.append(f"…and {total - len(lines):,} more (find them with /search)")
    return "\n".join(lines)


def article_pages(answer: ArticleAnswer) -> list[list[discord.Embed]]:
    """The article as pages of embeds: its whole text (split if long), then the treaty and citing posts."""
    if answer.source == "quote" and answer.quoted_in is not None:
        post = answer.quoted_in
        footer = f"As quoted in {post.title} ({post.date.isoformat()}); the treaty's own text is not loaded."
    else:
        footer = answer.chapter
    text = answer.text or "No post quotes its wording yet; the posts below cite it."
    embeds = text_embeds(answer.heading, text, colour=COLOUR, footer=footer)
    last = embeds[-1]
    last.add_field(name="Treaty", value=field_value(answer.treaty), inline=False)
    if answer.posts:
        noun = "post" if answer.post_count == 1 else "posts"
        last.add_field(name=f"Cited in {answer.post_count:,} {noun}", value=posts_field(answer.posts, answer.post_count), inline=False)
    if answer.also_in:
        others = "; ".join(answer.also_in)
        last.add_field(name="Also in", value=field_value(f"{others}. Pick one with the treaty option."), inline=False)
    return pack_embeds(embeds)


def _treaty_lines(treaty: TreatyArticles) -> list[str]:
    kind = f"full text, {len(treaty.articles)} articles" if treaty.has_text else "quoted in posts"
    lines = [f"**{_escape(treaty.name)}** — {kind}", f"Articles: {number_ranges(treaty.numbers)}"]
    cited = [f"{a.number} ({a.post_count} post{'s' if a.post_count != 1 else ''})" for a in treaty.articles if a.post_count]
    if cited:
        lines.append("Cited: " + ", ".join(cited))
    return lines


def articles_pages(treaties: list[TreatyArticles], *, detailed: bool) -> list[list[discord.Embed]]:
    """Every known treaty with its article numbers; one treaty (detailed) with a preview of each article."""
    if detailed:
        treaty = treaties[0]
        title = f"Articles of {treaty.name}"
        lines = []
        for a in treaty.articles:
            count = f" · cited in {a.post_count} post{'s' if a.post_count != 1 else ''}" if a.post_count else ""
            preview = _escape(shorten(a.preview, PREVIEW)) if a.preview else "(cited without a quote)"
            lines.append(f"**Article {a.label}**{count}\n{preview}")
    else:
        title = "Treaty articles known"
        lines = ["\n".join(_treaty_lines(t)) for t in treaties]
    footer = "Quote one with /article number treaty."
    return pack_embeds(text_embeds(title, "\n\n".join(lines), colour=COLOUR, footer=footer))


class Articles(commands.Cog):
    """Quoting treaty articles from loaded texts and from the posts that cite them."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def database(self):
        return self.bot.database

    @app_commands.command()
    @app_commands.describe(
        number="The article's number (3 also finds Article III)",
        treaty="The treaty (name or alias); default: the most recently discussed treaty that has this article",
    )
    async def article(
        self, interaction: discord.Interaction, number: app_commands.Range[int, 1, 9999], treaty: str | None = None
    ) -> None:
        """Quote a treaty article: its text, the treaty, and the posts that cite it."""
        answer = await self.database.run(service.quote_article, self.database, number=number, treaty=treaty)
        await Paginator(article_pages(answer), owner_id=interaction.user.id).send(interaction)

    @app_commands.command()
    @app_commands.describe(treaty="Only this treaty (name or alias), with a preview of each article")
    async def articles(self, interaction: discord.Interaction, treaty: str | None = None) -> None:
        """List the treaties known and their articles."""
        treaties = await self.database.run(service.list_articles, self.database, treaty=treaty)
        if not treaties:
            raise UserFacingError(service.NOTHING_KNOWN)
        pages = articles_pages(treaties, detailed=bool(treaty and treaty.strip()))
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)

    async def _treaty_choices(self, current: str) -> list[app_commands.Choice[str]]:
        choices = await self.database.run(service.treaty_choices, self.database, current=current or "")
        return [app_commands.Choice(name=c.name, value=c.value) for c in choices]

    @article.autocomplete("treaty")
    async def article_treaty_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._treaty_choices(current)

    @articles.autocomplete("treaty")
    async def articles_treaty_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._treaty_choices(current)

    @article.autocomplete("number")
    async def article_number_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        treaty = getattr(interaction.namespace, "treaty", None)
        choices = await self.database.run(
            service.article_choices, self.database, treaty=treaty, current=str(current or "")
        )
        return [app_commands.Choice(name=c.name, value=c.value) for c in choices]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Articles(bot))
