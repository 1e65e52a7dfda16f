"""What people type for an article ("5", "V", "2(4)", "42.7", "8 bis", "3-5"), and the numbered
paragraphs of an article's text. Pure functions: /article, `postbot article` and their autocompletes.

Decisions where the issue leaves room:
- Accepted: an Arabic number (1-9999) or a Roman numeral (any case: "iv" is IV), optionally
  after "Article"/"Art."; a paragraph as "(4)", "(a)", ".7" or a Latin suffix ("bis", "ter",
  ...); a range "3-5" (also "3–5", "3 to 5") or a list "3, 4" / "3 and 4", of at most
  MAX_ARTICLES articles. Anything else is a user error that shows the forms.
- A text's numbered paragraphs: a paragraph (blank-line separated) starting "1.", "1)" or "(1)"
  begins paragraph 1; the paragraphs after it that start otherwise ("(a) ...", continuation
  text) belong to it. The first kind of marker seen (digits or letters) is the top level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UserFacingError

MAX_ARTICLES = 10  # pages of one /article answer
MAX_NUMBER = 9999
LATIN = ("bis", "ter", "quater", "quinquies", "sexies", "septies", "octies", "novies", "decies")
FORMS = "Type an article as 5, V, 2(4), 42.7, 8 bis or 3-5."

_ROMAN = re.compile(r"(?i)^M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_NUMBER = r"(?:\d{1,4}|[ivxlcdm]{1,12})"
_PARAGRAPH = rf"(?:\s*\(\s*(\w{{1,3}})\s*\)|\.(\d{{1,3}})|\s*({'|'.join(LATIN)}))"
_SINGLE = re.compile(rf"(?i)^({_NUMBER}){_PARAGRAPH}?$")
_RANGE = re.compile(rf"(?i)^({_NUMBER})\s*(?:-|–|—|\bto\b)\s*({_NUMBER})$")
_LIST = re.compile(r"(?i)\s*(?:,|\band\b|&)\s*")
_KEYWORD = re.compile(r"(?i)^\s*(?:articles?|arts?\.?)\s*")


@dataclass(frozen=True)
class ArticleQuery:
    """The articles a user asked for: one (maybe a paragraph of it), or several in order."""

    numbers: tuple[int, ...]
    paragraph: str | None = None  # only for a single article
    roman: bool = False  # written as a Roman numeral ("V"): of two treaties alike, the one that numbers so

    @property
    def single(self) -> bool:
        return len(self.numbers) == 1


def _roman(token: str) -> int | None:
    if not _ROMAN.match(token):
        return None
    values = [_ROMAN_VALUES[c] for c in token.lower()]
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
    return total or None


def _number(token: str) -> int | None:
    value = int(token) if token.isdigit() else _roman(token)
    return value if value is not None and 1 <= value <= MAX_NUMBER else None


def _shown(typed: str) -> str:
    typed = " ".join(typed.split())
    return repr(typed if len(typed) <= 40 else typed[:39] + "…")


def parse_article_query(typed: str | int) -> ArticleQuery:
    """"5" -> (5,), "V" -> (5,), "2(4)" -> (2,) paragraph "4", "3-5" -> (3, 4, 5); else a UserFacingError."""
    text = _KEYWORD.sub("", str(typed)).strip()
    if not text:
        raise UserFacingError(f"Which article? {FORMS}")
    if m := _SINGLE.match(text):
        number = _number(m.group(1))
        if number is not None:
            paragraph = next((p for p in m.groups()[1:] if p), None)
            return ArticleQuery((number,), paragraph.lower() if paragraph else None, roman=not m.group(1).isdigit())
    elif m := _RANGE.match(text):
        first, last = _number(m.group(1)), _number(m.group(2))
        if first is not None and last is not None and first <= last:
            if last - first + 1 > MAX_ARTICLES:
                raise UserFacingError(f"{_shown(text)} is {last - first + 1} articles; ask for at most {MAX_ARTICLES} at a time.")
            return ArticleQuery(tuple(range(first, last + 1)), roman=not m.group(1).isdigit())
    else:
        parts = [p for p in _LIST.split(text) if p]
        numbers = [_number(p) for p in parts]
        if len(parts) > 1 and None not in numbers:
            unique = tuple(dict.fromkeys(numbers))
            if len(unique) > MAX_ARTICLES:
                raise UserFacingError(f"That is {len(unique)} articles; ask for at most {MAX_ARTICLES} at a time.")
            return ArticleQuery(unique, roman=not parts[0].isdigit())
    raise UserFacingError(f"{_shown(text)} is not an article number. {FORMS}")


def article_query(typed: str) -> ArticleQuery | None:
    """What a half-typed article means, or None when it is not (yet) an article: for autocomplete."""
    try:
        return parse_article_query(typed)
    except UserFacingError:
        return None


def query_numbers(typed: str) -> tuple[int, ...] | None:
    """The numbers a half-typed article means, or None."""
    found = article_query(typed)
    return found.numbers if found else None


# --------------------------------------------------------------------------- numbered paragraphs

_MARKER = re.compile(r"^\s*(?:(\d{1,3})[.)]|\((\d{1,3}|[a-z])\))\s")


def numbered_paragraphs(text: str) -> dict[str, str]:
    """paragraph label ("1", "2", or "a", "b") -> its text, for an article whose paragraphs are numbered."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    top_is_digit: bool | None = None
    for block in re.split(r"\n\s*\n", text.strip()):
        m = _MARKER.match(block)
        label = (m.group(1) or m.group(2)) if m else None
        if label is not None:
            if top_is_digit is None:
                top_is_digit = label.isdigit()
            if label.isdigit() == top_is_digit and label not in found:
                current = label
                found[current] = [block.strip()]
                continue
        if current is not None:
            found[current].append(block.strip())
    return {label: "\n\n".join(blocks) for label, blocks in found.items()}
