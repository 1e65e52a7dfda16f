"""Full treaty texts -> ParsedTreaty: title, preamble, numbered articles, optional chapters.

The format is the one treaty databases publish: a title line, an optional preamble, then
"Article N" headings (Arabic or Roman numerals, "ARTICLE 4", "Art. 4", optionally with a
short title such as "Article 5 – Collective defence"), optionally grouped under "Chapter I" /
"CHAPTER 2" / "Part A" lines. Leading `# source:` / `# note:` lines are provenance.

A file whose articles are not headed "Article N" on their own line (a summary, or quotes
from news reports such as the partial Russia–DPRK file in the corpus) raises
TreatyParseError: loading it as a full text would store nothing quotable, and storing the
whole thing as a preamble would hide the mistake. Quotes from such sources reach the store
through posts instead (bot.articles).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from bot.errors import ParseError

log = logging.getLogger(__name__)

__all__ = ["ParsedArticle", "ParsedTreaty", "TreatyParseError", "parse_treaty", "roman_to_int"]


@dataclass
class ParsedArticle:
    number: int  # Arabic value (IV -> 4)
    label: str  # as written: "4" or "IV"
    text: str  # paragraphs joined with "\n\n"
    chapter: str | None = None  # "Chapter II — Purposes" when the treaty has chapters
    title: str | None = None  # the heading's short title ("Collective defence"), if any


@dataclass
class ParsedTreaty:
    title: str  # first non-provenance line
    preamble: str  # text before the first article heading ("" if none)
    articles: list[ParsedArticle]
    sources: list[str] = field(default_factory=list)  # "# source:" values (provenance)
    notes: list[str] = field(default_factory=list)  # "# note:" values


class TreatyParseError(ParseError):
    """The text is not a treaty this parser can load; `line` is 1-based when known."""


_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})\Z")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_to_int(numeral: str) -> int | None:
    """The value of a well-formed Roman numeral (any case), else None."""
    s = numeral.upper()
    if not s or not _ROMAN.match(s):
        return None
    total = 0
    for i, ch in enumerate(s):
        v = _ROMAN_VALUES[ch]
        total += -v if i + 1 < len(s) and _ROMAN_VALUES[s[i + 1]] > v else v
    return total


# "# source: ..." / "# note: ..." provenance lines (anywhere: the corpus puts them under
# section separators too; they are never treaty text).
_PROVENANCE = re.compile(r"#\s*(source|note)\s*:\s*(.*)\Z", re.I)
_MARKUP = re.compile(r"\A(?:#{1,6}\s+)?(?:\*\*|__)?(.*?)(?:\*\*|__)?\Z")
_SEP = r"\s*(?:[.:\-–—]\s*)"
# A heading: the whole line is "Article N" (optionally a separator and a short title).
_ARTICLE_HEADING = re.compile(
    r"(?:Article|ARTICLE|Art\.|ART\.)\s*(?P<num>\d{1,4}|[IVXLCDM]{1,8})\b"
    rf"(?:{_SEP}(?P<title>.*?))?\s*\Z"
)
_CHAPTER_HEADING = re.compile(
    r"(?P<kind>Chapter|CHAPTER|Part|PART|Title|TITLE)\s+"
    r"(?P<num>\d{1,3}|[IVXLCDM]{1,8}|[A-Z])\b"
    rf"(?:{_SEP}(?P<title>.*?))?\s*\Z"
)
_LIST_ITEM = re.compile(r"\(?(?:\d{1,3}|[a-z]{1,2}|[ivx]{1,5})[.)]\s|\([a-z]{1,2}\)|\([ivx]{1,5}\)")
# Markdown links into the source database ("[Charter of the United Nations](../../x/README.md)")
# are dead outside it: keep their text. Absolute links are kept as written.
_RELATIVE_LINK = re.compile(r"\[([^\[\]\n]+)\]\((?![a-z][a-z0-9+.-]*:)[^()\s]*\)", re.I)
_MAX_TITLE = 100  # longer "titles" are sentences, not headings
_WRAPPED = 100  # blocks whose lines are all this short are hard-wrapped prose


def _short_title(title: str | None) -> bool:
    """Is what follows "Article N –" a heading title rather than the start of a sentence?"""
    if not title:
        return True
    return len(title) <= _MAX_TITLE and not title.endswith((".", ",", ";", ":")) and not title[0].islower()


def _next_line_title(lines: list[str], i: int, *, needs_text: bool) -> str | None:
    """A short title on the line right under a heading ("Article 5\nCollective defence\n\n...").

    Only a line directly under the heading counts (a blank line in between means text), and
    under an article heading only when more text follows it, so a one-line article keeps it.
    """
    if i + 1 >= len(lines):
        return None
    cand = " ".join(lines[i + 1].split())
    if not cand or len(cand) > 80 or not cand[0].isalpha() or cand[0].islower():
        return None
    if cand.endswith((".", ",", ";", ":")) or _heading(cand):
        return None
    if needs_text:
        for line in lines[i + 2 :]:
            if line.strip():
                return None if _heading(line.strip()) else cand
        return None
    return cand


def _paragraphs(lines: list[str]) -> str:
    """Blank-line separated blocks -> paragraphs joined with "\\n\\n".

    Hard-wrapped blocks (all lines short) are re-joined with spaces; blocks of long lines
    (one paragraph per line, as in the NPT's numbered paragraphs) keep each line.
    List items ("1.", "(a)", "(ii)") always start a new paragraph.
    """
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        wrapped = len(block) > 1 and max(len(b) for b in block) <= _WRAPPED
        current: list[str] = []
        for line in block:
            if current and (not wrapped or _LIST_ITEM.match(line)):
                out.append(" ".join(current))
                current = []
            current.append(line)
        out.append(" ".join(current))
        block.clear()

    for raw in lines:
        line = " ".join(_RELATIVE_LINK.sub(r"\1", raw).split())
        if line:
            block.append(line)
        else:
            flush()
    flush()
    return "\n\n".join(out)


def parse_treaty(text: str) -> ParsedTreaty:
    """Parse a full treaty text; raises TreatyParseError (with a line number) if it is not one."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sources: list[str] = []
    notes: list[str] = []
    body: list[tuple[int, str]] = []  # (1-based line number, line) without provenance
    for no, line in enumerate(lines, 1):
        m = _PROVENANCE.match(line.strip())
        if m:
            (sources if m.group(1).lower() == "source" else notes).append(m.group(2).strip())
        else:
            body.append((no, line.rstrip()))
    if not any(line.strip() for _, line in body):
        raise TreatyParseError("empty treaty text (nothing but provenance lines)" if sources or notes else "empty treaty text")

    first = next(i for i, (_, line) in enumerate(body) if line.strip())
    title_no, title = body[first][0], " ".join(body[first][1].split())
    if _heading(title):
        raise TreatyParseError(f"no title: the first line is a heading ({title!r}); put the treaty's name first", line=title_no)

    plain = [line for _, line in body]
    preamble: list[str] = []
    articles: list[ParsedArticle] = []
    article_lines: list[list[str]] = []
    seen: dict[int, int] = {}  # number -> line of its heading
    chapter: str | None = None
    current: list[str] = preamble
    prev_blank = True
    i = first + 1
    while i < len(body):
        no, raw = body[i]
        stripped = raw.strip()
        heading = _heading(stripped) if stripped and (prev_blank or _ends_sentence(plain[i - 1])) else None
        if heading is None:
            current.append(raw)
            prev_blank = not stripped
            i += 1
            continue
        kind, label, value, head_title = heading
        if head_title is None and (nxt := _next_line_title(plain, i, needs_text=kind == "article")) is not None:
            head_title = nxt
            i += 1
        if kind == "chapter":
            chapter = f"{label} — {head_title}" if head_title else label
        else:
            if value in seen:
                raise TreatyParseError(f"duplicate article number {value} ({label!r}; first at line {seen[value]})", line=no)
            seen[value] = no
            current = []
            article_lines.append(current)
            articles.append(ParsedArticle(number=value, label=label, text="", chapter=chapter, title=head_title))
        prev_blank = True
        i += 1

    if not articles:
        raise TreatyParseError(
            f"no 'Article N' headings found in {len(lines) - (lines[-1] == '')} lines: not a full treaty text "
            "(summaries and quotes from news reports cannot be loaded as a treaty)",
            line=title_no,
        )
    for art, art_lines in zip(articles, article_lines):
        art.text = _paragraphs(art_lines)
    empty = [a.label for a in articles if not a.text]
    if empty:
        log.warning("treaty %r: articles without text: %s", title, ", ".join(empty))
    return ParsedTreaty(title=title, preamble=_paragraphs(preamble), articles=articles, sources=sources, notes=notes)


def _ends_sentence(line: str) -> bool:
    """A heading directly under text is one only if that text ended (not "... with\\nArticle 51.")."""
    return line.rstrip().endswith((".", ";", ":", "!", "?", '"', "”", ")"))


def _heading(line: str) -> tuple[str, str, int, str | None] | None:
    """("article" | "chapter", label as written, value, short title) if the line is a heading."""
    line = _MARKUP.match(line).group(1).strip()
    if not line or len(line) > 140:
        return None
    m = _ARTICLE_HEADING.match(line)
    if m and _short_title(m.group("title")):
        label = m.group("num")
        value = int(label) if label.isdigit() else roman_to_int(label)
        if value:
            return "article", label, value, (m.group("title") or None)
    m = _CHAPTER_HEADING.match(line)
    if m and _short_title(m.group("title")):
        return "chapter", f"{m.group('kind')} {m.group('num')}", 0, (m.group("title") or None)
    return None
