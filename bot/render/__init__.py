"""Views -> Discord text and embeds, always within Discord's limits, never cut silently.

Pure functions (no database, no network). This package is the one place that decides how
stored text is shown: `escape` for any text a user or a feed stored, `safe_url` for any link
put in an embed, `shorten` for a one-line label, `format_date` for a post's date and
`timestamp` for a moment (Discord shows it in each reader's own timezone).
"""

from __future__ import annotations

import datetime as dt
import re

import discord

from bot.services.views import Choice, PostRef

MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
EMBED_FIELDS_MAX = 25
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
EMBED_URL_LIMIT = 2000
AUTOCOMPLETE_MAX = 25
CHOICE_NAME_LIMIT = 100
THREAD_NAME_LIMIT = 100

NO_MENTIONS = discord.AllowedMentions.none()
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))


def escape(text: str) -> str:
    """Stored text as Discord shows it literally: no markdown, no masked links it did not come with."""
    return discord.utils.escape_markdown(text)


def safe_url(link: str | None) -> str | None:
    """A link fit for an embed's URL: http(s) only and within the limit, else None."""
    if link and link.startswith(("http://", "https://")) and len(link) <= EMBED_URL_LIMIT:
        return link
    return None


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


def fit(text: str, limit: int) -> str:
    """Stored text escaped and shortened to `limit` characters of markdown."""
    budget = limit
    shown = escape(shorten(text, budget))
    while len(shown) > limit and budget > 1:  # escaping lengthened it: cut the text by the overshoot
        budget = max(1, budget - (len(shown) - limit))
        shown = escape(shorten(text, budget))
    return shown


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
    """A long text (markdown) as a series of embeds ("title (1/3)"), each description within the limit."""
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


def field_value(markdown: str) -> str:
    """A field's value within its limit (fields may not be empty)."""
    return shorten(markdown, EMBED_FIELD_LIMIT) or "\u200b"


def format_date(day: dt.date) -> str:
    """A post's date, the one way postbot writes it: 2024-06-23."""
    return day.isoformat()


def timestamp(moment: dt.datetime, style: str = "f") -> str:
    """A moment as Discord's <t:...> markup: each reader sees it in their own timezone."""
    return discord.utils.format_dt(moment, style)


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def post_label(post: PostRef, limit: int = CHOICE_NAME_LIMIT) -> str:
    """`Title (2024-06-23)` within `limit` chars for pickers and autocomplete: the title is cut, the date always shows."""
    suffix = f" ({format_date(post.date)})"
    return shorten(post.title, limit - len(suffix)) + suffix


def choice_name(choice: Choice) -> str:
    """An autocomplete choice's shown name within Discord's 100 characters; the suffix is kept whole."""
    return shorten(choice.label, CHOICE_NAME_LIMIT - len(choice.suffix)) + choice.suffix


def autocomplete(choices: list[Choice]) -> list[discord.app_commands.Choice]:
    return [discord.app_commands.Choice(name=choice_name(c), value=c.value) for c in choices[:AUTOCOMPLETE_MAX]]
