"""The forms of an "Article N" phrase: numbers, lists, ranges, paragraphs, ordinals, headings.

Pure functions (no database, no Discord), used by `bot.ingest.references`. A `Hit` is one
reference phrase as written; names and quotes are attached to it later.

- Numbers: "Article 4", "ARTICLE 4", "Art. 4", "Article IV", "Article Four", "the fifth article",
  "the 4th article". Roman numerals and number words need a capitalised "Article" unless a
  treaty is tied to the phrase (checked by the caller: "article IV of the treaty").
- Lists and ranges need the plural: "Articles 41 and 42", "Articles 3, 4, and 8", "Articles 41-42",
  "39–51", "1 to 3", "Articles 8 bis, 15 bis and 15 ter" (one number each).
- Paragraphs: "2(4)" -> "4", "42.7" -> "7", "10 (2)" -> "2", "XXI(b)(iii)" -> "b(iii)",
  "2a" -> "a", "8 bis" -> "bis", "Article 15, paragraph 1" -> "1".
- Not treaty articles by their form alone: constitution clauses ("Article I, Section 8", "Article
  II, sec. 4"), plural nouns ("Article 15s"), and "ARTICLE 19" inside a line of capitals (the
  organisation, in a list of names) or after "the group".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.ingest.treaties import roman_to_int

_UNITS = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_CARDINALS = {w: i for i, w in enumerate(_UNITS, 1)} | {w: i for i, w in enumerate(_TEENS, 10)} | _TENS
_ORD_UNITS = "first second third fourth fifth sixth seventh eighth ninth".split()
_ORD_TEENS = (
    "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split()
)
_ORD_TENS = {"twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50}
ORDINALS = {w: i for i, w in enumerate(_ORD_UNITS, 1)} | {w: i for i, w in enumerate(_ORD_TEENS, 10)} | _ORD_TENS


def _alts(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_CARD_RE = rf"(?:(?:{_alts(_TENS)})(?:[-\s](?:{_alts(_UNITS)}))?|{_alts(_TEENS)}|{_alts(_UNITS)})"
_ORD_RE = rf"(?:(?:{_alts(_TENS)})[-\s](?:{_alts(_ORD_UNITS)})|{_alts(ORDINALS)}|\d{{1,2}}(?:st|nd|rd|th))"
_ROMAN_RE = r"(?:(?=[IVXLC])C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))"
_LOW_ROMAN_RE = r"(?:(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))"
_SUFFIX = r"(?:bis|ter|quater|quinquies|sexies|septies|octies)"
# One number after "Article": digits (not "3,000"), a Roman numeral, or a number word; then its
# paragraph ("(4)", ".7", "a", " bis").
_NUM_RE = (
    rf"(?:\d{{1,3}}(?!\d)(?!,\d{{3}})(?:\.\d{{1,2}}(?![\d.]))?(?:(?!s\b)[a-zA-Z](?![\w’']))?|{_ROMAN_RE}(?![\w’'])"
    rf"|{_LOW_ROMAN_RE}(?![\w’'])|(?i:{_CARD_RE})\b)"
    rf"(?:[ \t]?\(\s*(?:\d{{1,2}}|[a-zA-Z]{{1,2}}|[ivx]{{1,5}})\s*\))*(?:\s+{_SUFFIX}\b)?"
)
_LIST_SEP_RE = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s*&\s*|\s+(?:and|or|to|through|thru)\s+|\s*[-–—]\s*)"

KEYWORD = re.compile(r"\b(?:(?:[Aa]rticles?|ARTICLES?)\b|(?:[Aa]rts?|ARTS?)\.)")
_NUMS = re.compile(rf"\s*(?:\(\s*)?({_NUM_RE}(?:{_LIST_SEP_RE}{_NUM_RE})*)")
_NUM_ITEM = re.compile(rf"({_LIST_SEP_RE})?({_NUM_RE})")
_ITEM_PARTS = re.compile(
    rf"(?P<num>\d{{1,3}}|[IVXLCivxlc]+|[A-Za-z]+(?:[-\s][A-Za-z]+)?)"
    rf"(?:\.(?P<dot>\d{{1,2}})|(?P<letter>[a-zA-Z](?![a-zA-Z])))?(?P<parens>(?:[ \t]?\([^()]*\))*)(?:\s+(?P<suffix>{_SUFFIX}))?\Z"
)
_PARENS = re.compile(r"\(\s*([^()\s]+)\s*\)")
_ROMAN_CHARS = re.compile(r"[IVXLCivxlc]+")
_ORD_BEFORE = re.compile(rf"(?i:\b({_ORD_RE}(?:\s*(?:,|and|&)\s*{_ORD_RE})*))\s+\Z")
_ORD_ITEM = re.compile(rf"(?i:{_ORD_RE})")
_RANGE_SEP = re.compile(r"[-–—]|\bto\b|\bthr")
_PARAGRAPH_AFTER = re.compile(r",?\s+(?:paragraph|para\.|para|§)\s*(\d{1,2}|[a-z])\b", re.I)
_PARAGRAPH_BEFORE = re.compile(r"\b(?:paragraph|para\.?|§)\s*(\d{1,2}|[a-z])\s+of\s+\Z", re.I)
_SECTION_AFTER = re.compile(r"\s*,?\s*(?:[Ss]ection|SECTION|[Ss]ecs?\.|[Cc]lause|§)\s*\d")
_ORG_WORDS = frozenset("group organisation organization ngo charity campaigner campaigners watchdog non-profit".split())
_ORG_BEFORE = re.compile(r"\b(?:group|organi[sz]ation|NGO|charity|campaigners?|watchdog|non-profit)\s+\Z", re.I)
_HEADING_REST = re.compile(r"[ \t]*(?:(?:[.:\-–—]+|\()[^\n]*)?[ \t]*(?=\n|\Z)")


@dataclass
class Hit:
    """One reference phrase: its numbers, and (filled in later) its name, quotes and flags."""

    start: int
    end: int
    numbers: list[int]
    paragraphs: list[str | None]
    kind: str  # "arabic" | "roman" | "word" | "ordinal"
    keyword: str
    name: str | None = None  # the treaty's name as written, when the phrase names one
    name_span: tuple[int, int] = (-1, -1)
    head: str | None = None  # the head noun of a generic name: "convention" for "of the Convention"
    described: bool = False  # a lowercase description ("the mutual defense treaty")
    common: bool = False  # "Common Article 3"
    heading: bool = False  # starts its line like a heading: "Article 39", "ARTICLE IV: Dues"
    not_treaty: bool = False  # a constitution's clause, an organisation, ...
    quotes: list[tuple[int, str]] = field(default_factory=list)  # (offset, words), in text order
    in_quote: int = -1  # index of the enclosing quote span, -1 if none

    @property
    def single(self) -> bool:
        return len(self.numbers) == 1


def _word_value(word: str, table: dict[str, int], units: list[str]) -> int | None:
    w = word.lower()
    if w in table:
        return table[w]
    if w[:1].isdigit():  # "5th"
        return int(w[:-2])
    tens, _, unit = w.replace(" ", "-").partition("-")
    if tens in _TENS and unit in units:
        return _TENS[tens] + units.index(unit) + 1
    return None


def _number(token: str) -> tuple[str, int, str | None] | None:
    """(kind, value, paragraph) of one number after "Article"."""
    m = _ITEM_PARTS.match(token.strip())
    if not m:
        return None
    num = m.group("num")
    parts = _PARENS.findall(m.group("parens")) if m.group("parens") else []
    paragraph = m.group("dot") or m.group("letter") or (parts.pop(0) if parts else None) or m.group("suffix")
    if paragraph and parts:
        paragraph += "".join(f"({p})" for p in parts)
    if num.isdigit():
        return "arabic", int(num), paragraph
    if m.group("dot") or m.group("letter"):
        return None
    if (num.isupper() or num.islower()) and (value := roman_to_int(num)) and _ROMAN_CHARS.fullmatch(num):
        return ("roman" if num.isupper() else "low-roman"), value, paragraph
    value = _word_value(num, _CARDINALS, _UNITS)
    return ("word", value, paragraph) if value else None


def _plural(word: str) -> bool:
    return word.lower().startswith(("articles", "arts"))


def _items(text: str, m: re.Match, word: str) -> tuple[list[int], list[str | None], str, int] | None:
    """(numbers, paragraphs, kind, end) of the number list after the keyword."""
    numbers: list[int] = []
    paragraphs: list[str | None] = []
    kind = None
    end = m.start(1)
    for it in _NUM_ITEM.finditer(text, m.start(1), m.end(1)):
        sep, tok = it.group(1), it.group(2)
        parsed = _number(tok)
        if parsed is None or (kind is not None and parsed[0] != kind):
            break
        if kind is None:
            kind = parsed[0]
        elif not _plural(word):
            break  # lists need the plural
        value = parsed[1]
        if sep and _RANGE_SEP.search(sep) and numbers and value > numbers[-1] and value - numbers[-1] <= 50:
            new = list(range(numbers[-1] + 1, value + 1))
            numbers.extend(new)
            paragraphs.extend([None] * (len(new) - 1) + [parsed[2]])
        else:
            numbers.append(value)
            paragraphs.append(parsed[2])
        end = it.end()
    if not numbers or kind is None:
        return None
    return numbers, paragraphs, kind, end


def number_hit(text: str, kw: re.Match) -> Hit | None:
    """The reference whose keyword ("Article", "Arts.") is kw, when numbers follow it."""
    word = kw.group()
    m = _NUMS.match(text, kw.end())
    if not m:
        return None
    parsed = _items(text, m, word)
    if parsed is None:
        return None
    numbers, paragraphs, kind, end = parsed
    if kind == "low-roman" and word[0].isupper():
        return None  # "Article iv" is no form anyone writes; "Article i" is a typo'd pronoun
    if len(numbers) == 1 and paragraphs[0] is None:
        p = _PARAGRAPH_AFTER.match(text, end)
        if p:
            paragraphs[0], end = p.group(1), p.end()  # "Article 15, paragraph 1"
        elif text.endswith("of ", 0, kw.start()) and (p := _PARAGRAPH_BEFORE.search(text, max(0, kw.start() - 20), kw.start())):
            paragraphs[0] = p.group(1)
    hit = Hit(kw.start(), end, numbers, paragraphs, kind, word)
    hit.not_treaty = _not_treaty_form(text, hit)
    hit.common = text[max(0, kw.start() - 7) : kw.start()].lower() == "common "
    hit.heading = (
        word[0].isupper() and "\n" not in text[kw.start() : end] and _starts_line(text, kw.start())
        and bool(_HEADING_REST.match(text, end))
    )
    return hit


def ordinal_hit(text: str, kw: re.Match) -> Hit | None:
    """"the fifth article", "the agreement's first and second articles": the ordinals before kw."""
    word = kw.group()
    if not word.lower().startswith("article"):
        return None
    before = text[max(0, kw.start() - 24) : kw.start()].split()
    last = before[-1].lower() if before else ""
    if not (last in ORDINALS or last[:-2].isdigit() and last[-2:] in ("st", "nd", "rd", "th") or "-" in last):
        return None  # quick: the word before is no ordinal
    o = _ORD_BEFORE.search(text, max(0, kw.start() - 60), kw.start())
    if not o:
        return None
    items = [v for v in (_word_value(t.group(), ORDINALS, _ORD_UNITS) for t in _ORD_ITEM.finditer(o.group(1))) if v]
    if not items:
        return None
    return Hit(o.start(1), kw.end(), items, [None] * len(items), "ordinal", word)


def _starts_line(text: str, pos: int) -> bool:
    line = text.rfind("\n", 0, pos) + 1
    return not text[line:pos].strip(" \t#*>-•")


def _not_treaty_form(text: str, hit: Hit) -> bool:
    """Forms no treaty article takes: "Article I, Section 8", "Article 15s", "(3) ARTICLE 19 (4)"."""
    if _SECTION_AFTER.match(text, hit.end):
        return True
    if text.startswith("s", hit.end) and not text[hit.end + 1 : hit.end + 2].isalnum():
        return True  # "Article 15s": proceedings named after a code's article
    before = text[max(0, hit.start - 30) : hit.start].split()
    if before and before[-1].lower() in _ORG_WORDS and _ORG_BEFORE.search(text, max(0, hit.start - 30), hit.start):
        return True
    if hit.keyword.isupper() and not _starts_line(text, hit.start):
        line_start = text.rfind("\n", 0, hit.start) + 1
        line_end = text.find("\n", hit.end)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        caps = re.findall(r"\b[A-Z]{3,}\b", line)
        if not re.search(r"[a-z]", line) and len(caps) >= 3:
            return True  # a line of names in capitals: "(2) PRIVACY INTERNATIONAL (3) ARTICLE 19"
    return False


def heading_only(text: str, hit: Hit) -> bool:
    """Is the hit's line nothing but a heading ("Article 39", "Article II (meaning of genocide)")?"""
    if not hit.heading or not hit.single:
        return False
    line_end = text.find("\n", hit.end)
    rest = text[hit.end : line_end if line_end >= 0 else len(text)].strip()
    return len(rest) <= 60 and not re.search(r"[.;!?]\s*\S|\barticle\b", rest, re.I)
