"""/help, and the same answer when someone mentions the bot.

The commands are read from the bot's own command tree: each top-level command's default
permissions tell whether it needs Manage Server (Discord hides those from members by default),
`guild_only` whether it works in a direct message. Members see what they may use; admins also
see the admin commands, starred. A server that overrides a command's permissions is not asked
(that would be a request per /help): the help follows Discord's defaults.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PostBot
from bot.render import NO_MENTIONS
from bot.render.help import HelpEntry, help_embed

log = logging.getLogger(__name__)

SECTIONS = {  # the module a command is defined in -> its section, in this order
    "cogs.posts": "Posts",
    "cogs.articles": "Treaty articles",
    "cogs.discussion": "Discussion and comments",
    "cogs.digest": "Daily digest",
    "cogs.feeds": "Watched feeds",
    "cogs.help": "Help",
}
MENU_HINT = "message menu: right-click or long-press a message → Apps"


def _options(command: app_commands.Command) -> str:
    return " ".join(p.display_name if p.required else f"[{p.display_name}]" for p in command.parameters)


def _section(command) -> str:
    module = getattr(command, "module", None) or ""
    return SECTIONS.get(module, module.rsplit(".", 1)[-1].replace("_", " ").title() or "More")


class Help(commands.Cog):
    """What postbot does and which commands you may use."""

    def __init__(self, bot: PostBot) -> None:
        self.bot = bot

    def entries(self, permissions: discord.Permissions, *, in_guild: bool) -> tuple[list[tuple[str, list[HelpEntry]]], bool]:
        """The sections of commands someone with `permissions` may use, and whether they are an admin."""
        admin = permissions.manage_guild or permissions.administrator
        found: dict[str, list[HelpEntry]] = {name: [] for name in SECTIONS.values()}
        for top in self.bot.tree.get_commands(type=discord.AppCommandType.chat_input):
            needs = top.default_permissions
            if (not in_guild and top.guild_only) or (needs is not None and not permissions >= needs and not permissions.administrator):
                continue
            is_admin = needs is not None and needs.value != 0
            leaves = top.walk_commands() if isinstance(top, app_commands.Group) else [top]
            for command in leaves:
                if isinstance(command, app_commands.Command):
                    entry = HelpEntry(self.bot.mention(command.qualified_name), _options(command), command.description, admin=is_admin)
                    found.setdefault(_section(top), []).append(entry)
        if in_guild:
            for menu in self.bot.tree.get_commands(type=discord.AppCommandType.message):
                needs = menu.default_permissions
                if needs is None or permissions >= needs or permissions.administrator:
                    description = (menu.callback.__doc__ or "").strip().splitlines()[0] if menu.callback.__doc__ else ""
                    entry = HelpEntry(f"“{menu.name}”", "", f"{description} ({MENU_HINT})", admin=needs is not None and needs.value != 0)
                    found.setdefault(_section(menu), []).append(entry)
        return [(name, entries) for name, entries in found.items() if entries], admin

    def embed_for(self, permissions: discord.Permissions, *, in_guild: bool) -> discord.Embed:
        sections, admin = self.entries(permissions, in_guild=in_guild)
        return help_embed(sections, admin=admin)

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What postbot does and every command you may use here."""
        embed = self.embed_for(interaction.permissions, in_guild=interaction.guild is not None)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Someone mentioned the bot (by name, not by replying to it): answer with the help."""
        me = self.bot.user
        if me is None or message.author.bot or message.webhook_id is not None:
            return
        if f"<@{me.id}>" not in message.content and f"<@!{me.id}>" not in message.content:
            return
        if message.guild is not None:
            permissions = message.channel.permissions_for(message.author)
        else:
            permissions = discord.Permissions.none()
        embed = self.embed_for(permissions, in_guild=message.guild is not None)
        try:
            await message.reply(embed=embed, mention_author=False, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.info("could not answer a mention in channel %s: %s", message.channel.id, exc)

    @commands.Cog.listener()
    async def on_command_error(self, ctx: commands.Context, error: commands.CommandError) -> None:
        """postbot has no text commands: "@postbot help" is answered by `on_message`, not an error."""
        if not isinstance(error, commands.CommandNotFound):
            log.error("text command %r failed", ctx.command, exc_info=error)


async def setup(bot: PostBot) -> None:
    await bot.add_cog(Help(bot))
