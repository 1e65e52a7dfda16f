"""Where sentences end: the one splitter behind summaries and the reference finder.

A sentence ends at ".", "!", "?" or "…" (plus closing quotes or brackets) before white space
and a capital letter or digit, except after an abbreviation ("Art. 4", "Mr. Kim"), an initial
("John F. Kennedy") or a dotted short form ("U.S. forces"). Paragraphs (blank lines) always end
a sentence. Plain regular expressions: nothing is downloaded (NLTK's punkt would be).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Words that end with a period without ending the sentence (compared lower-case, without the dot).
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st jr sr gen gov sen rep lt col sgt capt cmdr adm maj pres rev hon messrs mme mlle
    vs v etc e.g i.e cf al approx ca dept est fig no nos art arts para paras sec vol pp p ch ed eds op cit ibid
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    inc ltd co corp bros plc llc mt ft ave blvd rd u.s u.k u.n
    """.split()
)
_BOUNDARY = re.compile(r"""([.!?…]+)(["”’')\]»]*)(\s+)(?=["“‘'(\[«]*[A-ZÀ-ÖØ-Þ0-9])""")
_PARAGRAPH = re.compile(r"\n\s*\n")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # U.S, U.K, e.g, a.m


def _last_word(text: str, start: int, end: int) -> str:
    """The run of word characters, dots, apostrophes and hyphens ending text[start:end] (walking back)."""
    i = end
    while i > start and (text[i - 1].isalnum() or text[i - 1] in "_.'’-"):
        i -= 1
    return text[i:end]


def _is_abbreviation(text: str, start: int, end: int) -> bool:
    """Does text[start:end] end in "Mr", "U.S", an initial like "J", or "e.g"?"""
    word = _last_word(text, start, end)
    if not word:
        return False
    word = word.lstrip("'’-")
    if word.lower() in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True
    return bool(_DOTTED.fullmatch(word))


def sentence_ends(text: str, start: int = 0, end: int | None = None) -> Iterator[re.Match]:
    """Each sentence boundary in text[start:end] as a match: group(1) the end marks, group(2) any
    closing quotes or brackets, `.end()` where the next sentence starts."""
    end = len(text) if end is None else end
    sentence_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.group(1) == "." and not match.group(2) and _is_abbreviation(text, sentence_start, match.start()):
            continue
        yield match
        sentence_start = match.end()


def split_sentences(text: str) -> list[str]:
    """Sentences in text order, white space folded."""
    sentences: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        paragraph = " ".join(paragraph.split())
        start = 0
        for match in sentence_ends(paragraph):
            sentences.append(paragraph[start : match.end(2)].strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return [s for s in sentences if s]
