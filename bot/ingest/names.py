"""Treaty names: the catalog (bot/treaties.toml), normalising names as people write them, fuzzy
matching through aliases, and finding where a text mentions a known treaty.

Pure functions (no database, no Discord). The reference finder (`references.py`) uses them to
resolve which treaty an "Article N" means; the services use them to resolve names users type.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

CATALOG = Path(__file__).resolve().parent.parent / "treaties.toml"


@dataclass(frozen=True)
class TreatyName:
    name: str
    aliases: tuple[str, ...] = ()


# Words of treaty names as written in text: head nouns, and words that name no treaty at all.
_HEADS = frozenset(
    "treaty treaties charter agreement agreements pact accord accords convention conventions protocol "
    "covenant statute constitution declaration memorandum".split()
)
_GENERIC = frozenset(
    "the a an this that these those its their our his her said new indefinite same above present "
    "aforementioned current original latest recent landmark historic bilateral two both".split()
)


def _bare(word: str) -> str:
    """A name token as a plain lowercase word: no brackets, no possessive."""
    w = word.strip("[]").lower()
    for suffix in ("'s", "’s", "'", "’"):
        if w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _is_generic(tokens: list[str]) -> bool:
    """"the treaty", "this Treaty", "the new treaty", "the 2024 agreement": no name at all."""
    rest = [b for b in map(_bare, tokens) if b not in _GENERIC and not b.isdigit()]
    return all(b in _HEADS for b in rest)



_DASHES = re.compile(r"[-–—‐‑/]+")
_NON_WORD = re.compile(r"[^\w\s]+")
_SYNONYMS = {"agreement": "treaty", "pact": "treaty", "accord": "treaty"}


def _norm_key(name: str) -> str:
    """Comparable form: lowercase, dashes as spaces, no "the", no punctuation or possessives."""
    s = _DASHES.sub(" ", name.lower().replace("’", "'"))
    s = s.replace("'s ", " ").removesuffix("'s")
    s = _NON_WORD.sub(lambda m: "" if "." in m.group() or "'" in m.group() else " ", s)
    return " ".join(_SYNONYMS.get(w, w) for w in s.split() if w != "the")


@lru_cache(maxsize=1)
def _catalog() -> tuple[TreatyName, ...]:
    with CATALOG.open("rb") as f:
        data = tomllib.load(f)
    return tuple(TreatyName(name=t["name"], aliases=tuple(t.get("aliases", ()))) for t in data.get("treaty", ()))


def known_treaties() -> list[TreatyName]:
    """The catalog of known treaties (bot/treaties.toml): names and aliases, no texts."""
    return list(_catalog())


@dataclass(frozen=True)
class _Index:
    exact: dict[str, TreatyName]  # normalised name/alias -> treaty
    keys: list[str]  # the keys of exact, for fuzzy matching
    owners: list[TreatyName]
    mentions: re.Pattern | None  # every name/alias (fallback scan)
    anchors: dict[str, tuple[re.Pattern, int, int]]  # rare word -> (its aliases, chars before, after)


_SEPARATOR_RE = r"[\s\-–—‐‑/]+"
_BOUNDARY_BEFORE = r"(?<![\w\-–—])"
_BOUNDARY_AFTER = r"(?![\w\-–—])"
_HEAD_GROUP = "(?:treaty|agreement|pact|accord)"
_NOT_ANCHORS = frozenset("the of on and for between in to treaty agreement pact accord".split())
# Words too common in news text to be a good anchor; used only when an alias has nothing else.
_COMMON = frozenset(
    "new us un eu north south united nations test mutual security collective european union law rights "
    "human court international rome measures further strategic partnership comprehensive nuclear weapons "
    "defense defence cooperation co operation friendship assistance china korea russia republic "
    "founding functioning states state convention charter start".split()
)


def _alias_words(alias: str) -> list[str]:
    return [w for w in _DASHES.sub(" ", alias).split() if w]


def _short_acronym(word: str) -> bool:
    """"UN", "U.N.", "NPT", "EU": matched case-sensitively (unlike "NATO", also written "Nato")."""
    letters = word.replace(".", "")
    return 2 <= len(letters) <= 3 and letters.isalpha() and letters.isupper()


def _alias_pattern(alias: str) -> str:
    parts = []
    for w in _alias_words(alias):
        b = w.lower()
        if b in _SYNONYMS or b == "treaty":
            parts.append(_HEAD_GROUP)
        elif _short_acronym(w):
            parts.append(f"(?-i:{re.escape(w)})")
        else:
            parts.append(re.escape(w))
    return _SEPARATOR_RE.join(parts)


def _alternation(aliases: Iterable[str]) -> re.Pattern:
    body = "|".join(_alias_pattern(a) for a in sorted(aliases, key=len, reverse=True))
    return re.compile(rf"{_BOUNDARY_BEFORE}(?:{body}){_BOUNDARY_AFTER}", re.I)


def _choose_anchors(aliases: list[str]) -> dict[str, list[str]]:
    """Few rare words such that every alias contains one (greedy set cover).

    Finding a handful of literal words (`str.find`, C speed) is far cheaper than running one
    big alternation at every position of every post, and most posts contain none of them.
    Short acronyms stay uppercase and are searched case-sensitively ("INF" not "information").
    """
    words = {
        a: {w if _short_acronym(w) else w.lower() for w in _alias_words(a)} - _NOT_ANCHORS for a in aliases
    }
    candidates = set().union(*words.values()) if words else set()

    def covers(w: str, a: str) -> bool:  # a substring search: "korea" also finds "Korean"
        return any(w in x for x in words[a])

    def score(w: str, n: int) -> tuple[float, int, str]:
        rare = (1.0 if len(w) >= 4 else 0.3) / (3 if w.lower() in _COMMON else 1)
        return n * rare, len(w), w

    uncovered = {a for a in aliases if words[a]}
    chosen: dict[str, list[str]] = {}
    while uncovered:
        counts = {w: sum(covers(w, a) for a in uncovered) for w in candidates}
        best = max(counts, key=lambda w: score(w, counts[w]))
        chosen[best] = [a for a in aliases if covers(best, a)]
        uncovered -= set(chosen[best])
    return chosen


@lru_cache(maxsize=32)
def _index(treaties: tuple[TreatyName, ...]) -> _Index:
    exact: dict[str, TreatyName] = {}
    for t in treaties:
        for alias in (t.name, *t.aliases):
            exact.setdefault(_norm_key(alias), t)
    exact.pop("", None)
    aliases = sorted({a for t in treaties for a in (t.name, *t.aliases) if _norm_key(a)}, key=len, reverse=True)
    mentions = _alternation(aliases) if aliases else None
    anchors = {}
    for word, group in _choose_anchors(aliases).items():
        # How far an alias containing the word reaches before and after it (with slack for
        # longer separators in the text): the window to match in around each occurrence.
        offsets = [(a.lower().find(word.lower()), len(a)) for a in group]
        before = max(at for at, _ in offsets)
        after = max(n - at for at, n in offsets)
        anchors[word] = (_alternation(group), before + before // 2 + 4, after + after // 2 + 4)
    return _Index(exact=exact, keys=list(exact), owners=list(exact.values()), mentions=mentions, anchors=anchors)


_LEADING_ONLY = re.compile(r"[\s\[]*(?:(?:the|The|THE|\d{4})[\s\]]+)*")
_QUALIFIER_AFTER = re.compile(r"\s*(?:,\s*)?(?:\(|(?:between|of|on|for|signed|concluded|from|in)\b)", re.I)


def match_treaty(name: str, treaties: Iterable[TreatyName], *, cutoff: float = 80) -> TreatyName | None:
    """The known treaty a written name means (exact or fuzzy, through aliases), else None."""
    key = _norm_key(name)
    if not key or _is_generic(key.split()):
        return None
    idx = _index(tuple(treaties))
    if key in idx.exact:
        return idx.exact[key]
    best: tuple[float, int] | None = None
    for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
        hit = process.extractOne(key, idx.keys, scorer=scorer, score_cutoff=cutoff)
        if hit and (best is None or hit[1] > best[0]):
            best = (hit[1], hit[2])
    if best:
        return idx.owners[best[1]]
    # A known name opening a longer one: "DPRK–Russia Treaty on ... between the DPRK and the
    # Russian Federation", "the 1949 North Atlantic Treaty" - but not "NATO–Russia Founding
    # Act", which is another document: only a year or "the" before it, a qualifier after it.
    for m in _mention_matches(idx, name):
        before, after = name[: m.start()], name[m.end() :]
        if _LEADING_ONLY.fullmatch(before) and (not after.strip() or _QUALIFIER_AFTER.match(after)):
            return idx.exact.get(_norm_key(m.group()))
    return None


def _mention_matches(idx: _Index, text: str) -> list[re.Match]:
    """Non-overlapping matches of known names/aliases in text, in order (longest wins)."""
    if idx.mentions is None or not text:
        return []
    low = text.lower()
    if len(low) != len(text):  # lowercasing moved offsets (rare scripts): scan everything
        return list(idx.mentions.finditer(text))
    found: dict[int, re.Match] = {}
    for word, (pattern, before, after) in idx.anchors.items():
        haystack = low if word.islower() else text
        at = haystack.find(word)
        while at >= 0:
            for m in pattern.finditer(text, max(0, at - before), at + after):
                if m.start() <= at < m.end():
                    prev = found.get(m.start())
                    if prev is None or prev.end() < m.end():
                        found[m.start()] = m
            at = haystack.find(word, at + len(word))
    out: list[re.Match] = []
    for start in sorted(found):
        if out and start < out[-1].end():
            continue  # inside a longer, earlier mention
        out.append(found[start])
    return out


@lru_cache(maxsize=256)
def _mentions(text: str, treaties: tuple[TreatyName, ...]) -> tuple[tuple[int, TreatyName], ...]:
    idx = _index(treaties)
    out = []
    for m in _mention_matches(idx, text):
        t = idx.exact.get(_norm_key(m.group()))
        if t is not None:
            out.append((m.start(), t))
    return tuple(out)


def find_treaty_mentions(text: str, treaties: Iterable[TreatyName]) -> list[tuple[int, TreatyName]]:
    """(offset, treaty) for each mention of a known treaty's name or alias in text, in order.

    Memoised on (text, treaties): a post's body is scanned for its main treaty and again
    when its references are resolved.
    """
    if not text:
        return []
    return list(_mentions(text, tuple(treaties)))



def main_treaty(text: str, treaties: Iterable[TreatyName]) -> TreatyName | None:
    """The treaty a text mentions most (the first mentioned on a tie): the fallback for references that name none."""
    counts = Counter(t for _, t in find_treaty_mentions(text, treaties))
    return counts.most_common(1)[0][0] if counts else None


def exact_treaty(name: str, treaties: Iterable[TreatyName]) -> TreatyName | None:
    """The treaty whose name or alias is `name` once normalised (no fuzzy matching)."""
    return _index(tuple(treaties)).exact.get(_norm_key(name))
