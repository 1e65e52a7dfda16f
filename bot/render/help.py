"""/help (and a mention of the bot) as Discord shows it: what postbot does, then the commands the
reader may use, grouped, each a clickable mention.

The cog reads the commands from the bot's own command tree (so a new command is listed without
touching this file) and says which need Manage Server; this module only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.render import EMBED_FIELD_LIMIT, EMBED_FIELDS_MAX, shorten

HELP_COLOUR = discord.Colour.dark_teal()
ABOUT = (
    "postbot keeps a store of posts (news and blog posts, with their reader comments) that this server "
    "discusses: it quotes the treaty articles they cite, posts a daily digest of new posts, watches "
    "feeds, and saves what members say in each post's discussion thread as comments on the post."
)
DESCRIPTION_LIMIT = 80  # of a command's description in its line: a section stays within a field


@dataclass(frozen=True)
class HelpEntry:
    """One command as /help lists it."""

    mention: str  # </post show:123>, or the menu's name in quotes
    options: str  # "post [text]": required options bare, optional ones in brackets
    description: str
    admin: bool = False  # needs Manage Server


def entry_line(entry: HelpEntry) -> str:
    options = f" `{entry.options}`" if entry.options else ""
    star = " \\*" if entry.admin else ""
    return f"{entry.mention}{options}{star} — {shorten(entry.description, DESCRIPTION_LIMIT)}"


def _fields(name: str, lines: list[str]) -> list[tuple[str, str]]:
    """A section's lines as fields within Discord's 1,024 characters each ("Posts", "Posts (more)")."""
    fields: list[tuple[str, str]] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > EMBED_FIELD_LIMIT:
            fields.append((name if not fields else f"{name} (more)", current))
            current = ""
        current = f"{current}\n{line}" if current else shorten(line, EMBED_FIELD_LIMIT)
    if current:
        fields.append((name if not fields else f"{name} (more)", current))
    return fields


def help_embed(sections: list[tuple[str, list[HelpEntry]]], *, admin: bool) -> discord.Embed:
    """The help: what postbot does, then each section's commands; admins' commands are starred."""
    embed = discord.Embed(title="postbot — help", description=ABOUT, colour=HELP_COLOUR)
    fields = [field for name, entries in sections if entries for field in _fields(name, [entry_line(e) for e in entries])]
    for name, value in fields[:EMBED_FIELDS_MAX]:
        embed.add_field(name=name, value=value, inline=False)
    if admin:
        footer = "* needs Manage Server (you have it). Options in [brackets] are optional."
    else:
        footer = "Options in [brackets] are optional. Admins (Manage Server) also have commands to load posts, set up digests and feeds."
    embed.set_footer(text=footer)
    return embed
