"""The post text file layout (DESIGN.md §2): parse it, write it back.

Pure functions, no database, no Discord. The layout is loose, hand-written text, so the
parser is tolerant (CRLF, BOM, several date forms, Blogger extras) and reports oddities as
warnings; only files it cannot make sense of raise ``PostParseError`` with a line number.

Rules that are not obvious from the layout (kept here because export depends on them):

* Lines are compared stripped; paragraphs are runs of non-blank lines, joined by "\\n"
  inside a paragraph and "\\n\\n" between paragraphs. Trailing whitespace is not kept.
* Header block: the first block after the title may be the original headline and/or the
  source. A two-line block is (headline, source) when the first line reads like a headline
  and the second like a source. A one-line block is the source when it is short (<= 60
  chars, <= 6 words, no end punctuation, not echoing the title), else the headline when it
  reads like one (<= 300 chars, no end punctuation other than ?/! - those only if it echoes
  the title); a one-line headline block may be followed by a one-line source block.
  Guessing only happens when body text follows. Explicit "Headline: ..." / "Source: ..."
  lines are always read as such; ``format_post`` writes them only when the plain form
  would be read back differently.
* Escaping: a body, comment or title line that would be read as structure ("More...",
  "N comments:", "X said...", "Posted by ...", "Labels: ...", a time line) is written with
  one leading backslash; the parser drops one backslash from any line of the form
  "\\" + structural (after further backslashes). The first line of the body additionally
  loses one leading backslash whatever follows, which is how the writer stops a body
  paragraph from being read as a headline/source.
* "More..." marks truncation only as the last body line. "Posted by X [at ...]" and
  "Labels: a, b" are recognised anywhere before the comments (Blogger footer).
* Comments start at the first "N comments:" line or, without one, the first
  "<Author> said..." line. A time line as the last (or else first) line of a comment sets
  ``posted_at``; times without a zone are UTC, a bare time takes the post's date.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ParseError
from bot.ingest.dates import DATE_LINE, TIME_LINE, WEEKDAY_NAMES, WEEKDAYS, date_of, time_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiscordIds:
    """Where a comment collected from Discord was written: export writes it, loading restores it."""

    guild_id: int
    user_id: int | None = None
    message_id: int | None = None


@dataclass
class ParsedComment:
    author: str
    text: str  # paragraphs joined by "\n\n", stripped
    posted_at: dt.datetime | None = None  # timezone-aware if known, else None
    position: int = 0  # 0-based order in the file
    discord: DiscordIds | None = None  # "Discord: server G, user U, message M" after its header line


@dataclass
class ParsedPost:
    date: dt.date
    title: str
    headline: str | None
    source: str | None
    body: str  # paragraphs joined by "\n\n", without "More..."
    truncated: bool  # True when the body ended at "More..."
    comments: list[ParsedComment]
    author: str | None = None  # "Posted by X at ..." or feed author
    labels: list[str] = field(default_factory=list)  # "Labels: a, b"
    link: str | None = None  # feeds: entry link
    entry_id: str | None = None  # feeds: entry id/guid
    declared_comments: int | None = None  # the "3 comments:" count
    scope: int | None = None  # "Server: <id>" before the date: the one server it belongs to
    # Diagnostics about the source text, not content: left out of == so that a
    # re-parsed export equals the original even though line numbers moved.
    warnings: list[str] = field(default_factory=list, compare=False)


class PostParseError(ParseError):
    """A file that cannot be read as a post; ``line`` is 1-based when known."""

    path: Path | None = None  # set by read_post_file


# --- patterns (compiled once; the loader parses thousands of files) -----------------

_MORE = r"more(?:\.\.\.|…)"
_COUNT = r"(?:(?P<n>\d{1,6})|(?P<no>no))\s+comments?\s*:?"
_SAID = r"(?P<said>[^\s\\].{0,199}?)\s+said(?:\.\.\.|…)"
_POSTED = r"posted\s+by\s+(?P<by>.+?)(?:\s+(?:at|on)\s+(?P<when>.+?))?"
_LABELS = r"labels?:\s*(?P<labels>.*\S)"
# One pass per body line: which structural line (if any) is this?
_SPECIAL = re.compile(
    rf"^(?:(?P<more>{_MORE})|(?P<count>{_COUNT})|(?P<posted>{_POSTED})"
    rf"|(?P<label>{_LABELS})|(?P<header>{_SAID}))$",
    re.I,
)
_POSTED_BY = re.compile(r"^posted\s+by\s+", re.I)
_SCOPE_LINE = re.compile(r"^server:\s*(?P<id>\d{1,20})$", re.I)
_DISCORD_LINE = re.compile(
    r"^discord:\s*server\s+(?P<guild>\d{1,20})(?:,\s*user\s+(?P<user>\d{1,20}))?(?:,\s*message\s+(?P<message>\d{1,20}))?$", re.I
)
_HEADER_LABEL = re.compile(r"^(?P<kind>headline|source):\s*(?P<value>\S.*)$", re.I)
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w+")
_END_PUNCT = ".,;:!?…"
_CLOSERS = "\"'”’»)]"


def _is_structural(line: str) -> bool:
    """Would the parser treat this (stripped, unescaped) line as structure somewhere?"""
    if _SPECIAL.match(line) or _SCOPE_LINE.match(line) or _DISCORD_LINE.match(line):
        return True
    m = TIME_LINE.match(line)
    return m is not None and time_of(m, None) is not None


def _unescape(line: str) -> str:
    if line.startswith("\\") and _is_structural(line.lstrip("\\")):
        return line[1:]
    return line


def _escape(line: str) -> str:
    return "\\" + line if _is_structural(line.lstrip("\\")) else line


def _parse_date_line(line: str, lineno: int, warnings: list[str]) -> dt.date:
    m = DATE_LINE.match(line)
    date = None
    if m:
        try:
            date = date_of(m)
        except ValueError as exc:
            raise PostParseError(f"impossible date {line!r} ({exc})", lineno) from None
    if date is None:
        raise PostParseError("no date line (expected e.g. 'Sunday, June 23, 2024')", lineno)
    if m["hh"] and time_of(m, date) is None:
        raise PostParseError(f"impossible date {line!r} (bad time of day)", lineno)
    if m["wd"] and WEEKDAYS[m["wd"].lower()] != date.weekday():
        warnings.append(
            f"line {lineno}: weekday {m['wd']!r} does not match {date.isoformat()} "
            f"(a {WEEKDAY_NAMES[date.weekday()]})"
        )
    return date


# --- header (headline / source) detection ------------------------------------------------


def _echoes_title(line: str, title: str) -> bool:
    low, tlow = line.casefold(), title.casefold()
    if tlow and tlow in low:
        return True
    words = {w for w in _WORD.findall(tlow) if len(w) > 3}
    return len(words) >= 2 and len(words & set(_WORD.findall(low))) >= 0.6 * len(words)


def _source_like(line: str) -> bool:
    return (
        len(line) <= 60
        and len(line.split()) <= 6
        and line[-1] not in _END_PUNCT
        and not line.startswith("\\")
        and not _HEADER_LABEL.match(line)
        and not _is_structural(line)
    )


def _headline_like(line: str, title: str, *, allow_question: bool) -> bool:
    if not 10 <= len(line) <= 300 or line.startswith("\\") or _HEADER_LABEL.match(line):
        return False
    end = line.rstrip(_CLOSERS)[-1:] or line[-1]
    if end in ".,;:…":
        return False
    if end in "?!" and not (allow_question or _echoes_title(line, title)):
        return False
    return not _is_structural(line)


def _split_header(blocks: list[list[str]], title: str) -> tuple[str | None, str | None, int]:
    """(headline, source, number of leading blocks they used); see the module docstring."""
    if not blocks or blocks[0][0].startswith("\\"):
        return None, None, 0
    first = blocks[0]
    if len(first) <= 2:
        labelled = [_HEADER_LABEL.match(line) for line in first]
        if all(labelled):
            kinds = [m["kind"].lower() for m in labelled]
            if kinds in (["headline"], ["source"], ["headline", "source"]):
                values = {k: m["value"].strip() for k, m in zip(kinds, labelled)}
                return values.get("headline"), values.get("source"), 1
    if len(blocks) < 2:  # guess only when body text follows
        return None, None, 0
    if len(first) == 2:
        if _headline_like(first[0], title, allow_question=True) and _source_like(first[1]):
            return first[0], first[1], 1
        return None, None, 0
    if len(first) != 1:
        return None, None, 0
    line = first[0]
    if _source_like(line) and not _echoes_title(line, title):
        return None, line, 1
    if _headline_like(line, title, allow_question=False):
        second = blocks[1]
        if len(blocks) >= 3 and len(second) == 1 and _source_like(second[0]):
            return line, second[0], 2
        return line, None, 1
    return None, None, 0


# --- parsing ---------------------------------------------------------------------------------


def _blocks(lines: list[str], start: int, stop: int) -> list[list[str]]:
    out: list[list[str]] = []
    current: list[str] = []
    for k in range(start, stop):
        line = lines[k]
        if line:
            current.append(line)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _parse_comment(author: str, lines: list[str], position: int, post_date: dt.date) -> ParsedComment:
    content = list(lines)
    while content and not content[-1]:
        content.pop()
    while content and not content[0]:
        content.pop(0)
    discord = None
    if content and (m := _DISCORD_LINE.match(content[0])):
        discord = DiscordIds(int(m["guild"]), *(int(m[k]) if m[k] else None for k in ("user", "message")))
        content.pop(0)
        while content and not content[0]:
            content.pop(0)
    posted_at = None
    for idx in (-1, 0):
        if content:
            m = TIME_LINE.match(content[idx])
            if m and (when := time_of(m, post_date)) is not None:
                posted_at = when
                content.pop(idx)
                break
    paragraphs = ["\n".join(_unescape(line) for line in block) for block in _blocks(content, 0, len(content))]
    return ParsedComment(author=author, text="\n\n".join(paragraphs), posted_at=posted_at, position=position, discord=discord)


@dataclass
class _Region:
    """The body region of a post: up to its comment count or first comment header."""

    lines: list[str] = field(default_factory=list)
    author: str | None = None
    labels: list[str] = field(default_factory=list)
    count_line: int | None = None
    declared: int | None = None
    comments_start: int | None = None


def _lines(text: str) -> list[str]:
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = _BINARY.search(text)
    if bad:
        raise PostParseError("binary data, not a text post file", text.count("\n", 0, bad.start()) + 1)
    return [line.strip() for line in text.split("\n")]


def _head(lines: list[str], warnings: list[str]) -> tuple[int | None, dt.date, str, int]:
    """(scope, date, title, index of the line after the title)."""
    n = len(lines)
    i = 0
    while i < n and not lines[i]:
        i += 1
    if i == n:
        raise PostParseError("empty post file", 1)
    scope = None
    if m := _SCOPE_LINE.match(lines[i]):
        scope, i = int(m["id"]), i + 1
    date_lineno = i + 1
    date = _parse_date_line(lines[i], date_lineno, warnings)
    i += 1
    while i < n and not lines[i]:
        i += 1
    if i == n:
        raise PostParseError("missing title (expected a title line after the date)", date_lineno + 1)
    special = _SPECIAL.match(lines[i])
    if special and (special["count"] or special["more"]):
        raise PostParseError(f"missing title (found {lines[i]!r} where the title should be)", i + 1)
    return scope, date, _unescape(lines[i]), i + 1


def _region(lines: list[str], start: int) -> _Region:
    """The body lines up to the comments; Blogger footer lines are taken out (they read as paragraph breaks)."""
    region = _Region()
    in_first_block = True
    seen_text = False
    for k in range(start, len(lines)):
        line = lines[k]
        if not line:
            in_first_block = in_first_block and not seen_text
            region.lines.append(line)
            continue
        seen_text = True
        m = _SPECIAL.match(line)
        if m is None or (in_first_block and _HEADER_LABEL.match(line)):
            region.lines.append(line)
        elif m["count"]:
            region.count_line, region.declared = k + 1, 0 if m["no"] else int(m["n"])
            region.comments_start = k + 1
            break
        elif m["header"]:
            region.comments_start = k
            break
        elif m["posted"]:
            when = m["when"]
            if when and (TIME_LINE.match(when) or DATE_LINE.match(when)):
                region.author = m["by"].strip()
            else:  # "Posted by Bob at home": no time, all of it is the name
                region.author = _POSTED_BY.sub("", line).strip()
            region.lines.append("")
        elif m["label"]:
            region.labels.extend(x.strip() for x in m["labels"].split(",") if x.strip())
            region.lines.append("")
        else:  # "More..." is only special at the end; decided below
            region.lines.append(line)
    return region


def _body(region: _Region, title: str) -> tuple[str | None, str | None, str, bool]:
    """(headline, source, body, truncated) from the body region's lines."""
    blocks = _blocks(region.lines, 0, len(region.lines))
    truncated = False
    last = _SPECIAL.match(blocks[-1][-1]) if blocks else None
    if last and last["more"]:
        truncated = True
        blocks[-1].pop()
        if not blocks[-1]:
            blocks.pop()
    headline, source, used = _split_header(blocks, title)
    paragraphs = []
    for b, block in enumerate(blocks[used:]):
        out = []
        for li, line in enumerate(block):
            if b == 0 and li == 0 and line.startswith("\\") and len(line) > 1:
                out.append(line[1:])
            else:
                out.append(_unescape(line))
        paragraphs.append("\n".join(out))
    return headline, source, "\n\n".join(paragraphs), truncated


