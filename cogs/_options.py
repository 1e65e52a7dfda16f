"""Options the cogs share: a `post` option that autocompletes and resolves, treaty names, timezones."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.models import LIBRARY
from bot.render import AUTOCOMPLETE_MAX, autocomplete, post_label
from bot.services import articles, digest, posts
from bot.services.views import PostRef


def scope_of(interaction: discord.Interaction) -> int:
    """Whose view a command answers with: its server's, or in a direct message the library's alone."""
    return interaction.guild_id or LIBRARY


class PostTransformer(app_commands.Transformer):
    """A post, typed as its title: autocomplete offers matching titles (newest first, dated) and
    puts the post's id in the option; the command receives the PostRef."""

    async def autocomplete(self, interaction: discord.Interaction, value: str) -> list[app_commands.Choice[str]]:
        db = interaction.client.database
        found = await db.call(posts.post_choices, scope=scope_of(interaction), current=str(value or ""))
        return [app_commands.Choice(name=post_label(p), value=str(p.id)) for p in found[:AUTOCOMPLETE_MAX]]

    async def transform(self, interaction: discord.Interaction, value: str) -> PostRef:
        return await interaction.client.database.call(posts.resolve_post, value=value, scope=scope_of(interaction))


PostOption = app_commands.Transform[PostRef, PostTransformer]


async def treaty_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Known treaties resembling what was typed (by name or alias)."""
    choices = await interaction.client.database.call(articles.treaty_choices, scope=scope_of(interaction), current=current or "")
    return autocomplete(choices)


async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=n, value=n) for n in digest.match_timezones(current, AUTOCOMPLETE_MAX)]
