"""Treaty names as people type them ("russia", "DPRK", "Russia-DPRK", "north korea treaty", "nato",
"un charter", "vienna convention"): one score, used both to rank autocomplete choices and to
resolve the treaty option and `--treaty`, so what autocomplete offers first is what a typed name means.

A typed name is compared with each of a treaty's names (its name and every alias, the catalog's
and the store's) after folding case, accents, dashes and dots ("Russia-DPRK" = "Russia–DPRK",
"U.N." = "UN"):
- 110 the same name (also once `bot.ingest.names` folds synonyms: "North Korea" = "DPRK");
- 100 the name starts with it; 95 a word of the name starts with it;
- 90 every distinctive word typed is one of the name's words (synonyms folded: "north korea
  treaty" -> "dprk"), with the same head noun if one was typed ("un charter" is no
  convention); 85 the same allowing typos in long words;
- else how well each distinctive word typed fits its likeliest word of the name (rapidfuzz
  ratio, counted from 80%), at most 80: "Nort Atlantic" is the North Atlantic Treaty;
  "Treaty of Nowhere" is compared as "nowhere", so "treaty" alone never makes two names alike.
Names scoring within CLOSE of the best are "close": the answer names them too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz

from bot.ingest.names import distinctive, head_of, name_tokens

MIN_SCORE = 75.0  # below this a name is not offered, nor taken to mean the treaty
CLOSE = 5.0  # names within this of the best are named beside it
_DOTS = re.compile(r"(?<=\b\w)\.")
_NON_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lowercase words without accents, dashes, dots or punctuation: "U.N. Charter" -> "un charter"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().replace("’", "'")
    text = _DOTS.sub("", text).replace("'s ", " ")
    return " ".join(_NON_WORD.sub(" ", text).split())


@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    tokens = name_tokens(text)
    return tokens, distinctive(tokens)


def _covered(words: frozenset[str], by: Iterable[str], *, fuzzy: bool) -> bool:
    by = tuple(by)
    return all(w in by or (fuzzy and len(w) >= 5 and any(len(v) >= 5 and fuzz.ratio(w, v) >= 85 for v in by)) for w in words)


def label_score(typed: str, label: str) -> float:
    """How well `typed` names the treaty called `label` (0-110)."""
    t, name = fold(typed), fold(label)
    if not t or not name:
        return 0.0
    typed_tokens, typed_words = _tokens(typed)
    label_tokens, _ = _tokens(label)
    if t == name or (typed_tokens and typed_tokens == label_tokens):
        return 110.0
    if name.startswith(t):
        return 100.0
    if f" {t}" in f" {name}":
        return 95.0
    if typed_words and _heads_agree(typed_tokens, label_tokens):
        if _covered(typed_words, label_tokens, fuzzy=False):
            return 90.0
        if _covered(typed_words, label_tokens, fuzzy=True):
            return 85.0
    return _word_fit([w for w in typed_tokens if w in typed_words], label_tokens)


def _heads_agree(typed: tuple[str, ...], label: tuple[str, ...]) -> bool:
    """"un charter" is no convention: a specific head noun typed must be the name's."""
    head = head_of(typed)
    return head in (None, "treaty") or head == head_of(label)


def _word_fit(words: list[str], label_words: tuple[str, ...]) -> float:
    """Typos: each distinctive word typed against its likeliest word of the name (at least 80% alike)."""
    if not words:
        return 0.0
    scores = []
    for w in words:
        best = max((fuzz.ratio(w, v) for v in label_words if len(v) >= 3), default=0.0) if len(w) >= 4 else 0.0
        scores.append(best if best >= 80 else 0.0)
    return min(80.0, sum(scores) / len(scores))


def name_score(typed: str, labels: Iterable[str]) -> tuple[float, str]:
    """The best score of `typed` over a treaty's names, and the name that scored it."""
    best, via = 0.0, ""
    for label in labels:
        score = label_score(typed, label)
        if score > best:
            best, via = score, label
    return best, via
