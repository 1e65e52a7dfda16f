"""Quoted words around "Article N" phrases: where quotes are, which sentence they are in, and
whether the text presents them as the article's wording.

Pure functions (no database, no Discord), used by `bot.ingest.references` (and `blocks`).

- Quote marks: “…”, "…", «…», „…“, and single ‘…’ / '…' (an apostrophe inside a word never
  opens or closes one); odd spacing is tolerated (`states that“If`, `"x"Then`).
- A quote in a reference's sentence is its wording when it comes after the reference; before it
  only when it is attributed to it (`"…," Article 4 of the treaty read.`).
- Never the wording: a speaker's words (`…, saying, "…"`, `"…," Mr. Trump said`, `Obama stated
  that … Article 5 “covers …”`), words in the first person, a quote naming the same article
  ("There are numerous definitions of Article 5."), nicknames and names ("so-called “national
  security exception”", “U.N.”, "Common Article 3", “Political Consultative Committee”), and
  single words.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from bot.ingest.article_forms import Hit
from bot.ingest.sentences import sentence_ends

PARA_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_QUOTE_CHAR = re.compile(r"[“”\"«»„]")
_CLOSERS = {"“": "”\"", '"': "\"”", "«": "»", "„": "“”\""}
_SINGLE = re.compile(r"[‘’']")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I'd|I’d|I'll|I’ll|I've|I’ve|me|my|we|We|we're|we’re|our|Our|us)\b")
_NICKNAME_LAST = frozenset("so-called as dubbed called termed nicknamed word term".split())
_NICKNAME_BEFORE = re.compile(
    r"(?:so-called|known as|dubbed|designation as|called|termed|nicknamed|referred to as|the word|the term)\s*\Z", re.I
)
_SPEECH = (
    r"said|says|saying|told|tells|added|tweeted|wrote|writes|explained|argued|insisted|warned|stressed|noted|"
    r"remarked|commented|claimed|asserted|announced|echoed|declared|stated|insists|adds|asked|replied|recalled"
)
_SPEECH_VERB = re.compile(rf"\b(?:{_SPEECH})\b")
_SPEAKS_OR_NAMES = re.compile(rf"\b(?:{_SPEECH}|calls|called|describes|described|dubs|dubbed|terms|termed|nicknamed)\b")
_SPEAKER_AFTER = re.compile(rf"[\s,.;:!?—–-]*((?:[\w.'’-]+[ \t]+){{0,7}}?)(?:had |has )?(?:{_SPEECH})\b")
_SPEAKER_AFTER_INVERTED = re.compile(rf"[\s,]*(?:{_SPEECH})[ \t]+(?!Article|Art\.)(?:[A-Z]|he\b|she\b|they\b)")
_ARTICLE_SUBJECT = re.compile(
    r"\b(?:[Aa]rticle|[Aa]rt\.|treaty|Treaty|agreement|Agreement|charter|Charter|convention|Convention|provision|"
    r"clause|it|It|text|paragraph|Paragraph)\b"
)
_INTRODUCED = re.compile(r"(?:\b(?:that|as follows|reads?|states?|says|provides|stipulates|specifies)\b|[:,])\s*\Z")
_LEXICAL = re.compile(r"[^\W\d_][\w'’-]*")
_PAREN_AFTER = re.compile(r"[\s.,;:]*\([^()]*")
_LIST_MARK = re.compile(r"(?:^|\n)[ \t]*\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})\.\s*\Z")


@dataclass
class Para:
    """One paragraph (blank-line separated): its quotes and where its sentences start."""

    start: int
    end: int
    spans: list[tuple[int, int]]  # (open, close) offsets of each top-level quote
    opens: list[int]
    breaks: list[int]  # offsets where a new sentence starts

    def sentence(self, pos: int) -> tuple[int, int, int]:
        """(index, start, end) of the sentence holding pos."""
        i = bisect.bisect_right(self.breaks, pos)
        bounds = [self.start, *self.breaks, self.end]
        return i, bounds[i], bounds[i + 1]

    def enclosing(self, pos: int) -> int:
        i = bisect.bisect_right(self.opens, pos) - 1
        return i if i >= 0 and self.spans[i][0] < pos < self.spans[i][1] else -1


def quote_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
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
    return spans + _single_spans(text, start, end, spans)


def _single_spans(text: str, start: int, end: int, double: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Single-quoted spans outside the double quotes: ‘…’ or '…' opened before a word, closed after one."""
    seg = text[start:end]
    if "‘" not in seg and " '" not in seg and "\n'" not in seg and "('" not in seg and not seg.startswith("'"):
        return []  # no single quote can open here (apostrophes inside words never do)
    out: list[tuple[int, int]] = []
    gaps = [start, *[x for s in double for x in (s[0], s[1] + 1)], end]
    for a, b in zip(gaps[::2], gaps[1::2]):
        open_at = -1
        for m in _SINGLE.finditer(text, a, b):
            ch, p = m.group(), m.start()
            before = text[p - 1] if p > 0 else " "
            after = text[p + 1] if p + 1 < len(text) else " "
            if open_at < 0:
                if ch in "‘'" and not (before.isalnum() or before in "’'") and after.isalpha():
                    open_at = p
            elif ch in "’'" and not before.isspace() and not after.isalpha() and p - open_at > 3:
                out.append((open_at, p))
                open_at = -1
    return out


