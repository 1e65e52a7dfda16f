"""Treaty names as written around an "Article N" phrase, names a text defines, and documents
that are not treaties.

Pure functions (no database, no Discord), used by `bot.ingest.references`:
- `name_after`: "Article 5 of (the) <name>", also "Article 2, Convention on ...", "Article
  10 (2) ECHR", "Article 51 [the right to self-defence] of the United Nations Charter";
- `name_before`: "NATO's Article 5", "the CSTO treaty's Article 4", "NATO Article 5",
  "the GATT 1994, Article XXI", "By-Laws Articles IV-VI";
- `defined_names`: names a text spells out with a head noun ("the Harbour Cooperation
  Agreement") and acronyms it defines in brackets ("Mutual Defense Treaty (MDT)");
- `non_treaty_name` / `document_mentions`: constitutions, codes, acts, by-laws, military law.

A `Written` name is "loose" when nothing in its form says it is a treaty (no head noun, no
acronym): it counts only when it matches a known treaty ("Under Article 4" is not a name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.ingest.names import _CONNECTORS, _GENERIC, _HEADS, _bare, _is_generic, name_tokens

_TOKEN = re.compile(
    r"[ \t\r\n]*(\[\d{1,3}\]|\[[ivx]{1,4}\]|\(\s*[“\"']?[A-Z][A-Za-z.]{1,9}[”\"']?\s*\)|\[?[^\W_](?:[\w'’]|\.(?=[\w\-–])|[-–/](?=\w))*\.?\]?|,)"
)
_OF = re.compile(
    r"(?:[ \t]*\[[^\]\n]{1,60}\])?(?:,?\s+paragraph\s+\w{1,3},?)?,?(?:\s+|(?<=\d))of\s+(?:the\s+)?", re.I
)
_COMMA_NAME = re.compile(r"(?:\s*\(\w{1,3}\))*\s*,\s*(?=[A-Z])")
_ACRONYM_AFTER = re.compile(r"[ \t]+([A-Z]{2,6})\b(?![ \t]*\()")
_NON_SPACE = re.compile(r"\S+")
_COMPOUND_NUMBER = re.compile(r"\d{1,3}-\w+")  # "the 29-member North Atlantic Treaty Organization"
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+")
_CAPS_NAME = re.compile(r"[A-Z]{3,8}(?: \d{4})?")  # "NATO", "GATT 1994"
_QUALIFIER_START = frozenset("on of between for concerning establishing relating regarding governing".split())
_ORGANISATION = frozenset({"organization", "organisation"})
_SENTENCE_START = frozenset(
    "the in under as by for of at on to from with after before since when while this that these those and but or if "
    "a an its their our his her".split()
)
_NON_TREATY_WORDS = frozenset(
    "constitution code act acts law laws bylaws bylaw regulation regulations directive ordinance rules amendment "
    "ucmj gdpr".split()
)
_TREATY_HEADS = frozenset(h for h in _HEADS if h not in {"constitution"})
_DOCUMENTS = re.compile(
    r"\b(?:[Cc]onstitution|CONSTITUTION)s?\b|\bUCMJ\b|\bUniform Code of Military Justice\b|\bArticles of "
    r"(?:War|Confederation|Association|Incorporation)\b|\b(?:[Bb]y-?[Ll]aws|BY-?LAWS)\b|\b(?:Criminal|Penal|Civil) Code\b"
)


@dataclass(frozen=True)
class Written:
    name: str  # as written, whitespace-normalised, without determiners or a final possessive
    start: int
    end: int
    head: bool  # has a head noun ("Treaty", "Convention", ...)
    described: bool = False  # a lowercase description: "the mutual defense treaty"
    loose: bool = False  # counts only if it names a known treaty

    @property
    def generic(self) -> bool:
        return _generic(self.name)


@lru_cache(maxsize=4096)
def _generic(name: str) -> bool:
    return _is_generic(name.split())


def _capitalised(token: str) -> bool:
    t = token.lstrip("[(“\"'")
    return bool(t) and (t[0].isupper() or t[0].isdigit())


def _clean(text: str, start: int, end: int) -> tuple[str, int]:
    """The name in text[start:end] without leading determiners or a final possessive, and its start."""
    words = text[start:end].split()
    while words and (words[0].lower() in _GENERIC or _COMPOUND_NUMBER.fullmatch(words[0])):
        start = text.index(words[0], start) + len(words[0])
        words = words[1:]
    name = " ".join(words).rstrip(",")
    for suffix in ("'s", "’s", "'", "’"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    while start < end and text[start].isspace():
        start += 1
    return name, start


def _walk(text: str, pos: int, limit: int = 12) -> list[tuple[str, int, int]]:
    """The tokens of a name starting at pos: (token, start, end), stopping where no name can go on."""
    out: list[tuple[str, int, int]] = []
    lower_run = 0
    seen_caps = False
    while len(out) < limit + 8:
        t = _TOKEN.match(text, pos)
        if not t:
            break
        word = t.group(1)
        final = word.endswith(".") and not _DOTTED.fullmatch(word)
        if final:
            word = word[:-1]  # a sentence-final period, not "U.S."
        start, end = t.start(1), t.start(1) + len(word)
        bare = _bare(word)
        if word == ",":
            if not seen_caps:
                break
        elif word.startswith("[") and word.endswith("]"):
            pass  # a footnote marker
        elif word.startswith("("):
            if not seen_caps:
                break
        elif bare in _HEADS:
            seen_caps = seen_caps or _capitalised(word)
        elif _capitalised(word):
            seen_caps = True
            lower_run = 0
        elif bare in _CONNECTORS or bare in _GENERIC:
            pass
        else:
            lower_run += 1
            if lower_run > 3 or not _head_ahead(text, end):
                break
        out.append((word, start, end))
        pos = end
        if final:
            break
    return out


def _head_ahead(text: str, pos: int) -> bool:
    """Does a head noun follow within three lowercase words ("strategic partnership treaty")?"""
    for _ in range(3):
        t = _TOKEN.match(text, pos)
        if not t or t.group(1) == ",":
            return False
        bare = _bare(t.group(1).rstrip("."))
        if bare in _HEADS:
            return True
        if _capitalised(t.group(1)):
            return False
        pos = t.end(1)
    return False


def _trim(text: str, tokens: list[tuple[str, int, int]]) -> tuple[list[tuple[str, int, int]], bool]:
    """Cut a walked run to the name: through its head noun and the qualifier after it."""
    heads = [i for i, (w, _, _) in enumerate(tokens) if _bare(w) in _HEADS]
    if heads:
        first = heads[0]
        last = first
        i = first + 1
        if i < len(tokens) and _bare(tokens[i][0]) in _ORGANISATION:
            last = i
            i += 1
        if i < len(tokens) and tokens[i][0].startswith("(") and not tokens[i][0].startswith("(“"):
            i += 1  # "Mutual Defense Treaty (MDT)": the acronym is not part of the name
        if i < len(tokens) and _bare(tokens[i][0]) in _QUALIFIER_START and not (
            _capitalised(tokens[i][0]) and "\n" in text[tokens[i - 1][2] : tokens[i][1]]
        ):  # "…Japan Treaty\nOn Sunday, …" is a new line, not "Treaty on …"
            for j in range(i, len(tokens)):
                w = tokens[j][0]
                if w == ",":
                    continue
                if _capitalised(w) or w.startswith("(") or (w.isdigit() and len(w) == 4):
                    last = j
                elif _bare(w) not in _CONNECTORS and _bare(w) not in _GENERIC:
                    break
        return tokens[: last + 1], True
    # no head noun: the leading run of capitalised words (connectors inside it allowed)
    last = -1
    for i, (w, _, _) in enumerate(tokens):
        if w == ",":
            break
        if _capitalised(w) or w.startswith("("):
            last = i
        elif _bare(w) not in _CONNECTORS or i == 0:
            break
    return tokens[: last + 1], False


def _shifted(found: Written | None, offset: int) -> Written | None:
    if found is None or not offset:
        return found
    return Written(found.name, found.start + offset, found.end + offset, found.head, found.described, found.loose)


def name_after(text: str, pos: int) -> Written | None:
    """The name after an article phrase ending at pos ("of the North Atlantic Treaty", ", UCMJ")."""
    at = max(0, pos - 1)  # one character before, for "51of"
    found = _name_after(text[at : pos + 90], pos - at)  # memoised: most names are short and repeat
    if found is not None and found.end > 60:
        found = _name_after(text[at : pos + 240], pos - at)
    return _shifted(found, at)


@lru_cache(maxsize=4096)
def _name_after(text: str, pos: int) -> Written | None:
    m = _OF.match(text, pos)
    if m:
        tokens, head = _trim(text, _walk(text, m.end()))
        return _written(text, tokens, head, loose_if_headless=True)
    m = _COMMA_NAME.match(text, pos)
    if m:
        tokens, head = _trim(text, _walk(text, m.end()))
        return _written(text, tokens, head, loose_if_headless=True, loose=not head)
    m = _ACRONYM_AFTER.match(text, pos)
    if m:
        return Written(m.group(1), m.start(1), m.end(1), head=False, loose=True)
    return None


def _written(text: str, tokens, head: bool, *, loose_if_headless: bool, loose: bool = False) -> Written | None:
    if not tokens:
        return None
    start, end = tokens[0][1], tokens[-1][2]
    name, start = _clean(text, start, end)
    if not name:
        return None
    described = head and not any(_capitalised(w) for w, _, _ in tokens if _bare(w) not in _HEADS)
    headless = not head and not _CAPS_NAME.fullmatch(name)
    return Written(name, start, end, head, described, loose or (loose_if_headless and headless))


def name_before(text: str, pos: int) -> Written | None:
    """The name right before an article phrase at pos ("NATO's", "the treaty's", "GATT 1994,")."""
    at = max(0, pos - 51)  # a short window first (memoised), then the whole one when a name reaches its start
    found = _name_before(text[at:pos], pos - at)
    if at and found is not None and found.start < 12:
        at = max(0, pos - 121)
        found = _name_before(text[at:pos], pos - at)
    return _shifted(found, at)


@lru_cache(maxsize=4096)
def _name_before(text: str, pos: int) -> Written | None:
    window_start = max(0, pos - 120)
    window = text[window_start:pos]
    j = len(window.rstrip(" \t"))
    if j == len(window) or not j:
        return None  # "(Article", "—Article", or nothing before
    possessive = window.endswith(("'s", "’s", "s'", "s’"), 0, j)
    if not possessive:
        if window[j - 1] in ",-–—:":
            j = len(window[: j - 1].rstrip(" \t"))
    end = window_start + j
    last = window[: j].rsplit(None, 1)[-1] if window[:j].strip() else ""
    if not last:
        return None
    base = _bare(last)
    if not (base in _HEADS or _capitalised(last)) or last[-1] in ".!?" and not _DOTTED.fullmatch(last):
        return None  # "of Article 5", "… member States. Article 51": no name, or the sentence before
    words = list(_NON_SPACE.finditer(text, window_start, end))
    first = len(words) - 1
    for i in range(len(words) - 2, max(-1, len(words) - 8), -1):
        w = words[i].group()
        if w[-1] in ".,;:!?\"”“)" or not (_capitalised(w) or _bare(w) in _CONNECTORS) or w.lower() in _SENTENCE_START:
            break
        first = i
    while first < len(words) - 1 and _bare(words[first].group()) in _CONNECTORS:
        first += 1
    start = words[first].start()
    if not possessive and start > 0 and text[start - 1] not in " \t\n([“\"":
        return None
    name, start = _clean(text, start, end)
    head = base in _HEADS
    tokens = name.split()
    if not name or tokens[0].lower() in _SENTENCE_START and not head:
        return None
    described = head and not any(_capitalised(w) for w in tokens[:-1])
    loose = not head and not possessive and not _CAPS_NAME.fullmatch(name)
    return Written(name, start, end, head, described, loose)


# --------------------------------------------------------------------------- documents that are not treaties


def non_treaty_name(name: str, text: str) -> bool:
    """Is a written name a constitution, a code, an act, by-laws or military law, not a treaty?"""
    verdict = _non_treaty_form(name)
    if verdict is not None:
        return verdict
    qualifier = " ".join(w for w in name.split() if _bare(w) not in _HEADS and _bare(w) not in _GENERIC)
    # "the Jammu and Kashmir charter" in a text about the Jammu and Kashmir constitution
    q = re.escape(qualifier)
    return bool(qualifier) and bool(re.search(rf"{q}(?:'s|’s)?\s+[Cc]onstitution|[Cc]onstitution of (?:the\s+)?{q}", text))


@lru_cache(maxsize=2048)
def _non_treaty_form(name: str) -> bool | None:
    """True / False from the name alone; None when the text must say (a charter or statute)."""
    tokens = name_tokens(name)
    words = set(tokens) | {"bylaws" for i in range(len(tokens) - 1) if tokens[i : i + 2] == ("by", "laws")}
    if tokens and tokens[0] == "articles" and len(tokens) > 2:
        return True  # "Articles of War", "Articles of Confederation"
    heads = [t for t in tokens if t in _HEADS]
    if heads and heads[0] == "constitution":
        return True
    if words & _NON_TREATY_WORDS and not (set(heads) & _TREATY_HEADS):
        return True
    return None if heads and heads[0] in {"charter", "statute"} else False


@lru_cache(maxsize=256)
def document_mentions(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each mention of a document that is not a treaty: constitutions, codes, by-laws."""
    return tuple((m.start(), m.end()) for m in _DOCUMENTS.finditer(text))


