"""The Discord client: `PostBot` with its dependencies, the error-handling command tree, `create_bot`, `run_bot`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import net
from bot.db import Database
from bot.errors import PostbotError, UserFacingError
from bot.settings import Settings
from bot.store.state import get_state, set_state

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side while running this command. It has been logged."
SYNC_STATE_KEY = "command_tree_hash"
EXTENSIONS = ("cogs.articles", "cogs.posts", "cogs.discussion", "cogs.digest", "cogs.feeds")


def user_message(error: app_commands.AppCommandError) -> str | None:
    """What to tell the user about an error, or None when it is a bug (logged, apologised for)."""
    original = getattr(error, "original", None) or error.__cause__ or error
    if isinstance(original, UserFacingError):
        return str(original)
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission to use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I am missing a permission here: {', '.join(p.replace('_', ' ') for p in error.missing_permissions)}."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CheckFailure | app_commands.TransformerError) and original is error:
        return str(error)
    return None


class PostBotTree(app_commands.CommandTree):
    """User errors shown ephemerally; anything else logged with its context and answered with an apology."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        message = user_message(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            original = getattr(error, "original", None) or error.__cause__ or error
            log.error("command %r failed (user %s, guild %s)", command, interaction.user.id, interaction.guild_id, exc_info=original)
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


class PostBot(commands.Bot):
    """postbot's Discord client: owns its settings, its database and its HTTP session; cogs reach
    them through `self.bot`."""

    tree: PostBotTree

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
        self.http_session: aiohttp.ClientSession | None = None  # feeds and every other outbound request

    async def setup_hook(self) -> None:
        await self.database.call(Database.upgrade)
        self.http_session = net.http_session(self.settings.feed_allow_private_hosts)
        for extension in EXTENSIONS:
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
        if await self.database.call(_stored_state, key=key) == digest:
            log.info("application commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        await self.database.call(_store_state, key=key, value=digest)
        log.info("synced %d application commands %s", len(synced), f"to guild {guild.id}" if guild else "globally")

    async def close(self) -> None:
        await super().close()
        await self.release()

    async def release(self) -> None:
        """Close what the bot owns (its HTTP session, its database connections)."""
        if self.http_session is not None:
            await self.http_session.close()
        self.database.dispose()


def _stored_state(db: Database, *, key: str) -> str | None:
    with db.session() as session:
        return get_state(session, key=key)


def _store_state(db: Database, *, key: str, value: str) -> None:
    with db.session() as session:
        set_state(session, key=key, value=value)


def create_bot(settings: Settings | None = None) -> PostBot:
    """The bot, unstarted: `setup_hook` prepares the database, opens its HTTP session, loads every cog and syncs the tree."""
    settings = settings or Settings.from_env()
    return PostBot(settings, Database(settings.database_url))


def run_bot(settings: Settings) -> None:
    """Run the bot until it stops; a start-up failure the operator can fix is a PostbotError saying how."""
    if not settings.discord_token:
        raise PostbotError("DISCORD_TOKEN is not set: put the bot's token in .env (see .env.example), or try `postbot demo`.")
    discord.utils.setup_logging(level=settings.log_level_number)
    bot = create_bot(settings)

    async def start() -> None:
        async with bot:
            await bot.start(settings.discord_token)

    try:
        asyncio.run(start())
    except discord.LoginFailure:
        raise PostbotError("Discord rejected DISCORD_TOKEN: copy a fresh token from the developer portal (Bot -> Reset Token).") from None
    except discord.PrivilegedIntentsRequired:
        raise PostbotError(
            "the Message Content intent is not enabled for this bot: switch it on in the developer portal "
            "(Bot -> Privileged Gateway Intents) or set MESSAGE_CONTENT_INTENT=false."
        ) from None
