"""Where a text mentions a known treaty by one of its names or aliases, and what it hints at.

Pure functions (no database, no Discord). Used by the reference finder (nearest treaty named
before a reference) and by the loader (a post's main treaty).

Finding a handful of rare literal words (`str.find`, C speed) is far cheaper than running one
big alternation at every position of every text, so each alias is found through one "anchor"
word it contains; the alias patterns run only in a window around the anchor's occurrences.
Acronyms: up to three letters ("UN", "NPT", "US") match case-sensitively, also dotted ("U.N.");
longer ones in capitals or capitalised ("NATO", "Nato"), never in lower case ("start").
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from bot.ingest.names import TreatyName, _name_index, _norm_key, treaty_hints

_SEPARATOR_RE = r"[\s\-–—‐‑/]+"
_BOUNDARY_BEFORE = r"(?<![\w\-–—])"
_BOUNDARY_AFTER = r"(?![\w\-–—])"
_HEAD_GROUP = "(?:treaty|agreement|pact|accord)"
_SYNONYMS = frozenset("treaty agreement pact accord".split())
_NOT_ANCHORS = frozenset("the of on and for between in to treaty agreement pact accord".split())
# Words too common in news text to be a good anchor; used only when an alias has nothing else.
_COMMON = frozenset(
    "new us un eu north south united nations test mutual security collective european union law rights "
    "human court international rome measures further strategic partnership comprehensive nuclear weapons "
    "defense defence cooperation co operation friendship assistance china korea russia republic "
    "founding functioning states state convention charter start organization organisation".split()
)


@dataclass(frozen=True)
class _Index:
    exact: dict[str, tuple[TreatyName, ...]]  # normalised name/alias -> the treaties it names
    mentions: str | None  # a pattern of every name/alias (fallback scan)
    anchors: dict[str, tuple[str, int, int]]  # rare word -> (a pattern of its aliases, chars before, after)
    compiled: dict[str, re.Pattern] = field(default_factory=dict, compare=False, repr=False)

    def pattern(self, source: str) -> re.Pattern:
        """Patterns are compiled when a text first needs them: most never meet one that does (the
        catalog's 66 took 0.12 s, on the first message the bot read after starting)."""
        if (found := self.compiled.get(source)) is None:
            found = self.compiled[source] = re.compile(source, re.I)
        return found


def _alias_words(alias: str) -> list[str]:
    return [w for w in re.split(r"[\s\-–—‐‑/]+", alias) if w]


def _acronym(word: str) -> int:
    """Letters of an all-capitals word ("U.N." -> 2, "NATO" -> 4), else 0."""
    letters = word.replace(".", "")
    return len(letters) if len(letters) >= 2 and letters.isalpha() and letters.isupper() else 0


def _word_pattern(word: str) -> str:
    n = _acronym(word)
    if n and n <= 3:
        letters = word.replace(".", "")
        dotted = r"\.".join(letters) + r"\.?"
        return f"(?-i:{letters}|{dotted})" if "." not in word else f"(?-i:{dotted})"
    if n:
        return f"(?-i:{word}|{word[0]}{word[1:].lower()})"
    if word.lower() in _SYNONYMS:
        return _HEAD_GROUP
    return re.escape(word).replace(",", ",?")


def _alias_pattern(alias: str) -> str:
    return _SEPARATOR_RE.join(_word_pattern(w) for w in _alias_words(alias))


def _alternation(aliases: Iterable[str]) -> str:
    body = "|".join(_alias_pattern(a) for a in sorted(aliases, key=len, reverse=True))
    return rf"{_BOUNDARY_BEFORE}(?:{body}){_BOUNDARY_AFTER}"


def _anchor_form(word: str) -> str:
    return word.replace(".", "") if 0 < _acronym(word) <= 3 else word.lower()


def _choose_anchors(aliases: list[str]) -> dict[str, list[str]]:
    """Few rare words such that every alias contains one (greedy set cover).

    Short acronyms stay uppercase and are searched case-sensitively ("INF" not "information");
    dotted ones are searched by their first letters ("U.N." by "U").
    """
    words = {}
    for a in aliases:
        forms = {_anchor_form(w) for w in _alias_words(a)} - _NOT_ANCHORS
        # "U.N." is not found by "UN"; "i" (of "Minsk I") is found everywhere
        longer = {w for w in forms if not (w.isupper() and len(w) <= 3) and len(w) >= 3}
        words[a] = longer or forms
    candidates = set().union(*words.values()) if words else set()

    def covers(w: str, a: str) -> bool:  # a substring search: "korea" also finds "Korean"
        return any(w in x for x in words[a])

    def score(w: str, n: int) -> tuple[float, int, str]:
        rare = (1.0 if len(w) >= 4 else 0.3) / (3 if w.lower() in _COMMON else 1)
        return n * rare, len(w), w

    covered_by = {w: {a for a in aliases if covers(w, a)} for w in candidates}
    uncovered = {a for a in aliases if words[a]}
    chosen: dict[str, list[str]] = {}
    while uncovered:
        best = max(candidates, key=lambda w: score(w, len(covered_by[w] & uncovered)))
        chosen[best] = [a for a in aliases if a in covered_by[best]]
        uncovered -= covered_by[best]
    return chosen


_LAST_INDEX: list = [(), None]
_BUILDING = threading.Lock()


def _last_index(treaties: tuple[TreatyName, ...]) -> _Index | None:
    last, idx = _LAST_INDEX
    return idx if idx is not None and (treaties is last or len(treaties) == len(last) and treaties == last) else None


def _index(treaties: tuple[TreatyName, ...]) -> _Index:
    """The index of these names; built once when threads meet new names at once (a burst of thread
    messages on the bot's workers: each building its own cost a tenth of the capture benchmark)."""
    if (idx := _last_index(treaties)) is not None:
        return idx
    with _BUILDING:
        if (idx := _last_index(treaties)) is None:
            idx = _build_index(treaties)
            _LAST_INDEX[:] = [treaties, idx]
    return idx


@lru_cache(maxsize=32)
def _build_index(treaties: tuple[TreatyName, ...]) -> _Index:
    names = _name_index(treaties)
    exact = {key: tuple(treaties[i] for i in owners) for key, owners in names.exact.items()}
    aliases = sorted({a for t in treaties for a in (t.name, *t.aliases) if _norm_key(a)}, key=len, reverse=True)
    mentions = _alternation(aliases) if aliases else None
    anchors = {}
    for word, group in _choose_anchors(aliases).items():
        # How far an alias containing the word reaches before and after it (with slack for
        # longer separators and dots in the text): the window to match in around each occurrence.
        offsets = [(max(0, _anchor_text(a).find(word)), len(a)) for a in group]
        before = max(at for at, _ in offsets)
        after = max(n - at for at, n in offsets)
        anchors[word] = (_alternation(group), before + before // 2 + 6, after + after // 2 + 6)
    return _Index(exact=exact, mentions=mentions, anchors=anchors)


def _anchor_text(alias: str) -> str:
    return " ".join(_anchor_form(w) for w in _alias_words(alias))


def _owners(idx: _Index, written: str) -> tuple[TreatyName, ...]:
    return idx.exact.get(_norm_key(written), ())


@lru_cache(maxsize=512)
def _mentions(text: str, treaties: tuple[TreatyName, ...]) -> tuple[tuple[int, int, tuple[TreatyName, ...]], ...]:
    idx = _index(treaties)
    if idx.mentions is None or not text:
        return ()
    low = text.lower()
    if len(low) != len(text):  # lowercasing moved offsets (rare scripts): scan everything
        found = {m.start(): m for m in idx.pattern(idx.mentions).finditer(text)}
    else:
        found = {}
        for word, (source, before, after) in idx.anchors.items():
            haystack = low if word.islower() else text
            at = haystack.find(word)
            while at >= 0:
                for m in idx.pattern(source).finditer(text, max(0, at - before), at + after):
                    if m.start() <= at < m.end():
                        prev = found.get(m.start())
                        if prev is None or prev.end() < m.end():
                            found[m.start()] = m
                at = haystack.find(word, at + len(word))
    out: list[tuple[int, int, tuple[TreatyName, ...]]] = []
    for start in sorted(found):
        if out and start < out[-1][1]:
            continue  # inside a longer, earlier mention
        m = found[start]
        owners = _owners(idx, m.group())
        if owners:
            out.append((m.start(), m.end(), owners))
    return tuple(out)


def mention_spans(text: str, treaties: Iterable[TreatyName]) -> tuple[tuple[int, int, tuple[TreatyName, ...]], ...]:
    """(start, end, treaties) for each mention of a known name or alias; two treaties when ambiguous ("MDT")."""
    return _mentions(text, tuple(treaties)) if text else ()


def find_treaty_mentions(text: str, treaties: Iterable[TreatyName]) -> list[tuple[int, TreatyName]]:
    """(offset, treaty) for each unambiguous mention of a known treaty's name or alias in text, in order.

    Memoised on (text, treaties): a post's body is scanned for its main treaty and again
    when its references are resolved.
    """
    return [(start, owners[0]) for start, _, owners in mention_spans(text, treaties) if len(owners) == 1]


def main_treaty(text: str, treaties: Iterable[TreatyName]) -> TreatyName | None:
    """The treaty a text mentions most (the first mentioned on a tie): the fallback for references that name none."""
    counts = Counter(t for _, t in find_treaty_mentions(text, treaties))
    return counts.most_common(1)[0][0] if counts else None


def hinted(text: str, treaties: Iterable[TreatyName]) -> list[TreatyName]:
    """Catalog treaties the text hints at without naming them: all their parties, or a context phrase."""
    out = []
    for t in treaties:
        hints = treaty_hints(t.name)
        if hints is None:
            continue
        if hints.parties and all(p.search(text) for p in hints.parties):
            out.append(t)
        elif hints.context is not None and hints.context.search(text):
            out.append(t)
    return out