# --------------------------------------------------------------------------- names a text defines

_HEAD_WORD = re.compile(r"\b(?:Treat(?:y|ies)|Agreements?|Pacts?|Conventions?|Charter|Accords?|Protocol|Covenant|Statute)\b")
_BACK = re.compile(
    r"((?:(?:[A-Z][\w'’\-–]*(?:\.[A-Z])*\.?(?<![a-z]\.)|\d{4}|\([A-Z]{2,8}\))[ \t\n]+(?:(?:of|on|and|for|the|between)[ \t\n]+)*){1,7})\Z"
)
_DEFINED_ACRONYM = re.compile(r"\(\s*[“\"']?([A-Z][A-Z.]{1,7})[”\"']?\s*\)")


@lru_cache(maxsize=256)
def defined_names(text: str) -> tuple[tuple[int, int, str, tuple[str, ...]], ...]:
    """(start, end, name, acronyms) of treaty names spelled out with a capitalised head noun."""
    out: list[tuple[int, int, str, tuple[str, ...]]] = []
    for m in _HEAD_WORD.finditer(text):
        if out and m.start() < out[-1][1]:
            continue
        back = _BACK.search(text, max(0, m.start() - 100), m.start())
        start = back.start(1) if back else m.start()
        tokens, head = _trim(text, _walk(text, start, limit=20))
        if not head or not tokens:
            continue
        at = next(i for i, (w, _, _) in enumerate(tokens) if _bare(w) in _HEADS)
        if at >= 2 and _bare(tokens[at - 1][0]) == "the" and _bare(tokens[at - 2][0]) == "of":
            continue  # "Chapter VII of the Charter", "Article I of the Treaty": the treaty is unnamed
        name, start = _clean(text, start, tokens[-1][2])
        words = name.split()
        while words and words[0].lower() in _SENTENCE_START | {"then", "also", "however", "thus"}:
            words = words[1:]
        if not words or _is_generic(words) or not any(_capitalised(w) for w in words if _bare(w) not in _HEADS):
            continue
        name = " ".join(words)
        end = tokens[-1][2]
        acronym = _DEFINED_ACRONYM.match(text, end) or _DEFINED_ACRONYM.match(text, end + 1)
        inner = _DEFINED_ACRONYM.search(name)  # "Intermediate-Range Nuclear Forces (INF) Treaty"
        acronym = acronym or inner
        acronyms = (acronym.group(1).replace(".", ""),) if acronym else ()
        name = re.sub(r"\s*\(\s*[“\"']?[A-Z][A-Z.]{1,7}[”\"']?\s*\)", "", name)
        out.append((text.index(words[0], start), end, name, acronyms))
    return tuple(out)
