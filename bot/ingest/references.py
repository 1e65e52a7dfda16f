""""Article N" references in text: the words they quote, and the treaty each one means.

Pure functions (no database, no Discord). `resolve_references` runs on every post body and
comment at load, so a text without "art" is rejected with one `str.find`; otherwise keyword hits
are found by one regex, and quotes, sentences and names are worked out only around them.

The parts (each module's doc has its decisions and cases):
- `article_forms`: "Article 4", "Art. 4", "Article IV", "Article Four", "the fifth article",
  "Articles 41 and 42", "Articles 41-42", "Article 2(4)" / "42.7" / "8 bis" (the paragraph),
  headings, and forms that are never treaty articles ("Article I, Section 8", "ARTICLE 19" the
  organisation);
- `written_names`: the treaty named after or before the phrase, names and acronyms a text
  defines, constitutions, codes and by-laws (never treaty articles);
- `quotes` / `blocks`: the wording the text presents as the article's, in the reference's
  sentence, in block quotes, in later sentences that say whose wording it is;
- `resolution`: which treaty a reference means (`resolve_references`).

Newspaper "articles" ("an article in the Times", "25 articles", "the article written by Putin")
have no number and are never references; ordinals ("the fifth article") count only when tied
to a treaty.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.ingest.article_forms import KEYWORD, Hit, number_hit, ordinal_hit
from bot.ingest.blocks import attach_blocks, attach_followers
from bot.ingest.names import _GENERIC, TreatyName
from bot.ingest.quotes import PARA_BREAK, Para, attach_inline, make_para
from bot.ingest.written_names import Written, name_after, name_before, non_treaty_name

__all__ = ["Reference", "ResolvedReference", "find_references", "resolve_references"]


@dataclass(frozen=True)
class Reference:
    number: int
    quote: str | None  # the quoted words, without quote marks, whitespace-normalised
    treaty_name: str | None  # explicit name as written ("North Atlantic Treaty"), else None
    start: int  # offset of the reference phrase in the text
    paragraph: str | None = None  # "4" for 2(4), "7" for 42.7, "bis" for 8 bis
    end: int = -1  # end of the reference phrase (exclusive); -1 when unknown


@dataclass(frozen=True)
class ResolvedReference:
    number: int
    quote: str | None
    treaty: TreatyName | None
    start: int
    treaty_name: str | None = None  # as written in the text, when the sentence names one
    via: str = "none"  # how the treaty was found: "name" | "nearest" | "main" | "none"
    paragraph: str | None = None  # "4" for 2(4), "7" for 42.7, "bis" for 8 bis
    end: int = -1  # end of the reference phrase in the text (exclusive)


_LEGAL_VERBS = frozenset(
    "stipulates stipulated states stated says said reads read provides provided specifies specified "
    "outlines outlined establishes obliges obligates requires commits guarantees declares envisages "
    "covers deals sets calls prohibits bans allows affirms defines grants".split()
)
_SENTENCE_SPLIT = re.compile(r"[.!?]\s")
_ACRONYM_NAME = re.compile(r"[A-Z]{3,8}")
_TREATY_WORD = re.compile(r"(?i:treat(?:y|ies)|agreement|pact|charter|convention|accord|protocol|covenant)|\b[A-Z]{3,}\b")


@dataclass
class Analysis:
    """One text's hits with their names, flags and quotes, and its paragraphs."""

    text: str
    hits: list[Hit]
    written: dict[int, tuple[Written | None, Written | None]]  # hit start -> (after, before)
    paras: dict[int, Para]  # paragraph start -> Para (those analysed)
    para_starts: list[int]
    para_ends: list[int]

    def para(self, pos: int) -> Para:
        i = bisect.bisect_right(self.para_starts, pos) - 1
        start = self.para_starts[i]
        if start not in self.paras:
            self.paras[start] = make_para(self.text, start, self.para_ends[i])
        return self.paras[start]


def _keywords(text: str, low: str) -> Iterable[re.Match]:
    """The "article"/"Art." keywords: find "art" at C speed, check the few places it occurs."""
    if len(low) != len(text):  # lowercasing moved offsets (rare scripts)
        yield from KEYWORD.finditer(text)
        return
    at = low.find("art")
    while at >= 0:
        m = KEYWORD.match(text, at)
        if m:
            yield m
        at = low.find("art", at + 3)


def _tied(text: str, hit: Hit, after: Written | None, before: Written | None) -> bool:
    """Is a treaty tied to a phrase that needs one ("article IV of the treaty", "NATO's article V")?"""
    if after is not None or (before is not None and not before.loose):
        return True
    if hit.kind in ("low-roman",) or hit.numbers == [1] and hit.kind == "roman":
        return False
    window = text[max(0, hit.start - 150) : hit.start]
    window = _SENTENCE_SPLIT.split(window)[-1]
    return bool(_TREATY_WORD.search(window))


