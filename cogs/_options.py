"""Options the cogs share: a `post` option that autocompletes and resolves, treaty names, timezones."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.render import AUTOCOMPLETE_MAX, autocomplete, post_label
from bot.services import articles, digest, posts
from bot.services.views import PostRef


class PostTransformer(app_commands.Transformer):
    """A post, typed as its title: autocomplete offers matching titles (newest first, dated) and
    puts the post's id in the option; the command receives the PostRef."""

    async def autocomplete(self, interaction: discord.Interaction, value: str) -> list[app_commands.Choice[str]]:
        db = interaction.client.database
        found = await db.call(posts.post_choices, current=str(value or ""))
        return [app_commands.Choice(name=post_label(p), value=str(p.id)) for p in found[:AUTOCOMPLETE_MAX]]

    async def transform(self, interaction: discord.Interaction, value: str) -> PostRef:
        return await interaction.client.database.call(posts.resolve_post, value=value)


PostOption = app_commands.Transform[PostRef, PostTransformer]


async def treaty_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Known treaties resembling what was typed (by name or alias)."""
    return autocomplete(await interaction.client.database.call(articles.treaty_choices, current=current or ""))


async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=n, value=n) for n in digest.match_timezones(current, AUTOCOMPLETE_MAX)]
