"""/article and /articles: quote a treaty article, list the articles known.

The work is a few indexed lookups, so the commands answer directly: not deferring keeps user
errors (an unknown article or treaty) ephemeral.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PostBot
from bot.errors import UserFacingError
from bot.render import autocomplete
from bot.render.articles import article_pages, articles_pages
from bot.services import articles
from cogs._options import scope_of, treaty_autocomplete
from cogs._ui import Paginator


class Articles(commands.Cog):
    """Quoting treaty articles from loaded texts and from the posts that cite them."""

    def __init__(self, bot: PostBot) -> None:
        self.bot = bot
        self.db = bot.database

    @app_commands.command()
    @app_commands.describe(
        number="The article's number (3 also finds Article III)",
        treaty="The treaty (name or alias); default: the most recently discussed treaty that has this article",
    )
    @app_commands.autocomplete(treaty=treaty_autocomplete)
    async def article(self, interaction: discord.Interaction, number: app_commands.Range[int, 1, 9999], treaty: str | None = None) -> None:
        """Quote a treaty article: its text, the treaty, and the posts that cite it."""
        answer = await self.db.call(articles.quote_article, number=number, treaty=treaty, scope=scope_of(interaction))
        await Paginator(article_pages(answer), owner_id=interaction.user.id).send(interaction)

    @article.autocomplete("number")
    async def article_number_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        treaty = getattr(interaction.namespace, "treaty", None)
        choices = await self.db.call(articles.article_choices, treaty=treaty, current=str(current or ""), scope=scope_of(interaction))
        return autocomplete(choices)

    @app_commands.command()
    @app_commands.describe(treaty="Only this treaty (name or alias), with a preview of each article")
    @app_commands.autocomplete(treaty=treaty_autocomplete)
    async def articles(self, interaction: discord.Interaction, treaty: str | None = None) -> None:
        """List the treaties known and their articles."""
        known = await self.db.call(articles.list_articles, treaty=treaty, scope=scope_of(interaction))
        if not known:
            raise UserFacingError(articles.NOTHING_KNOWN)
        pages = articles_pages(known, detailed=bool(treaty and treaty.strip()))
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)


async def setup(bot: PostBot) -> None:
    await bot.add_cog(Articles(bot))
