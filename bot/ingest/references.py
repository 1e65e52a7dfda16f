""""Article N" references in text: the words they quote, and the treaty each one means.

Pure functions (no database, no Discord). `find_references` runs on every post body and
comment at load, so it rejects most texts with one precompiled search and otherwise stays
linear: keyword hits are found by one regex, and quotes/sentences are computed only for the
paragraphs that contain a hit.

Decisions (see tests/test_articles.py for the cases):
- Forms: "Article 4", "ARTICLE 4", "Article IV", "Art. 4", "Article Four", "Articles 3 and 4",
  "Articles 3-5"/"3–5"/"3 to 5" (one Reference each), "the fifth article", "the treaty's second
  article", "the third article of ...". Roman numerals and number words need a capitalised
  "Article" ("the article I read" is not Article 1); lists need the plural ("Articles").
- An ordinal ("the fifth article") is a reference only when tied to a treaty: a possessive
  treaty word or acronym before it ("the agreement's", "NATO's"), "of <treaty>" after it, or a
  legal verb after it ("stipulates", "reads", ...) in a text that mentions a treaty at all.
  "the article written by Putin" has no number and is never a reference.
- A quote (“…” or "...", odd spacing tolerated) belongs to a reference in the same sentence:
  to the nearest reference before it, or, when none is before it (`"...," Article 4 read.`)
  or it is an attribution right before a reference that quotes nothing else, to the one after.
  Several quotes for one reference are joined with " … ". References inside a quote (e.g.
  "Article 51 of the UN Charter" quoted from the treaty) are reported, never own a quote,
  and never steal the outer one.
- A quote that belongs to a list ("Articles 3 and 4 state that "..."") is not attached to
  any of them: which article the words come from is unknown, and a wrong attribution is
  worse than none.
- `treaty_name` is the name as written after "of" ("Article 5 of the North Atlantic Treaty")
  or before a possessive ("NATO's Article 5"); a bare or merely descriptive one ("the treaty",
  "this Treaty", "the new treaty", "the agreement's") is None and resolves to the nearest.
- Resolution: an explicit name matched fuzzily through the aliases; a lowercase descriptive
  name that matches nothing ("the mutual defense treaty") falls back like a bare one; a
  capitalised name that matches nothing ("Treaty of Lisbon" when unknown) resolves to None
  rather than to a wrong treaty. Then the nearest known treaty mentioned before the reference
  (ignoring mentions inside quotes, unless the reference is in the same quote), then
  `main_treaty`, then None.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.ingest.names import (
    _GENERIC,
    _HEADS,
    TreatyName,
    _bare,
    _is_generic,
    exact_treaty,
    find_treaty_mentions,
    match_treaty,
)
from bot.ingest.sentences import sentence_ends
from bot.ingest.treaties import roman_to_int

__all__ = ["Reference", "ResolvedReference", "find_references", "resolve_references"]


@dataclass(frozen=True)
class Reference:
    number: int
    quote: str | None  # the quoted words, without quote marks, whitespace-normalised
    treaty_name: str | None  # explicit name as written ("North Atlantic Treaty"), else None
    start: int  # offset of the reference phrase in the text




@dataclass(frozen=True)
class ResolvedReference:
    number: int
    quote: str | None
    treaty: TreatyName | None
    start: int
    treaty_name: str | None = None  # as written in the text, when the sentence names one
    via: str = "none"  # how the treaty was found: "name" | "nearest" | "main" | "none"


# --------------------------------------------------------------------------- numbers

_UNITS = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_CARDINALS = {w: i for i, w in enumerate(_UNITS, 1)} | {w: i for i, w in enumerate(_TEENS, 10)} | _TENS
_ORD_UNITS = "first second third fourth fifth sixth seventh eighth ninth".split()
_ORD_TEENS = (
    "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split()
)
_ORD_TENS = {"twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50}
_ORDINALS = {w: i for i, w in enumerate(_ORD_UNITS, 1)} | {w: i for i, w in enumerate(_ORD_TEENS, 10)} | _ORD_TENS


def _alts(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_CARD_RE = rf"(?:(?:{_alts(_TENS)})(?:[-\s](?:{_alts(_UNITS)}))?|{_alts(_TEENS)}|{_alts(_UNITS)})"
_ORD_RE = rf"(?:(?:{_alts(_TENS)})[-\s](?:{_alts(_ORD_UNITS)})|{_alts(_ORDINALS)}|\d{{1,2}}(?:st|nd|rd|th))"
_ROMAN_RE = r"(?:(?=[IVXLC])C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))"
# One number after "Article": digits (not "3,000"), a Roman numeral, or a number word.
_NUM_RE = rf"(?:\d{{1,3}}(?!\d)(?![,.]\d)|{_ROMAN_RE}(?![\w’'])|(?i:{_CARD_RE})\b)"
_LIST_SEP_RE = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s*&\s*|\s+(?:and|or|to|through|thru)\s+|\s*[-–—]\s*)"

_KEYWORD = re.compile(r"\b(?:(?:[Aa]rticles?|ARTICLES?)\b|(?:[Aa]rts?|ARTS?)\.)")
_NUMS = re.compile(rf"\s*(?:\(\s*)?({_NUM_RE}(?:{_LIST_SEP_RE}{_NUM_RE})*)")
_NUM_ITEM = re.compile(rf"({_LIST_SEP_RE})?({_NUM_RE})")
_ORD_BEFORE = re.compile(rf"(?i:\b({_ORD_RE}(?:\s*(?:,|and|&)\s*{_ORD_RE})*))\s+\Z")
_ORD_ITEM = re.compile(rf"(?i:{_ORD_RE})")
_RANGE_SEP = re.compile(r"[-–—]|\bto\b|\bthr")


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


def _number(token: str) -> tuple[str, int] | None:
    """(kind, value) of one number after "Article"."""
    if token.isdigit():
        return "arabic", int(token)
    if token.isupper() and (value := roman_to_int(token)):
        return "roman", value
    value = _word_value(token, _CARDINALS, _UNITS)
    return ("word", value) if value else None


_QUALIFIER_START = frozenset("on of between for concerning establishing".split())
_CONNECTORS = frozenset("the of and on between for in to".split())
_WORD_RE = r"\[?[^\W_](?:[\w'’]|[.\-–—/](?=[^\W_]))*"
_TOKEN = re.compile(rf"[ \t\r\n]*({_WORD_RE}\.?\]?)")
_QUAL_TOKEN = re.compile(rf"(?:[ \t\r\n]*,)?[ \t\r\n]*({_WORD_RE}\]?)")
_OF = re.compile(r"(?:\s*\(\w{1,3}\))*,?\s+of\s+(?:the\s+)?", re.I)
_LEGAL_VERBS = frozenset(
    "stipulates stipulated states stated says said reads read provides provided specifies specified "
    "outlines outlined establishes obliges obligates requires commits guarantees declares envisages "
    "covers deals sets calls prohibits bans allows affirms defines grants".split()
)
_TREATY_WORD = re.compile(r"(?i:treat(?:y|ies)|agreement|pact|charter|convention|accord|protocol)")
_ACRONYM = re.compile(r"[A-Z]{2,}")



def _capitalised(token: str) -> bool:
    t = token.lstrip("[")
    return bool(t) and (t[0].isupper() or t[0].isdigit() or any(c.isupper() for c in t))


def _name_after(text: str, pos: int) -> tuple[list[str], bool, str] | None:
    """The name in "of (the) <name>" at pos: (tokens, has head noun, as written), or None."""
    m = _OF.match(text, pos)
    if not m:
        return None
    pos = m.end()
    tokens: list[str] = []
    ends: list[int] = []
    head = False
    caps_run = 0  # leading capitalised tokens, the name when no head noun follows
    for _ in range(8):
        t = _TOKEN.match(text, pos)
        if not t:
            break
        word = t.group(1)
        if word.endswith(".") and not word.endswith("..") and len(word.rstrip(".")) > 1 and "." not in word[:-1]:
            word = word[:-1]  # sentence-final period, not "U.N."
        tokens.append(word)
        pos = t.start(1) + len(word)
        ends.append(pos)
        if _bare(word) in _HEADS:
            head = True
            break
        if _capitalised(word) and caps_run == len(tokens) - 1:
            caps_run += 1
    if not head:
        if not caps_run:
            return None
        return tokens[:caps_run], False, _written(text, m.end(), ends[caps_run - 1])
    if _capitalised(tokens[-1]):  # "Treaty on the Non-Proliferation of Nuclear Weapons"
        q = _QUAL_TOKEN.match(text, pos)
        if q and q.group(1).lower() in _QUALIFIER_START:
            extra: list[str] = []
            extra_ends: list[int] = []
            good = 0
            while q and len(extra) < 14:
                word = q.group(1).rstrip(".")
                if word.lower() in _CONNECTORS:
                    extra.append(word)
                elif _capitalised(word):
                    extra.append(word)
                    good = len(extra)
                else:
                    break
                pos = q.start(1) + len(word)
                extra_ends.append(pos)
                q = _QUAL_TOKEN.match(text, pos)
            if good:
                tokens += extra[:good]
                ends.append(extra_ends[good - 1])
    return tokens, True, _written(text, m.end(), ends[-1])


def _name_before(text: str, pos: int) -> tuple[list[str], bool, str] | None:
    """The possessive name right before pos ("the treaty's", "NATO's"): (tokens, head noun, as written)."""
    window = text[max(0, pos - 120) : pos]
    if not window.endswith((" ", "\n", "\t")):
        return None
    words = window.split()
    if not words or not words[-1].endswith(("'s", "’s")):
        return None
    tokens = [words[-1]]
    base = _bare(words[-1])
    if not (base in _HEADS or _capitalised(words[-1])):
        return None
    for word in reversed(words[:-1]):
        if word[-1] in ".,;:!?\"”“)" or not _capitalised(word) or len(tokens) >= 7:
            break
        tokens.insert(0, word)
    return tokens, base in _HEADS, _written(" ".join(tokens), 0, None)


def _has_acronym(tokens: list[str]) -> bool:
    return any(_ACRONYM.fullmatch(t.strip("[]").removesuffix("'s").removesuffix("’s")) for t in tokens)


def _written(text: str, start: int, end: int | None) -> str:
    """The name as written: whitespace-normalised, without a final possessive."""
    name = " ".join(text[start:end].split())
    for suffix in ("'s", "’s"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# --------------------------------------------------------------------------- quotes, sentences

_PARA_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_QUOTE_CHAR = re.compile(r"[“”\"«»„]")
_CLOSERS = {"“": "”\"", '"': "\"”", "«": "»", "„": "“”\""}


def _quote_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(open, close) offsets of the quote marks of each top-level quote in text[start:end]."""
    spans: list[tuple[int, int]] = []
    open_at = -1
    closers = ""
    for m in _QUOTE_CHAR.finditer(text, start, end):
        ch, p = m.group(), m.start()
        if open_at < 0:
            if ch in _CLOSERS:
                open_at, closers = p, _CLOSERS[ch]
            elif ch == "”" and p + 1 < end and text[p + 1].isalnum() and (p == start or not text[p - 1].isalnum()):
                open_at, closers = p, "”\""  # a closing mark used to open
        elif ch in closers:
            spans.append((open_at, p))
            open_at = -1
    return spans


