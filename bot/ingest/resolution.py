"""Which treaty each "Article N" means (used by `bot.ingest.references.resolve_references`).

Pure functions (no database, no Discord). For each reference, in this order:
1. its own name: "Article 5 of the North Atlantic Treaty", "NATO's Article 5", "Article 10 (2)
   ECHR", matched through aliases (`names.treaty_candidates`). A name that fits two known treaties
   ("our Mutual Defense Treaty", "the MDT") takes the one the text names elsewhere, else the one
   whose parties it names, else none. A capitalised name that matches nothing is a treaty of its
   own, named as written ("Harbour Cooperation Agreement"), with the acronym the text defines for
   it ("(HCA)"); it never falls back to another treaty. "Common Article 3" is the Geneva
   Conventions'. A constitution, code or by-laws: not a treaty article at all (dropped).
2. without a name (or with a lowercase description: "the treaty", "the mutual defense treaty"):
   a heading continues the document of the heading before it; the same number named explicitly
   before (a text that said "Article 370 of the Constitution" means it every time); the nearest
   treaty named before it on its line; before that in the text, the nearest one a sentence is
   about (its subject, or a reference's name), else the nearest; the same number named after it;
   the first treaty named after it that no other reference claims ("Article 5 obliges NATO
   members"); a treaty the text hints at (treaties.toml `parties` / `context`); `main_treaty`.
   Names inside quotes count only for references in the same quote (or when the quote is just
   the name). A treaty named after another reference in its sentence is what that article is
   about ("In Article 1, the signatories agree to abide by the United Nations Charter") and does
   not carry over to later references. "of the Convention" / "the Charter" take only a treaty
   with that head noun. Landing on a constitution or code drops the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.ingest.mentions import hinted, mention_spans
from bot.ingest.names import TreatyName, head_of, match_treaty, name_tokens, treaty_candidates, treaty_hints
from bot.ingest.references import Analysis
from bot.ingest.written_names import Written, defined_names, document_mentions, non_treaty_name

COMMON_ARTICLE_TREATY = "Geneva Conventions"


@dataclass(frozen=True)
class _Result:
    treaty: TreatyName | None
    via: str
    doc: bool = False  # a document that is not a treaty: the reference is dropped
    explicit: bool = False  # from the reference's own name
    written: str | None = None  # a name only a known treaty makes one ("ECHR" in "Article 10 (2) ECHR")


_DROPPED = _Result(None, "none", doc=True)


@dataclass
class _Mention:
    start: int
    end: int
    owners: tuple[TreatyName, ...]  # () for a document that is not a treaty
    quote: int = -1  # (paragraph start, quote index) key of the enclosing quote; -1 when none
    claimed: int = -1  # the reference whose own name this is
    topic: bool = False  # the subject of its sentence, or a reference's name
    content_of: int = -1  # the reference it follows in its sentence (what that article is about)

    @property
    def doc(self) -> bool:
        return not self.owners


@lru_cache(maxsize=512)
def _heads(treaty: TreatyName) -> frozenset[str]:
    return frozenset(h for h in (head_of(name_tokens(n)) for n in (treaty.name, *treaty.aliases)) if h)


def _compatible(treaty: TreatyName, head: str | None) -> bool:
    return head in (None, "treaty") or head in _heads(treaty)


class _Context:
    """What resolution needs from one text, computed when first needed."""

    def __init__(self, a: Analysis, treaties: tuple[TreatyName, ...]):
        self.a, self.text, self.treaties = a, a.text, treaties
        self._mentions: list[_Mention] | None = None
        self.acronyms: dict[str, tuple[TreatyName, ...]] = {}
        self._hinted: list[TreatyName] | None = None

    # ------------------------------------------------------------------ mentions

    @property
    def mentions(self) -> list[_Mention]:
        if self._mentions is None:
            self._mentions = self._build()
        return self._mentions

    def _build(self) -> list[_Mention]:
        text = self.text
        found = [_Mention(s, e, owners) for s, e, owners in mention_spans(text, self.treaties)]
        covered = [(m.start, m.end) for m in found]
        for start, end, name, acronyms in defined_names(text):
            owners = next((m.owners for m in found if m.start < end and start < m.end), None)
            if owners is None:
                owners = () if non_treaty_name(name, text) else self._owners_of(name, acronyms)
                found.append(_Mention(start, end, owners))
            for acronym in acronyms:
                if owners:
                    self.acronyms.setdefault(acronym, owners)
        for acronym, owners in self.acronyms.items():
            for m in re.finditer(rf"\b{re.escape(acronym)}\b", text):
                if not any(s <= m.start() < e for s, e in covered):
                    found.append(_Mention(m.start(), m.end(), owners))
        found += [_Mention(s, e, ()) for s, e in document_mentions(text)]
        found.sort(key=lambda m: (m.start, -m.end))
        out: list[_Mention] = []
        for m in found:
            if out and m.start < out[-1].end:
                continue
            out.append(m)
        self._annotate(out)
        return out

    def _owners_of(self, name: str, acronyms: tuple[str, ...]) -> tuple[TreatyName, ...]:
        _, cands = treaty_candidates(name, self.treaties)
        return tuple(cands) if cands else (TreatyName(name, acronyms),)

    def _annotate(self, mentions: list[_Mention]) -> None:
        hits = self.a.hits
        for m in mentions:
            para = self.a.para(m.start)
            q = para.enclosing(m.start)
            if q >= 0:
                qs, qe = para.spans[q]
                if (m.end - m.start) < 0.8 * len(self.text[qs + 1 : qe].strip(" ,.")):
                    m.quote = para.start * 1000 + q
            _, s_start, s_end = para.sentence(m.start)
            line_start = self.text.rfind("\n", 0, m.start) + 1
            lead = self.text[max(s_start, line_start) : m.start]
            m.topic = len(lead.split()) <= 2
            for i, h in enumerate(hits):
                if h.name_span[0] >= 0 and m.start < h.name_span[1] and h.name_span[0] < m.end:
                    m.claimed, m.topic = i, True
            if m.claimed < 0:
                before = [i for i, h in enumerate(hits) if s_start <= h.start < m.start and h.in_quote < 0]
                m.content_of = before[-1] if before else -1

    def quote_key(self, pos: int) -> int:
        para = self.a.para(pos)
        q = para.enclosing(pos)
        return para.start * 1000 + q if q >= 0 else -1

    # ------------------------------------------------------------------ choosing

    def hinted(self) -> list[TreatyName]:
        if self._hinted is None:
            self._hinted = hinted(self.text, self.treaties)
        return self._hinted

    def pick(self, cands: tuple[TreatyName, ...] | list[TreatyName], pos: int) -> TreatyName | None:
        """One of several treaties a name fits: the one the text names, else the one it hints at."""
        named = [m for m in self.mentions if len(m.owners) == 1 and m.owners[0] in cands]
        if named:
            before = [m for m in named if m.start < pos]
            return (before[-1] if before else named[0]).owners[0]
        hinted = [t for t in cands if _distinct_hints_match(self.text, t, cands)]
        return hinted[0] if len(hinted) == 1 else None

    def owner(self, m: _Mention) -> TreatyName | None:
        return m.owners[0] if len(m.owners) == 1 else self.pick(m.owners, m.start)


def _distinct_hints_match(text: str, treaty: TreatyName, cands) -> bool:
    """Does the text name the parties that set this treaty apart from the other candidates?"""
    hints = treaty_hints(treaty.name)
    if hints is None:
        return False
    others = [treaty_hints(t.name) for t in cands if t != treaty]
    shared = {p.pattern for p in hints.parties if all(o is not None and p.pattern in {q.pattern for q in o.parties} for o in others)}
    own = [p for p in hints.parties if p.pattern not in shared]
    if own:
        return all(p.search(text) for p in own)
    return hints.context is not None and bool(hints.context.search(text))


def _explicit(ctx: _Context, i: int, named: Written | None) -> _Result | None:
    h = ctx.a.hits[i]
    if h.common and (named is None or named.generic or named.loose):
        treaty = match_treaty(COMMON_ARTICLE_TREATY, ctx.treaties) or TreatyName(COMMON_ARTICLE_TREATY)
        return _Result(treaty, "name", explicit=True)
    if named is None or named.generic:
        return None
    if named.loose and non_treaty_name(named.name, ctx.text):
        return _Result(None, "none", doc=True, explicit=True)
    cands: list[TreatyName] | tuple[TreatyName, ...]
    kind, cands = treaty_candidates(named.name, ctx.treaties)
    if named.described and kind != "exact":
        return None  # "the mutual defense treaty", "the alliance's treaty": a description, not a name
    if not cands and named.name.upper() == named.name:
        ctx.mentions  # noqa: B018  (defines the text's acronyms)
        cands = ctx.acronyms.get(named.name.replace(".", ""), ())
    written = named.name if named.loose else None
    if len(cands) == 1:
        return _Result(cands[0], "name", explicit=True, written=written)
    if cands:
        treaty = ctx.pick(cands, h.start)
        return _Result(treaty, "name" if treaty else "none", explicit=True, written=written)
    if named.loose or named.described:
        return None
    acronyms = tuple(a for s, _, n, acr in defined_names(ctx.text) if n == named.name for a in acr)
    return _Result(TreatyName(named.name, tuple(dict.fromkeys(acronyms))), "name", explicit=True)


def _usable(ctx: _Context, m: _Mention, i: int, head: str | None, own_quote: int) -> TreatyName | None | bool:
    """The treaty a mention offers reference i (False: a document that is not a treaty; None: nothing)."""
    if m.quote >= 0 and m.quote != own_quote:
        return None
    if m.doc:
        return False if head is None else None
    treaty = ctx.owner(m)
    return treaty if treaty is not None and _compatible(treaty, head) else None


def _scan(ctx: _Context, i: int, head: str | None, mentions: list[_Mention]) -> _Result | None:
    own_quote = ctx.quote_key(ctx.a.hits[i].start)
    for m in mentions:
        got = _usable(ctx, m, i, head, own_quote)
        if got is False:
            return _DROPPED
        if got is not None:
            return _Result(got, "nearest")
    return None


def _same_number(hits, results, i: int, indices, *, explicit_only: bool) -> _Result | None:
    """What an earlier (or later, explicitly named) reference to the same number resolved to."""
    numbers = set(hits[i].numbers)
    for j in indices:
        r = results[j] if j < len(results) else None
        if r is None or not numbers & set(hits[j].numbers) or (explicit_only and not r.explicit):
            continue
        if r.doc and r.explicit or r.treaty is not None and r.via != "main":
            return _Result(r.treaty, "nearest", doc=r.doc)
    return None


def _fallback(ctx: _Context, i: int, head: str | None, results: list, explicit_after: list) -> _Result | None:
    hits, h = ctx.a.hits, ctx.a.hits[i]
    if h.heading:
        prev = next((j for j in range(i - 1, -1, -1) if hits[j].heading), None)
        if prev is not None:
            return results[prev]
    if r := _same_number(hits, results, i, range(i - 1, -1, -1), explicit_only=False):
        return r
    before = [m for m in ctx.mentions if m.end <= h.start and m.content_of in (-1, i)][::-1]
    line_start = ctx.text.rfind("\n", 0, h.start) + 1
    if r := _scan(ctx, i, head, [m for m in before if m.start >= line_start]):
        return r
    if r := _scan(ctx, i, head, [m for m in before if m.topic]) or _scan(ctx, i, head, before):
        return r
    if r := _same_number(hits, explicit_after, i, range(i + 1, len(hits)), explicit_only=True):
        return r
    after = [m for m in ctx.mentions if m.start >= h.end and m.claimed < 0 and m.content_of in (-1, i)]
    if r := _scan(ctx, i, head, after):
        return r
    hinted = [t for t in ctx.hinted() if _compatible(t, head)]
    if len(hinted) == 1:
        return _Result(hinted[0], "nearest")
    return None


def resolve_hits(a: Analysis, treaties: tuple[TreatyName, ...], main: TreatyName | None):
    """(hit, treaty or None, via, name as written) for every hit that is a treaty article, in text order."""
    ctx = _Context(a, treaties)
    hits = a.hits
    named = [_chosen(a, h) for h in hits]
    explicit: list[_Result | None] = []
    for i, h in enumerate(hits):
        if h.not_treaty:
            doc_name = named[i] is not None and not named[i].loose
            explicit.append(_Result(None, "none", doc=True, explicit=doc_name))
        else:
            explicit.append(_explicit(ctx, i, named[i]))
    results: list[_Result | None] = []
    for i, h in enumerate(hits):
        r = explicit[i]
        if r is None:
            head = h.head or (_head(named[i]) if named[i] is not None else None)
            r = _fallback(ctx, i, head, results, explicit)
        if r is None:
            r = _Result(main, "main") if main is not None else _Result(None, "none")
        results.append(r)
    return [(h, r.treaty, r.via, r.written or h.name) for h, r in zip(hits, results) if not r.doc]


def _chosen(a: Analysis, h) -> Written | None:
    after, before = a.written[h.start]
    for w in (after, before):
        if w is not None and not w.loose:
            return w
    return after or before


def _head(named: Written) -> str | None:
    return head_of(name_tokens(named.name)) if named.head else None
