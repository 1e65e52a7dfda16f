"""Store objects -> Discord text and embeds, always within Discord's limits, never cut silently."""

from __future__ import annotations

import re

import discord

MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
EMBED_FIELDS_MAX = 25
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
AUTOCOMPLETE_MAX = 25
CHOICE_NAME_LIMIT = 100
THREAD_NAME_LIMIT = 100

NO_MENTIONS = discord.AllowedMentions.none()
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))


def shorten(text: str, limit: int, *, placeholder: str = "…") -> str:
    """Fit a one-line label (title, choice name) into `limit`, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(placeholder)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + placeholder


def split_text(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` chars at paragraph, line, sentence or word breaks."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = 0
        for pattern in _BREAKS:
            ends = [m.start() for m in pattern.finditer(window) if 0 < m.start() <= limit]
            if ends and ends[-1] > limit // 3:
                cut = ends[-1]
                break
        if not cut:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks or [""]


def text_embeds(title: str, text: str, *, colour: discord.Colour | None = None, footer: str | None = None) -> list[discord.Embed]:
    """A long text as a series of embeds ("title (1/3)"), each description within the limit."""
    parts = split_text(text, EMBED_DESCRIPTION_LIMIT)
    embeds = []
    for index, part in enumerate(parts, 1):
        suffix = f" ({index}/{len(parts)})" if len(parts) > 1 else ""
        embed = discord.Embed(title=shorten(title, EMBED_TITLE_LIMIT - len(suffix)) + suffix, description=part, colour=colour)
        if footer:
            embed.set_footer(text=shorten(footer, EMBED_FOOTER_LIMIT))
        embeds.append(embed)
    return embeds


def pack_embeds(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages: at most 10 per message and 6000 characters over them."""
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        n = len(embed)
        if current and (len(current) == EMBEDS_PER_MESSAGE or size + n > EMBED_TOTAL_LIMIT):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += n
    if current:
        messages.append(current)
    return messages


def field_value(text: str) -> str:
    return shorten(text, EMBED_FIELD_LIMIT) or "\u200b"
