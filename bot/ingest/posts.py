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

log = logging.getLogger(__name__)

__all__ = [
    "ParsedComment",
    "ParsedPost",
    "PostParseError",
    "decode_post_bytes",
    "format_post",
    "parse_post",
    "read_post_file",
]


@dataclass
class ParsedComment:
    author: str
    text: str  # paragraphs joined by "\n\n", stripped
    posted_at: dt.datetime | None = None  # timezone-aware if known, else None
    position: int = 0  # 0-based order in the file


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
    # Diagnostics about the source text, not content: left out of == so that a
    # re-parsed export equals the original even though line numbers moved.
    warnings: list[str] = field(default_factory=list, compare=False)


class PostParseError(ValueError):
    """A file that cannot be read as a post; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        self.path: Path | None = None  # set by read_post_file
        super().__init__(f"line {line}: {message}" if line is not None else message)


# --- patterns (compiled once; the loader parses thousands of files) -----------------

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July",
                "August", "September", "October", "November", "December"]
_WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WEEKDAYS = {}
for _i, _name in enumerate(_WEEKDAY_NAMES):
    _WEEKDAYS[_name.lower()] = _i
    _WEEKDAYS[_name[:3].lower()] = _i
_WEEKDAYS.update({"tues": 1, "wednes": 2, "thur": 3, "thurs": 3})

_DATE = (
    r"(?:(?P<wd>[a-z]{3,9})\.?,?\s+)?"
    r"(?:(?P<m1>[a-z]{3,9})\.?\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y1>\d{4})"
    r"|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m2>[a-z]{3,9})\.?,?\s+(?P<y2>\d{4})"
    r"|(?P<y3>\d{4})-(?P<m3>\d{1,2})-(?P<d3>\d{1,2})"
    r"|(?P<m4>\d{1,2})/(?P<d4>\d{1,2})/(?P<y4>\d{4}))"
)
_TIME = (
    r"(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2})(?:\.(?P<us>\d{1,6}))?)?"
    r"(?:\s*(?P<ampm>[ap])\.?m\.?)?"
    r"(?:\s*(?P<tz>utc|gmt|z|[+-]\d{2}:?\d{2}))?"
)
_SEP = r"(?:,?\s+(?:at\s+)?|\s*t)"
_DATE_LINE = re.compile(rf"^{_DATE}(?:{_SEP}{_TIME})?$", re.I)
_TIME_LINE = re.compile(rf"^(?:{_DATE}{_SEP})?{_TIME}$", re.I)

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
_HEADER_LABEL = re.compile(r"^(?P<kind>headline|source):\s*(?P<value>\S.*)$", re.I)
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w+")
_END_PUNCT = ".,;:!?…"
_CLOSERS = "\"'”’»)]"


def _is_structural(line: str) -> bool:
    """Would the parser treat this (stripped, unescaped) line as structure somewhere?"""
    if _SPECIAL.match(line):
        return True
    m = _TIME_LINE.match(line)
    return m is not None and _time_of(m, None) is not None


def _unescape(line: str) -> str:
    if line.startswith("\\") and _is_structural(line.lstrip("\\")):
        return line[1:]
    return line


def _escape(line: str) -> str:
    return "\\" + line if _is_structural(line.lstrip("\\")) else line


# --- dates and times -------------------------------------------------------------------


def _date_of(m: re.Match) -> dt.date | None:
    """The date a _DATE match names; None if it is not a date at all; ValueError if impossible."""
    if m["y1"]:
        month, day, year = _MONTHS.get(m["m1"].lower()), m["d1"], m["y1"]
    elif m["y2"]:
        month, day, year = _MONTHS.get(m["m2"].lower()), m["d2"], m["y2"]
    elif m["y3"]:
        month, day, year = int(m["m3"]), m["d3"], m["y3"]
    elif m["y4"]:
        month, day, year = int(m["m4"]), m["d4"], m["y4"]
    else:
        return None
    if month is None:
        return None
    if m["wd"] and m["wd"].lower() not in _WEEKDAYS:
        return None
    return dt.date(int(year), month, int(day))  # ValueError when impossible


def _time_of(m: re.Match, default_date: dt.date | None) -> dt.datetime | None:
    """Aware datetime from a _TIME_LINE match (UTC unless the line names a zone)."""
    try:
        day = _date_of(m) if (m["y1"] or m["y2"] or m["y3"] or m["y4"]) else default_date
    except ValueError:
        return None
    if m["wd"] and day is None:
        return None
    hour, minute = int(m["hh"]), int(m["mm"])
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m["ampm"].lower() == "p" else 0)
    tz = dt.timezone.utc
    raw_tz = (m["tz"] or "").lower()
    if raw_tz and raw_tz not in ("utc", "gmt", "z"):
        sign = -1 if raw_tz[0] == "-" else 1
        digits = raw_tz[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= dt.timedelta(hours=24):
            return None
        tz = dt.timezone(sign * offset)
    if day is None:  # structural check only: any valid clock time will do
        day = dt.date(2000, 1, 1)
    try:
        return dt.datetime(day.year, day.month, day.day, hour, minute, int(m["ss"] or 0),
                           int((m["us"] or "0").ljust(6, "0")), tzinfo=tz)
    except ValueError:
        return None


def _parse_date_line(line: str, lineno: int, warnings: list[str]) -> dt.date:
    m = _DATE_LINE.match(line)
    date = None
    if m:
        try:
            date = _date_of(m)
        except ValueError as exc:
            raise PostParseError(f"impossible date {line!r} ({exc})", lineno) from None
    if date is None:
        raise PostParseError("no date line (expected e.g. 'Sunday, June 23, 2024')", lineno)
    if m["hh"] and _time_of(m, date) is None:
        raise PostParseError(f"impossible date {line!r} (bad time of day)", lineno)
    if m["wd"] and _WEEKDAYS[m["wd"].lower()] != date.weekday():
        warnings.append(
            f"line {lineno}: weekday {m['wd']!r} does not match {date.isoformat()} "
            f"(a {_WEEKDAY_NAMES[date.weekday()]})"
        )
    return date


def _format_date(d: dt.date) -> str:
    return f"{_WEEKDAY_NAMES[d.weekday()]}, {_MONTH_NAMES[d.month - 1]} {d.day}, {d.year}"


def _format_time(t: dt.datetime) -> str:
    """'June 23, 2024 at 9:10 AM' (+ seconds, fraction, offset only when needed)."""
    hour12 = t.hour % 12 or 12
    clock = f"{hour12}:{t.minute:02d}"
    if t.second or t.microsecond:
        clock += f":{t.second:02d}"
    if t.microsecond:
        clock += f".{t.microsecond:06d}"
    text = f"{_MONTH_NAMES[t.month - 1]} {t.day}, {t.year} at {clock} {'PM' if t.hour >= 12 else 'AM'}"
    offset = t.utcoffset()
    if offset:  # None (naive, read back as UTC) or zero: nothing to write
        sign = "-" if offset < dt.timedelta(0) else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        text += f" {sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text


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
    posted_at = None
    for idx in (-1, 0):
        if content:
            m = _TIME_LINE.match(content[idx])
            if m and (when := _time_of(m, post_date)) is not None:
                posted_at = when
                content.pop(idx)
                break
    paragraphs = ["\n".join(_unescape(line) for line in block) for block in _blocks(content, 0, len(content))]
    return ParsedComment(author=author, text="\n\n".join(paragraphs), posted_at=posted_at, position=position)


def parse_post(text: str) -> ParsedPost:
    """Parse one post file's text (see the module docstring for the rules)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = _BINARY.search(text)
    if bad:
        raise PostParseError("binary data, not a text post file", text.count("\n", 0, bad.start()) + 1)
    lines = [line.strip() for line in text.split("\n")]
    n = len(lines)
    warnings: list[str] = []

    i = 0
    while i < n and not lines[i]:
        i += 1
    if i == n:
        raise PostParseError("empty post file", 1)
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
    title = _unescape(lines[i])
    i += 1

    # Body region: up to the comment count or the first comment header. Blogger footer
    # lines are taken out (they read as paragraph breaks).
    author: str | None = None
    labels: list[str] = []
    body_lines: list[str] = []
    count_line = comments_start = None
    declared: int | None = None
    in_first_block = True
    seen_text = False
    k = i
    while k < n:
        line = lines[k]
        if not line:
            if seen_text:
                in_first_block = False
            body_lines.append(line)
            k += 1
            continue
        seen_text = True
        m = _SPECIAL.match(line)
        if m is None or (in_first_block and _HEADER_LABEL.match(line)):
            body_lines.append(line)
        elif m["count"]:
            count_line, declared = k + 1, 0 if m["no"] else int(m["n"])
            comments_start = k + 1
            break
        elif m["header"]:
            comments_start = k
            break
        elif m["posted"]:
            when = m["when"]
            if when and (_TIME_LINE.match(when) or _DATE_LINE.match(when)):
                author = m["by"].strip()
            else:  # "Posted by Bob at home": no time, all of it is the name
                author = _POSTED_BY.sub("", line).strip()
            body_lines.append("")
        elif m["label"]:
            labels.extend(x.strip() for x in m["labels"].split(",") if x.strip())
            body_lines.append("")
        else:  # "More..." is only special at the end; decided below
            body_lines.append(line)
        k += 1

    blocks = _blocks(body_lines, 0, len(body_lines))
    truncated = False
    if blocks and _SPECIAL.match(blocks[-1][-1]) and _SPECIAL.match(blocks[-1][-1])["more"]:
        truncated = True
        blocks[-1].pop()
        if not blocks[-1]:
            blocks.pop()
    headline, source, used = _split_header(blocks, title)
    body_blocks = blocks[used:]
    paragraphs = []
    for b, block in enumerate(body_blocks):
        out = []
        for li, line in enumerate(block):
            if b == 0 and li == 0 and line.startswith("\\") and len(line) > 1:
                out.append(line[1:])
            else:
                out.append(_unescape(line))
        paragraphs.append("\n".join(out))

    comments: list[ParsedComment] = []
    if comments_start is not None:
        current_author: str | None = None
        current: list[str] = []
        stray_line = None
        for k in range(comments_start, n):
            line = lines[k]
            m = _SPECIAL.match(line) if line.endswith(("...", "…")) else None
            if m and m["header"]:
                if current_author is not None:
                    comments.append(_parse_comment(current_author, current, len(comments), date))
                current_author, current = m["said"].strip(), []
            elif current_author is not None:
                current.append(line)
            elif line and stray_line is None:
                stray_line = k + 1
        if current_author is not None:
            comments.append(_parse_comment(current_author, current, len(comments), date))
        if stray_line is not None:
            warnings.append(f"line {stray_line}: text before the first '<Author> said...' line ignored")
    if declared is not None and declared != len(comments):
        warnings.append(
            f"line {count_line}: says {declared} comment{'s' if declared != 1 else ''}, found {len(comments)}"
        )

    return ParsedPost(
        date=date,
        title=title,
        headline=headline,
        source=source,
        body="\n\n".join(paragraphs),
        truncated=truncated,
        comments=comments,
        author=author,
        labels=labels,
        declared_comments=declared,
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


# --- writing -----------------------------------------------------------------------------


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _paragraph_lines(text: str) -> list[list[str]]:
    return [
        [line.strip() for line in para.split("\n") if line.strip()]
        for para in text.split("\n\n")
        if para.strip()
    ]


def format_post(post: ParsedPost) -> str:
    """Write the DESIGN §2 layout; ``parse_post`` reads it back to an equal post.

    What does not survive: ``warnings`` (not compared), ``link``/``entry_id`` (no place in
    the layout), the time of "Posted by", label text containing commas, trailing
    whitespace, naive ``posted_at`` (read back as UTC). The count line is written from
    ``declared_comments`` exactly (none when it is None).
    """
    title = _one_line(post.title)
    if not title:
        raise ValueError("post has no title")
    out = [_format_date(post.date), "", _escape(title), "", ""]

    raw_body = _paragraph_lines(post.body)
    body = [[_escape(line) for line in block] for block in raw_body]
    if body:  # the body's first line loses one leading backslash whatever follows it
        first = raw_body[0][0]
        body[0][0] = "\\" + first if first.startswith("\\") or _is_structural(first) else first
    headline = _one_line(post.headline) if post.headline else None
    source = _one_line(post.source) if post.source else None
    plain = [[x for x in (headline, source) if x]] if (headline or source) else []

    header = plain
    if _split_header(plain + body, title) != (headline, source, len(plain)):
        if plain:
            header = [[f"{kind}: {value}" for kind, value in (("Headline", headline), ("Source", source)) if value]]
        elif not body[0][0].startswith("\\"):
            body[0][0] = "\\" + body[0][0]
    for block in header:
        out.extend(block)
        out += ["", ""]
    for block in body:
        out.extend(block)
        out.append("")
    if post.truncated:
        out += ["More...", ""]
    if post.author:
        out.append(f"Posted by {_one_line(post.author)}")
    labels = [_one_line(label) for label in post.labels if label.strip()]
    if labels:
        out.append("Labels: " + ", ".join(labels))
    if post.author or labels:
        out.append("")

    if post.declared_comments is not None:
        n = post.declared_comments
        out += ["", "No comments:" if n == 0 else "1 comment:" if n == 1 else f"{n} comments:"]
    for comment in post.comments:
        # Authors cannot start with a backslash: that marks an escaped text line.
        author = _one_line(comment.author).lstrip("\\") or "Anonymous"
        out += ["", f"{author} said..."]
        for block in _paragraph_lines(comment.text):
            out.append("")
            out.extend(_escape(line) for line in block)
        if comment.posted_at is not None:
            out += ["", _format_time(comment.posted_at)]
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