def _sentence_breaks(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> list[int]:
    """Offsets where a new sentence starts in text[start:end] (periods inside quotes don't count)."""
    opens = [s[0] for s in spans]
    breaks = []
    for m in sentence_ends(text, start, end):
        i = bisect.bisect_right(opens, m.start()) - 1
        if i >= 0 and spans[i][0] < m.start() < spans[i][1] and not (m.start(2) <= spans[i][1] < m.end(2)):
            continue  # inside a quote, and the quote does not close right here
        breaks.append(m.end())
    return breaks


def _norm_ws(s: str) -> str:
    return " ".join(s.split())


# --------------------------------------------------------------------------- find_references


@dataclass
class _Hit:
    start: int
    end: int
    numbers: list[int]
    name: str | None
    quotes: list[str]
    in_quote: int = -1  # index of the enclosing quote span in its paragraph, -1 if none


def _text_mentions_treaty(text: str, cache: dict[str, bool]) -> bool:
    if "t" not in cache:
        cache["t"] = _TREATY_WORD.search(text) is not None
    return cache["t"]


def _hit_at(text: str, kw: re.Match, cache: dict[str, bool]) -> _Hit | None:
    """The reference whose "article" keyword is kw, or None."""
    word = kw.group()
    m = _NUMS.match(text, kw.end())
    if m:
        items: list[int] = []
        kind = None
        end = m.start(1)
        for it in _NUM_ITEM.finditer(text, m.start(1), m.end(1)):
            sep, tok = it.group(1), it.group(2)
            parsed = _number(tok)
            if parsed is None or (kind is not None and parsed[0] != kind):
                break
            if kind is None:
                kind = parsed[0]
                if kind != "arabic" and not word[0].isupper():
                    return None  # "the article I read", "an article one wrote"
            elif not word.lower().startswith(("articles", "arts")):
                break  # lists need the plural
            value = parsed[1]
            if sep and _RANGE_SEP.search(sep) and items and value > items[-1] and value - items[-1] <= 50:
                items.extend(range(items[-1] + 1, value + 1))
            else:
                items.append(value)
            end = it.end()
        if not items:
            return None
        if kind == "word" and word[0].islower():
            before = text[max(0, kw.start() - 12) : kw.start()].split()
            if before and before[-1].lower() in _GENERIC:
                return None
        named = _name_after(text, end) or _name_before(text, kw.start())
        name = None if not named or _is_generic(named[0]) else named[2]
        return _Hit(kw.start(), end, items, name, [])
    if not word.lower().startswith("article"):
        return None
    o = _ORD_BEFORE.search(text, max(0, kw.start() - 60), kw.start())
    if not o:
        return None
    items = [v for v in (_word_value(t.group(), _ORDINALS, _ORD_UNITS) for t in _ORD_ITEM.finditer(o.group(1))) if v]
    if not items:
        return None
    start = o.start(1)
    after = _name_after(text, kw.end())
    before = _name_before(text, start)
    ok = False
    for named in (after, before):
        if named and (named[1] or _has_acronym(named[0])):
            ok = True  # "the treaty's fifth article", "the fifth article of NATO"
    if not ok:
        following = text[kw.end() : kw.end() + 40].split()[:3]
        ok = any(w.strip(",.;:").lower() in _LEGAL_VERBS for w in following) and _text_mentions_treaty(text, cache)
    if not ok:
        return None
    named = after or before
    name = None if not named or _is_generic(named[0]) else named[2]
    end = kw.end()
    return _Hit(start, end, items, name, [])


def _attach_quotes(text: str, hits: list[_Hit], start: int, end: int) -> None:
    """Give each hit in this paragraph the quotes its sentence gives it (see module doc)."""
    spans = _quote_spans(text, start, end)
    if not spans:
        return
    opens = [s[0] for s in spans]
    for h in hits:
        i = bisect.bisect_right(opens, h.start) - 1
        if i >= 0 and spans[i][0] < h.start < spans[i][1]:
            h.in_quote = i
    breaks = _sentence_breaks(text, start, end, spans)
    by_sentence: dict[int, list[_Hit]] = {}
    for h in hits:
        by_sentence.setdefault(bisect.bisect_right(breaks, h.start), []).append(h)
    bounds = [start, *breaks, end]
    for s, sent_hits in by_sentence.items():
        s_start, s_end = bounds[s], bounds[s + 1]
        outer = [h for h in sent_hits if h.in_quote < 0]
        if not outer:
            continue
        quotes = [sp for sp in spans if s_start <= sp[0] and sp[1] < s_end]
        for qi, (q_open, q_close) in enumerate(quotes):
            content = _norm_ws(text[q_open + 1 : q_close]).rstrip(",").rstrip()
            if not content:
                continue
            prev = next((h for h in reversed(outer) if h.end <= q_open), None)
            nxt = next((h for h in outer if h.start > q_close), None)
            # `"...," Article 4 read.`: a quote ending in an attribution comma right before a
            # reference that quotes nothing after it belongs to that reference.
            attribution = text[q_open + 1 : q_close].rstrip().endswith((",", "?", "!")) or text.startswith(",", q_close + 1)
            owner = prev
            if nxt is not None and (
                prev is None
                or attribution
                and q_close + 45 > nxt.start
                and not _QUOTE_CHAR.search(text, q_close + 1, nxt.start)
                and not any(o > nxt.end for o, _ in quotes[qi + 1 :])
            ):
                owner = nxt
            if owner is not None:
                owner.quotes.append(content)


def _keywords(text: str) -> Iterable[re.Match]:
    """The "article"/"Art." keywords: find "art" at C speed, check the few places it occurs."""
    low = text.lower()
    if len(low) != len(text):  # lowercasing moved offsets (rare scripts)
        yield from _KEYWORD.finditer(text)
        return
    at = low.find("art")
    while at >= 0:
        m = _KEYWORD.match(text, at)
        if m:
            yield m
        at = low.find("art", at + 3)


def find_references(text: str) -> list[Reference]:
    """Every article reference in text, in order, with the quote its sentence gives it."""
    if not text:
        return []
    cache: dict[str, bool] = {}
    hits = [h for kw in _keywords(text) if (h := _hit_at(text, kw, cache))]
    if not hits:
        return []
    # Quotes and sentences, only for the paragraphs with hits.
    breaks = [(m.start(), m.end()) for m in _PARA_BREAK.finditer(text)]
    para_starts = [0] + [e for _, e in breaks]
    para_ends = [s for s, _ in breaks] + [len(text)]
    by_para: dict[int, list[_Hit]] = {}
    for h in hits:
        by_para.setdefault(bisect.bisect_right(para_starts, h.start) - 1, []).append(h)
    for p, para_hits in by_para.items():
        _attach_quotes(text, para_hits, para_starts[p], para_ends[p])
    refs: list[Reference] = []
    for h in hits:
        quote = " … ".join(h.quotes) if h.quotes and len(h.numbers) == 1 else None
        refs.extend(Reference(number=n, quote=quote, treaty_name=h.name, start=h.start) for n in h.numbers)
    return refs



def _quote_index(text: str) -> tuple[list[int], list[tuple[int, int]]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in [*_PARA_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        spans += _quote_spans(text, pos, end)
        pos = m.end() if m else pos
    return [s[0] for s in spans], spans


def _enclosing(opens: list[int], spans: list[tuple[int, int]], pos: int) -> int:
    i = bisect.bisect_right(opens, pos) - 1
    return i if i >= 0 and spans[i][0] < pos < spans[i][1] else -1


def resolve_references(
    text: str, treaties: Iterable[TreatyName], *, main_treaty: TreatyName | None = None
) -> list[ResolvedReference]:
    """find_references plus the treaty each one means (see the module doc for the order)."""
    refs = find_references(text)
    if not refs:
        return []
    treaties = tuple(treaties)
    mentions = find_treaty_mentions(text, treaties)
    opens, spans = _quote_index(text) if mentions else ([], [])
    placed = [(pos, t, _enclosing(opens, spans, pos)) for pos, t in mentions]
    positions = [p for p, _, _ in placed]
    out: list[ResolvedReference] = []
    for ref in refs:
        treaty, via = None, "none"
        if ref.treaty_name:
            treaty = exact_treaty(ref.treaty_name, treaties)
            if treaty is None and any(c.isupper() for c in ref.treaty_name):
                treaty = match_treaty(ref.treaty_name, treaties)
                if treaty is None:  # a specific treaty we don't know: don't guess another
                    out.append(ResolvedReference(ref.number, ref.quote, None, ref.start, ref.treaty_name, "none"))
                    continue
            via = "name" if treaty else via
        if treaty is None and placed:
            own = _enclosing(opens, spans, ref.start)
            for i in range(bisect.bisect_left(positions, ref.start) - 1, -1, -1):
                if placed[i][2] < 0 or placed[i][2] == own:
                    treaty, via = placed[i][1], "nearest"
                    break
        if treaty is None and main_treaty is not None:
            treaty, via = main_treaty, "main"
        out.append(ResolvedReference(ref.number, ref.quote, treaty, ref.start, ref.treaty_name, via))
    return out
