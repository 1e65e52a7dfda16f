"""Treaty names: the catalog (bot/treaties.toml), names as people write them, and matching a
written name against known treaties through their aliases without false merges.

Pure functions (no database, no Discord). The reference finder (`references.py`) uses them to
resolve which treaty an "Article N" means; the services use them to resolve names users type.
Finding where a text mentions a known treaty lives in `bot.ingest.mentions` (re-exported here).

Matching compares the *distinctive* words of two names: what is left after folding case, dots
("U.S." = "US"), dashes, possessives, country names ("United States" = "US", "North Korea" =
"DPRK", "Russian" = "Russia"), treaty/agreement/pact/accord, and dropping "the", years, dates,
connectors and head nouns. A written name matches an alias when
- both have the same distinctive words (typos allowed in long words, never in acronyms:
  "CSTO treaty" is not "NATO treaty"), or
- it has more words, all of which the same treaty's other aliases use ("CSTO Collective Security
  Treaty", "Treaty on Comprehensive Strategic Partnership between the DPRK and the Russian
  Federation"), but not "NATO–Russia Founding Act", or
- (weaker) it has fewer words, all in the alias ("Convention on Diplomatic Relations").
Head nouns must agree when the written one is specific: "NATO charter" is NATO only because an
alias says so, and never the UN Charter ("nato" is not "un"); "CSTO charter" is no treaty known.
When two treaties match equally ("MDT", "Mutual Defense Treaty") the name is ambiguous: callers
get every candidate (`treaty_candidates`) and let the text decide.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

CATALOG = Path(__file__).resolve().parent.parent / "treaties.toml"


@dataclass(frozen=True)
class TreatyName:
    name: str
    aliases: tuple[str, ...] = ()

    def __hash__(self) -> int:  # computed once: treaty lists are cache keys on every post
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.name, self.aliases))
            object.__setattr__(self, "_hash", cached)
        return cached


@dataclass(frozen=True)
class Hints:
    """What suggests a catalog treaty in a text that does not name it (treaties.toml)."""

    parties: tuple[re.Pattern, ...] = ()  # every one must occur
    context: re.Pattern | None = None  # any one suffices


# Words of treaty names as written in text: head nouns, and words that name no treaty at all.
_HEADS = frozenset(
    "treaty treaties charter agreement agreements pact pacts accord accords convention conventions protocol "
    "protocols covenant statute constitution declaration memorandum".split()
)
_GENERIC = frozenset(
    "the a an this that these those its their our his her said new indefinite same above present "
    "aforementioned current original latest recent landmark historic bilateral two both three four "
    "relevant which whose any each every such".split()
)
# Head nouns as compared (specific heads must agree; the treaty group agrees with any).
HEAD_GROUP = {
    "treaty": "treaty", "treaties": "treaty", "agreement": "treaty", "agreements": "treaty", "pact": "treaty",
    "pacts": "treaty", "accord": "treaty", "accords": "treaty", "charter": "charter", "convention": "convention",
    "conventions": "convention", "covenant": "covenant", "statute": "statute", "protocol": "protocol",
    "protocols": "protocol", "constitution": "constitution", "declaration": "declaration", "memorandum": "memorandum",
}
_CONNECTORS = frozenset("of on and for between in to with concerning relating regarding governing".split())
_MONTHS = frozenset("january february march april may june july august september october november december".split())


@lru_cache(maxsize=8192)
def _bare(word: str) -> str:
    """A name token as a plain lowercase word: no brackets, no possessive."""
    w = word.strip("[]()“”\"").lower()
    for suffix in ("'s", "’s", "'", "’"):
        if w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _is_generic(tokens: list[str]) -> bool:
    """"the treaty", "this Treaty", "the new treaty", "the 2024 agreement": no name at all."""
    rest = [b for b in map(_bare, tokens) if b not in _GENERIC and not b.isdigit()]
    return all(b in _HEADS for b in rest)


# --------------------------------------------------------------------------- normalising

_PHRASES = [
    (re.compile(r"\bunited states(?: of america)?\b"), "us"),
    (re.compile(r"\bdemocratic people ?s republic of korea\b"), "dprk"),
    (re.compile(r"\bnorth korean?\b"), "dprk"),
    (re.compile(r"\b(?:the )?republic of korea\b|\bsouth korean?\b"), "rok"),
    (re.compile(r"\brussian federation\b"), "russia"),
    (re.compile(r"\beuropean union\b"), "eu"),
    (re.compile(r"\bunited nations\b"), "un"),
    (re.compile(r"\bunited kingdom\b"), "uk"),
    (re.compile(r"\bnon proliferation\b"), "nonproliferation"),
    (re.compile(r"\bco operation\b"), "cooperation"),
    (re.compile(r"\b\d{1,2} (?=(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b)"), ""),  # "4 April"
]
_WORDS = {
    "russian": "russia", "philippine": "philippines", "phl": "philippines", "ph": "philippines",
    "american": "us", "america": "us", "usa": "us", "sino": "china", "chinese": "china", "defence": "defense",
    "organisation": "organization", "agreement": "treaty", "agreements": "treaty", "pact": "treaty", "pacts": "treaty",
    "accord": "treaty", "accords": "treaty", "treaties": "treaty", "conventions": "convention", "protocols": "protocol",
    "ii": "2", "i": "1",
}
_DOTS = re.compile(r"(?<=\w)[.'’](?=\w)|(?<=\b\w)\.")
_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=4096)
def name_tokens(name: str) -> tuple[str, ...]:
    """A name as comparable words: "the U.S.-Japan Treaty" -> ("us", "japan", "treaty")."""
    s = name.lower().replace("’", "'").replace("'s ", " ").replace("'s", " ")
    s = _DOTS.sub("", s)
    s = _NON_WORD.sub(" ", s)
    for pattern, repl in _PHRASES:
        s = pattern.sub(repl, s)
    return tuple(_WORDS.get(w, w) for w in s.split() if w not in ("the", "a", "an"))


def _norm_key(name: str) -> str:
    """Comparable form: lowercase, dots, dashes and "the" dropped, synonyms folded."""
    return " ".join(name_tokens(name))


def distinctive(tokens: Iterable[str]) -> frozenset[str]:
    """The words that tell treaties apart: no heads, connectors, determiners, years or dates."""
    return frozenset(
        t for t in tokens
        if t not in HEAD_GROUP and t != "treaty" and t not in _CONNECTORS and t not in _GENERIC
        and not (t.isdigit() and len(t) != 1) and t not in _MONTHS
    )


def head_of(tokens: Iterable[str]) -> str | None:
    """The head noun group of a name ("charter", "convention", "treaty"): the first one written."""
    for t in tokens:
        if t in HEAD_GROUP or t == "treaty":
            return HEAD_GROUP.get(t, "treaty")
    return None


def _acronyms(name: str) -> frozenset[str]:
    return frozenset(_norm_key(w) for w in re.findall(r"\b[A-Z][A-Z.]{1,7}\b", name))


# --------------------------------------------------------------------------- the catalog


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[TreatyName, ...], dict[str, Hints]]:
    with CATALOG.open("rb") as f:
        data = tomllib.load(f)
    names, hints = [], {}
    for t in data.get("treaty", ()):
        names.append(TreatyName(name=t["name"], aliases=tuple(t.get("aliases", ()))))
        parties = tuple(re.compile(rf"\b(?:{p})\b") for p in t.get("parties", ()))
        context = re.compile(rf"\b(?:{'|'.join(t['context'])})\b") if t.get("context") else None
        if parties or context:
            hints[t["name"]] = Hints(parties, context)
    return tuple(names), hints


def known_treaties() -> list[TreatyName]:
    """The catalog of known treaties (bot/treaties.toml): names and aliases, no texts."""
    return list(_load()[0])


def treaty_hints(name: str) -> Hints | None:
    """The catalog's hints for a treaty name (None for treaties the catalog does not know)."""
    return _load()[1].get(name)


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Alias:
    owner: int  # index into the treaties
    distinct: frozenset[str]
    head: str | None
    acronyms: frozenset[str]