def make_para(text: str, start: int, end: int) -> Para:
    spans = quote_spans(text, start, end)
    spans.sort()
    opens = [s[0] for s in spans]
    breaks = []
    for m in sentence_ends(text, start, end):
        i = bisect.bisect_right(opens, m.start()) - 1
        if i >= 0 and spans[i][0] < m.start() < spans[i][1] and not (m.start(2) <= spans[i][1] < m.end(2)):
            continue  # inside a quote, and the quote does not close right here
        near = max(start, m.start() - 8)
        if (near == start or "\n" in text[near : m.start()]) and _LIST_MARK.search(text, near, m.end(1)):
            continue  # "1. “The premises…": a list marker, not a sentence
        breaks.append(m.end())
    return Para(start, end, spans, opens, breaks)


def norm_ws(s: str) -> str:
    return " ".join(s.split())


def content(text: str, span: tuple[int, int]) -> str:
    return norm_ws(text[span[0] + 1 : span[1]]).rstrip(",").rstrip()


def is_wording(words: str, text: str, span: tuple[int, int], number: int, hits: list[Hit]) -> bool:
    """Could these quoted words be an article's wording (not a name, a nickname, a speaker's words)?"""
    if _FIRST_PERSON.search(words) or " " not in words.strip():
        return False  # a speaker's words; a single word is a term ("belligerent", ‘nuclear’)
    if len(words) < 90:
        lexical = [w for w in _LEXICAL.findall(words) if w.lower() not in ("of", "the", "and", "on", "for", "a")]
        if lexical and len(lexical) <= 6 and all(w[0].isupper() for w in lexical):
            return False  # “Political Consultative Committee”, "Common Article 3", “U.N.”
    before = text[max(0, span[0] - 30) : span[0]].split()
    if before and before[-1].lower() in _NICKNAME_LAST and _NICKNAME_BEFORE.search(text, max(0, span[0] - 30), span[0]):
        return False
    return not any(number in h.numbers for h in hits if span[0] < h.start < span[1])


def speaker_after(text: str, close: int, sentence_end: int) -> bool:
    """`"…," Mr. Trump said` / `"…", said the minister`: the quote is someone's, not the article's."""
    m = _SPEAKER_AFTER.match(text, close + 1, sentence_end)
    subject = m.group(1).split() if m else []
    if subject and subject[0] not in ("and", "but", "which", "that") and not _ARTICLE_SUBJECT.search(m.group(1)):
        return True
    return bool(_SPEAKER_AFTER_INVERTED.match(text, close + 1, sentence_end))


def speaker_before(text: str, owner: Hit, sentence_start: int, open_at: int) -> bool:
    """Is the quote introduced by someone speaking, rather than by the article itself?"""
    after_name = max(owner.end, owner.name_span[1])
    segment = text[after_name:open_at]
    verbs = list(_SPEECH_VERB.finditer(segment))
    if any(len(segment[: v.start()].split()) > 2 or v.group() == "saying" for v in verbs):
        return True  # "…Article 5 common defense provision if an ally is attacked, saying, "…""
    if not verbs and not _INTRODUCED.search(segment) and _SPEAKS_OR_NAMES.search(text, sentence_start, owner.start):
        return True  # "Obama stated that … and that Article 5 “covers …”", "The alliance calls Article 5 the “…”"
    return False


def attach_inline(text: str, para: Para, hits: list[Hit]) -> None:
    """Give each reference the quotes its own sentence gives it (see the module doc)."""
    if not para.spans:
        return
    by_sentence: dict[int, list[Hit]] = {}
    for h in hits:
        by_sentence.setdefault(para.sentence(h.start)[0], []).append(h)
    for s, sent_hits in by_sentence.items():
        _, s_start, s_end = para.sentence(sent_hits[0].start)
        outer = [h for h in sent_hits if h.in_quote < 0]
        if not outer:
            continue
        quotes = [sp for sp in para.spans if s_start <= sp[0] and sp[1] < s_end]
        for qi, span in enumerate(quotes):
            owner = _owner(text, span, outer, quotes[qi + 1 :], s_end)
            if owner is None or not owner.single:
                continue
            words = content(text, span)
            if not words or not is_wording(words, text, span, owner.numbers[0], hits):
                continue
            if owner.start < span[0] and (speaker_before(text, owner, s_start, span[0]) or speaker_after(text, span[1], s_end)):
                continue
            owner.quotes.append((span[0], words))


_TAIL_VERB = re.compile(r"\s*(?:read|reads|says|said|states|stated|stipulates|stipulated|provides|specifies|adds|added)\W*\Z")


def _owner(text: str, span: tuple[int, int], outer: list[Hit], later: list[tuple[int, int]], s_end: int) -> Hit | None:
    q_open, q_close = span
    prev = next((h for h in reversed(outer) if h.end <= q_open), None)
    nxt = next((h for h in outer if h.start > q_close), None)
    if nxt is None:
        return prev
    if prev is None and _TAIL_VERB.match(text, max(nxt.end, nxt.name_span[1]), s_end):
        return nxt  # "…, "…," …, as the agreement's first article read."
    clause = prev is None or ";" in text[prev.end : q_open]
    if clause and text[:nxt.start].rstrip().endswith("(") and ";" not in text[q_close : nxt.start]:
        return nxt  # "…; the withdrawal of “…” and the disarmament of “…” (Article 10);"
    between = text[q_close + 1 : nxt.start]
    # `"...," Article 4 read.`: a quote ending in an attribution comma right before a reference
    # that quotes nothing after it belongs to that reference.
    attribution = text[q_open + 1 : q_close].rstrip().endswith((",", "?", "!")) or text.startswith(",", q_close + 1)
    near = len(between) < 45 and not _QUOTE_CHAR.search(between) and not any(o > nxt.end for o, _ in later)
    if attribution and near and len(between.split()) <= 3:
        return nxt
    if _PAREN_AFTER.fullmatch(between):
        return nxt  # “…” (Article 2(a))
    return prev