def _ordinal_ok(text: str, hit: Hit, after: Written | None, before: Written | None, low: str) -> bool:
    for named in (after, before):
        if named and not named.loose and (named.head or _ACRONYM_NAME.fullmatch(named.name)):
            return True  # "the treaty's fifth article", "the fifth article of NATO"
    following = text[hit.end : hit.end + 40].split()[:3]
    return any(w.strip(",.;:").lower() in _LEGAL_VERBS for w in following) and bool(_TREATY_WORD.search(low))


def _hit(text: str, low: str, kw: re.Match) -> tuple[Hit, Written | None, Written | None] | None:
    hit = number_hit(text, kw)
    if hit is not None:
        after, before = name_after(text, hit.end), name_before(text, kw.start())
        if hit.keyword[0].islower() and hit.kind != "arabic" and not _tied(text, hit, after, before):
            return None  # "the article I read"
        if hit.kind == "word" and hit.keyword[0].islower():
            words = text[max(0, kw.start() - 12) : kw.start()].split()
            if words and words[-1].lower() in _GENERIC and not after:
                return None  # "an article five people read"
        return hit, after, before
    hit = ordinal_hit(text, kw)
    if hit is None:
        return None
    after, before = name_after(text, kw.end()), name_before(text, hit.start)
    return (hit, after, before) if _ordinal_ok(text, hit, after, before, low) else None


def _name(after: Written | None, before: Written | None) -> Written | None:
    """The name a phrase is written with: after it, else before it; loose ones only if nothing else."""
    for named in (after, before):
        if named is not None and not named.loose:
            return named
    return after or before


@lru_cache(maxsize=256)
def analyse(text: str) -> Analysis | None:
    """Every hit in text with its names and quotes (None when there is none). Memoised per text."""
    if not text:
        return None
    low = text.lower()
    found = [h for kw in _keywords(text, low) if (h := _hit(text, low, kw))]
    if not found:
        return None
    hits, written = [], {}
    for hit, after, before in found:
        named = _name(after, before)
        if named is not None and not named.loose and non_treaty_name(named.name, text):
            hit.not_treaty = True  # "Article 370 of the Constitution", "Article 15 of the UCMJ"
        if named is not None and not named.generic and not named.loose:
            hit.name, hit.name_span, hit.described = named.name, (named.start, named.end), named.described
        elif named is not None and named.generic:
            hit.head = named.name.split()[-1].lower()  # "of the Convention": only a convention will do
        hits.append(hit)
        written[hit.start] = (after, before)
    breaks = [(m.start(), m.end()) for m in PARA_BREAK.finditer(text)]
    analysis = Analysis(text, hits, written, {}, [0] + [e for _, e in breaks], [s for s, _ in breaks] + [len(text)])
    _attach_quotes(analysis)
    return analysis


def _attach_quotes(a: Analysis) -> None:
    by_para: dict[int, list[Hit]] = {}
    for h in a.hits:
        para = a.para(h.start)
        h.in_quote = para.enclosing(h.start)
        by_para.setdefault(para.start, []).append(h)
    for start, para_hits in by_para.items():
        para = a.paras[start]
        attach_inline(a.text, para, para_hits)
        attach_followers(a.text, para_hits, para)
    attach_blocks(a.text, a.hits, a.para)


def hit_quote(hit: Hit) -> str | None:
    if not hit.quotes or not hit.single:
        return None
    return " … ".join(dict.fromkeys(w for _, w in sorted(hit.quotes)))


def find_references(text: str) -> list[Reference]:
    """Every article reference in text, in order, with the wording the text gives it."""
    a = analyse(text)
    if a is None:
        return []
    refs: list[Reference] = []
    for h in a.hits:
        if h.not_treaty:
            continue
        quote = hit_quote(h)
        for n, p in zip(h.numbers, h.paragraphs):
            refs.append(Reference(number=n, quote=quote, treaty_name=h.name, start=h.start, paragraph=p, end=h.end))
    return refs


def resolve_references(
    text: str, treaties: Iterable[TreatyName], *, main_treaty: TreatyName | None = None
) -> list[ResolvedReference]:
    """find_references plus the treaty each one means (see bot.ingest.resolution for the order)."""
    a = analyse(text)
    if a is None:
        return []
    from bot.ingest.resolution import resolve_hits

    out: list[ResolvedReference] = []
    for h, treaty, via, written in resolve_hits(a, tuple(treaties), main_treaty):
        quote = hit_quote(h)
        for n, p in zip(h.numbers, h.paragraphs):
            out.append(ResolvedReference(n, quote, treaty, h.start, written, via, p, h.end))
    return out