@dataclass(frozen=True)
class _NameIndex:
    treaties: tuple[TreatyName, ...]
    exact: dict[str, tuple[int, ...]]  # normalised name/alias -> owners
    aliases: tuple[_Alias, ...]
    universe: tuple[frozenset[str], ...]  # per treaty: every distinctive word of its aliases
    memo: dict = field(default_factory=dict)  # (name, cutoff) -> treaty_candidates' answer


_LAST_INDEX: list = [(), None]


def _name_index(treaties: tuple[TreatyName, ...]) -> _NameIndex:
    """The index of a treaty list (the loader passes equal lists for every post: compared by identity, fast)."""
    last, idx = _LAST_INDEX
    if idx is not None and (treaties is last or len(treaties) == len(last) and treaties == last):
        return idx
    idx = _build_name_index(treaties)
    _LAST_INDEX[:] = [treaties, idx]
    return idx


@lru_cache(maxsize=32)
def _build_name_index(treaties: tuple[TreatyName, ...]) -> _NameIndex:
    exact: dict[str, list[int]] = {}
    aliases, universe = [], []
    for i, t in enumerate(treaties):
        words: set[str] = set()
        for alias in dict.fromkeys((t.name, *t.aliases)):
            tokens = name_tokens(alias)
            key = " ".join(tokens)
            if not key:
                continue
            if i not in exact.setdefault(key, []):
                exact[key].append(i)
            d = distinctive(tokens)
            words |= d
            if d:
                aliases.append(_Alias(i, d, head_of(tokens), _acronyms(alias)))
        universe.append(frozenset(words))
    return _NameIndex(treaties, {k: tuple(v) for k, v in exact.items()}, tuple(aliases), tuple(universe))


