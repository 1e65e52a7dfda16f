"""Options the cogs share: a `post` option that autocompletes and resolves, treaty names, timezones.

A `post` option left out inside a post's discussion thread means that post (`post_here`).
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.errors import UserFacingError
from bot.models import LIBRARY
from bot.render import AUTOCOMPLETE_MAX, autocomplete, escape, post_label
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
        try:
            return await interaction.client.database.call(posts.resolve_post, value=value, scope=scope_of(interaction))
        except posts.AmbiguousPost as ambiguous:
            named = "\n".join(f"• {escape(post_label(p))} · #{p.id}" for p in ambiguous.candidates)
            raise UserFacingError(
                f"Several posts match “{escape(ambiguous.value)}”; pick one from the suggestions while typing, "
                f"or type its number:\n{named}"
            ) from None


PostOption = app_commands.Transform[PostRef, PostTransformer]

NO_POST_HERE = "Pick a post with the `post` option (type to search titles), or run this in the post's discussion thread."


async def post_here(interaction: discord.Interaction, post: PostRef | None) -> PostRef:
    """The post a command is about: the one given, else the post whose discussion thread this is."""
    if post is not None:
        return post
    if isinstance(interaction.channel, discord.Thread):
        found = await interaction.client.database.call(posts.thread_post, thread_id=interaction.channel.id)
        if found is not None:
            return found
    raise UserFacingError(NO_POST_HERE)


async def treaty_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Known treaties resembling what was typed (by name or alias)."""
    choices = await interaction.client.database.call(articles.treaty_choices, scope=scope_of(interaction), current=current or "")
    return autocomplete(choices)


async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=n, value=n) for n in digest.match_timezones(current, AUTOCOMPLETE_MAX)]
