"""Views -> Discord text and embeds, always within Discord's limits, never cut silently.

Pure functions (no database, no network). This package is the one place that decides how
stored text is shown: `escape` (and `fit`) for any text a user or a feed stored, `safe_url` for
any link put in an embed, `shorten` for a one-line label, `format_date` for a post's date and
`timestamp` for a moment (Discord shows it in each reader's own timezone).

Where Discord renders markdown: message content, embed titles, descriptions, field names and
values (titles and field names inline only, and without links). It does not in embed footers
and author names, select, button and choice labels, or thread names: stored text goes there
as it is (shortened), since a backslash would show.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

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


# One pass over the text, first match wins at each position:
#   url:   a link as Discord finds one (http(s) only, not glued to a word: "xhttp://" is text to
#          Discord), kept whole where links render, since escaping its "_" would break it;
#   block: a line's heading, subtext, quote or list marker ("# ", "-# ", "> ", ">>> ", "- ",
#          "+ ", "1. "; Discord wants the space, so "127.0.0.1" and "#5" stay as they are),
#          also after indentation: every marker character escaped;
#   char:  the inline markdown characters, the backslash itself, "[" (masked links) and "<"
#          (mentions, channels, roles, emoji, timestamps and commands, which Discord renders
#          as pills whatever the allowed mentions);
#   at:    @everyone and @here.
# Discord drops a backslash before any punctuation, so escaped text reads exactly as stored.
_URL = r"<https?://[^\s<>]+>|(?<!\w)https?://[^\s<]+[^<.,:;\"')\]\s]"
_BLOCK = r"(?P<indent>[ \t]*)(?P<block>(?:#+|[-+]|\d+\.)(?=\s|$)|-(?=#)|>+)"
_MARKUP = rf"^{_BLOCK}|(?P<char>[\\*_~|`\[<])|(?P<at>@(?=everyone|here))"
_ESCAPE = {
    True: re.compile(rf"(?P<url>{_URL})|{_MARKUP}", re.MULTILINE),
    False: re.compile(_MARKUP, re.MULTILINE),
}
_BLOCK_START = re.compile(rf"^{_BLOCK}")


def _escaped(match: re.Match) -> str:
    found = match.groupdict()
    if found.get("url"):
        return found["url"]
    if found.get("block"):
        return found["indent"] + "".join(c if c.isdigit() else "\\" + c for c in found["block"])
    return "\\" + (found["char"] or found["at"])


def escape(text: str, *, links: bool = True) -> str:
    """Stored text as Discord shows it literally: no markdown, mentions, headings, lists or masked
    links. `links=False` where Discord does not link (embed titles, field names): URLs are escaped too."""
    return _ESCAPE[links].sub(_escaped, text)


def safe_url(link: str | None) -> str | None:
    """A link fit for an embed's URL: a well-formed http(s) URL within the limit, else None."""
    if not link or len(link) > EMBED_URL_LIMIT or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in link):
        return None
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return link


def link_text(url: str, limit: int = 300) -> str:
    """A stored address in message text: as a link that does not unfurl (<...>) when it is a clean
    http(s) URL, else escaped like any stored text."""
    shown = shorten(url, limit)
    if safe_url(url) and not any(c in url for c in "<>"):
        return f"<{shown}>"
    return escape(shown)


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


def fit(text: str, limit: int, *, links: bool = True) -> str:
    """Stored text escaped and shortened to `limit` characters of markdown (`links`: as `escape`)."""
    budget = limit
    shown = escape(shorten(text, budget), links=links)
    while len(shown) > limit and budget > 1:  # escaping lengthened it: cut the text by the overshoot
        budget = max(1, budget - (len(shown) - limit))
        shown = escape(shorten(text, budget), links=links)
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


def split_markdown(markdown: str, limit: int) -> list[str]:
    """`split_text` for escaped markdown: a part never starts with a block marker that stood mid-line
    (a heading, quote or list of its own), and a cut never parts a backslash from what it escapes."""
    parts = []
    carry = ""
    for chunk in split_text(markdown, limit - 1):
        chunk, carry = carry + chunk, ""
        trailing = len(chunk) - len(chunk.rstrip("\\"))
        if trailing % 2:
            chunk, carry = chunk[:-1], "\\"
        parts.append(_BLOCK_START.sub(_escaped, chunk, count=1))
    if carry:  # only a text that ended with a lone backslash
        parts[-1] += carry
    return parts


def text_embeds(title: str, text: str, *, colour: discord.Colour | None = None, footer: str | None = None) -> list[discord.Embed]:
    """A long text (markdown) as a series of embeds ("title (1/3)"), each description within the limit."""
    parts = split_markdown(text, EMBED_DESCRIPTION_LIMIT)
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