def _same_word(a: str, b: str, cutoff: float, acronyms: frozenset[str]) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or a in acronyms or b in acronyms or a.isdigit() or b.isdigit():
        return False
    return fuzz.ratio(a, b) >= cutoff


def _covered(words: frozenset[str], by: frozenset[str], cutoff: float, acronyms: frozenset[str]) -> bool:
    """Is every word in `words` also (allowing typos) in `by`?"""
    return all(any(_same_word(w, v, cutoff, acronyms) for v in by) for w in words)


def _heads_agree(written: str | None, alias: str | None) -> bool:
    if written is None or written == "treaty":
        return True
    return alias == written


def treaty_candidates(name: str, treaties: Iterable[TreatyName], *, cutoff: float = 80) -> tuple[str, list[TreatyName]]:
    """("exact" | "strong" | "partial" | "none", treaties a written name may mean), best first."""
    idx = _name_index(treaties if isinstance(treaties, tuple) else tuple(treaties))
    memo_key = (name, cutoff)
    if memo_key not in idx.memo:
        if len(idx.memo) > 4096:
            idx.memo.clear()
        idx.memo[memo_key] = _candidates(name, idx, cutoff)
    kind, found = idx.memo[memo_key]
    return kind, list(found)


def _candidates(name: str, idx: _NameIndex, cutoff: float) -> tuple[str, tuple[TreatyName, ...]]:
    tokens = name_tokens(name)
    if not tokens or _is_generic(list(tokens)):
        return "none", ()
    key = " ".join(tokens)
    if key in idx.exact:
        return "exact", tuple(idx.treaties[i] for i in idx.exact[key])
    words, head = distinctive(tokens), head_of(tokens)
    if not words:
        return "none", ()
    acronyms = _acronyms(name)
    strong: list[int] = []
    partial: list[int] = []
    for a in idx.aliases:
        if not _heads_agree(head, a.head) or a.owner in strong:
            continue
        acr = acronyms | a.acronyms
        forward = _covered(words, a.distinct, cutoff, acr)
        backward = _covered(a.distinct, words, cutoff, acr)
        if forward and backward:
            strong.append(a.owner)
        elif backward and _covered(words, idx.universe[a.owner], cutoff, acr):
            strong.append(a.owner)  # more words, all the same treaty's
        elif forward and a.owner not in partial:
            partial.append(a.owner)
    if strong:
        return "strong", tuple(idx.treaties[i] for i in dict.fromkeys(strong))
    if partial:
        return "partial", tuple(idx.treaties[i] for i in partial)
    return "none", ()


def match_treaty(name: str, treaties: Iterable[TreatyName], *, cutoff: float = 80) -> TreatyName | None:
    """The known treaty a written name means (exact or fuzzy, through aliases), else None.

    When the name fits several treaties equally well, the first of them in `treaties` order.
    """
    _, found = treaty_candidates(name, treaties, cutoff=cutoff)
    return found[0] if found else None


def exact_treaty(name: str, treaties: Iterable[TreatyName]) -> TreatyName | None:
    """The treaty whose name or alias is `name` once normalised (no fuzzy matching)."""
    idx = _name_index(tuple(treaties))
    owners = idx.exact.get(_norm_key(name), ())
    return idx.treaties[owners[0]] if owners else None


from bot.ingest.mentions import find_treaty_mentions, main_treaty  # noqa: E402  (re-exported)

__all__ = [
    "TreatyName", "Hints", "known_treaties", "treaty_hints", "treaty_candidates", "match_treaty", "exact_treaty",
    "find_treaty_mentions", "main_treaty", "name_tokens", "distinctive", "head_of",
]