def _comments(lines: list[str], start: int, date: dt.date, warnings: list[str]) -> list[ParsedComment]:
    comments: list[ParsedComment] = []
    author: str | None = None
    current: list[str] = []
    stray_line = None
    for k in range(start, len(lines)):
        line = lines[k]
        m = _SPECIAL.match(line) if line.endswith(("...", "…")) else None
        if m and m["header"]:
            if author is not None:
                comments.append(_parse_comment(author, current, len(comments), date))
            author, current = m["said"].strip(), []
        elif author is not None:
            current.append(line)
        elif line and stray_line is None:
            stray_line = k + 1
    if author is not None:
        comments.append(_parse_comment(author, current, len(comments), date))
    if stray_line is not None:
        warnings.append(f"line {stray_line}: text before the first '<Author> said...' line ignored")
    return comments


def parse_post(text: str) -> ParsedPost:
    """Parse one post file's text (see the module docstring for the rules)."""
    lines = _lines(text)
    warnings: list[str] = []
    scope, date, title, after_title = _head(lines, warnings)
    region = _region(lines, after_title)
    headline, source, body, truncated = _body(region, title)
    comments = _comments(lines, region.comments_start, date, warnings) if region.comments_start is not None else []
    if region.declared is not None and region.declared != len(comments):
        noun = "comment" if region.declared == 1 else "comments"
        warnings.append(f"line {region.count_line}: says {region.declared} {noun}, found {len(comments)}")
    return ParsedPost(
        date=date,
        title=title,
        headline=headline,
        source=source,
        body=body,
        truncated=truncated,
        comments=comments,
        author=region.author,
        labels=region.labels,
        declared_comments=region.declared,
        scope=scope,
        warnings=warnings,
    )


def decode_post_bytes(data: bytes) -> tuple[str, str | None]:
    """Bytes -> text: UTF-8 (BOM dropped), else UTF-16 with a BOM, else cp1252, else latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").lstrip("\ufeff"), "not UTF-8; decoded as UTF-16"
        except UnicodeDecodeError:
            pass
    nul = data.find(b"\x00")
    if nul != -1:
        raise PostParseError("binary data, not a text post file", data.count(b"\n", 0, nul) + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return text.removeprefix("\ufeff"), None
    try:
        return data.decode("cp1252"), "not UTF-8; decoded as cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "not UTF-8; decoded as latin-1"


def read_post_file(path: Path) -> ParsedPost:
    """Read, decode and parse one post file; a decoding fallback becomes a warning."""
    path = Path(path)
    try:
        text, warning = decode_post_bytes(path.read_bytes())
        post = parse_post(text)
    except PostParseError as exc:
        exc.path = path
        raise
    if warning:
        post.warnings.insert(0, warning)
    return post
