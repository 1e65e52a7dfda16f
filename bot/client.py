"""The Discord client: `PostBot` with its dependencies, the error-handling command tree, `create_bot`."""

from __future__ import annotations

import hashlib
import json
import logging
import pkgutil

import discord
from discord import app_commands
from discord.ext import commands

import cogs
from bot.db import Database
from bot.errors import UserFacingError
from bot.settings import Settings
from bot.state import get_state, set_state

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side while running this command. It has been logged."
SYNC_STATE_KEY = "command_tree_hash"


class PostBotTree(app_commands.CommandTree):
    """User errors shown ephemerally; anything else logged with its context and answered with an apology."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, UserFacingError):
            message = str(original)
        elif isinstance(error, app_commands.MissingPermissions):
            message = "You need the Manage Server permission to use this command."
        elif isinstance(error, app_commands.BotMissingPermissions):
            missing = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
            message = f"I am missing a permission here: {missing}."
        elif isinstance(error, app_commands.NoPrivateMessage):
            message = "This command only works in a server."
        elif isinstance(error, app_commands.CheckFailure | app_commands.TransformerError):
            message = str(error)
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "command %r failed (user %s, guild %s)",
                command,
                interaction.user.id,
                interaction.guild_id,
                exc_info=original,
            )
            message = APOLOGY
        await send_ephemeral(interaction, message)


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer or follow up, whichever the interaction still allows; mentions are never sent."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
        else:
            await interaction.response.send_message(message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException:
        log.warning("could not send an error message for interaction %s", interaction.id)


def cog_extensions() -> list[str]:
    """Every module in the cogs package is an extension."""
    return [f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_")]


class PostBot(commands.Bot):
    """postbot's Discord client. Cogs reach settings and the database through `self.bot`."""

    def __init__(self, settings: Settings, database: Database) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.message_content_intent
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=PostBotTree,
            help_command=None,
        )
        self.settings = settings
        self.database = database

    async def setup_hook(self) -> None:
        await self.database.run(self.database.upgrade)
        for extension in cog_extensions():
            await self.load_extension(extension)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync the tree (to DEV_GUILD_ID if set) only when its commands changed since the last sync."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild:
            self.tree.copy_global_to(guild=guild)
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps([guild and guild.id, payload], sort_keys=True, default=str).encode()).hexdigest()
        key = f"{SYNC_STATE_KEY}:{self.application_id}"
        if await self.database.run(get_state, self.database, key=key) == digest:
            log.info("application commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        await self.database.run(set_state, self.database, key=key, value=digest)
        log.info("synced %d application commands %s", len(synced), f"to guild {guild.id}" if guild else "globally")

    async def close(self) -> None:
        await super().close()
        self.database.dispose()


def create_bot(settings: Settings | None = None) -> PostBot:
    """The bot, unstarted: `setup_hook` prepares the database, loads every cog and syncs the tree."""
    settings = settings or Settings.from_env()
    return PostBot(settings, Database(settings.database_url))
