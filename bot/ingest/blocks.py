"""An article's wording outside the reference's own sentence.

Pure functions (no database, no Discord), used by `bot.ingest.references` after the quotes of
each reference's own sentence (`quotes.attach_inline`):
- block quotes: the next line or paragraph after an introduction ending in a colon ("which
  reads:", "They read:", "Here it is:", "in its entirety:") or a legal verb and a comma ("Article
  IV states,"), with or without quote marks; a heading line ("Article 39", "Article II (meaning
  of genocide)") followed by its text; a line that is nothing but a quote, after a line that
  discusses an article;
- quotes in a later sentence that says whose wording they are ("It states that …", "The article
  invoked … states that “…”", "“…,” the article…"), or cited after them ("“…” (Article 2(a))",
  "“…” (Source: Paris Agreement Art. 2a)"); "he was quoting from the CSTO treaty's Article 4"
  takes the quote of the sentence before.
An introduction that names the same treaty again in the next line ("Article 3 of the UN Charter
provides:" then "As stated in Article 93 of the UN Charter, …") introduces no text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.ingest.article_forms import Hit, heading_only
from bot.ingest.names import _norm_key
from bot.ingest.quotes import _QUOTE_CHAR, _SPEECH_VERB, Para, content, is_wording, norm_ws, speaker_after

_LEGAL_VERB_COMMA = re.compile(r"\b(?:states|stated|reads|read|provides|says|stipulates|specifies|declares),\s*\Z")
_LIST_ITEM = re.compile(r"[ \t]*(?:\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)]|\([a-z]{1,2}\)|\([ivx]{1,5}\))")
_ANAPHOR = re.compile(
    r"\s*(?:[^“\"«‘]{0,80}?,\s*)?(?:It|it|[Tt]he article|[Tt]his article|[Tt]hat article|[Tt]he provision|"
    r"[Tt]his provision|[Tt]he clause|[Tt]his clause|[Tt]he text|Paragraph \d{1,2})\b"
)
_ANAPHOR_VERB = re.compile(
    r"(?:[^.;“\"«‘]{0,60}?\s)?(?:then\s+)?(?:states|stated|says|said|reads|read|provides|provided|stipulates|specifies|"
    r"declares|adds|added|continues|includes|included|requires|notes|sets out|establishes|goes on|obliges|commits)\b"
)
_TRAILING = re.compile(r"[,\s]*(?:the|this|that) (?:article|provision|clause)\b")
_QUOTING = re.compile(r"\bquot(?:ing|ed) from\b|\bwas quoting\b")
_KEYWORD_START = re.compile(r"[ \t]*(?:Article|ARTICLE|Art\.|Articles)\b")


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, (end if end >= 0 else len(text))


def _next_line(text: str, pos: int, *, skip_blank: bool) -> tuple[int, int] | None:
    """Bounds of the line after the one ending at pos (skipping blank lines when allowed)."""
    at = pos + 1
    while at < len(text):
        end = text.find("\n", at)
        end = end if end >= 0 else len(text)
        if text[at:end].strip():
            return at, end
        if not skip_blank:
            return None
        at = end + 1
    return None


def _block_text(text: str, start: int, para_at: Callable[[int], Para]) -> tuple[str, int] | None:
    """The wording of a block starting at a line: a quote (to its close), else its lines."""
    first_end = _line_bounds(text, start)[1]
    marker = _LIST_ITEM.match(text, start)
    q_at = marker.end() if marker else start
    while q_at < first_end and text[q_at] in " \t":
        q_at += 1
    if q_at < first_end and _QUOTE_CHAR.match(text, q_at):
        para = para_at(q_at)
        span = next((s for s in para.spans if s[0] == q_at), None)
        if span:
            return content(text, span), span[1]
        return norm_ws(text[q_at + 1 : para.end]), para.end  # left open until the paragraph ends
    if _KEYWORD_START.match(text, start):
        return None  # the next article's heading, or a new sentence about another article
    lines = [(start, first_end)]
    while True:
        nxt = _next_line(text, lines[-1][1], skip_blank=False)
        if nxt is None or _KEYWORD_START.match(text, nxt[0]):
            break
        prev = text[lines[-1][0] : lines[-1][1]].rstrip()
        if not (_LIST_ITEM.match(text, nxt[0]) or prev.endswith((":", ";", ",")) or not prev.endswith((".", "!", "?", "”", '"'))):
            break
        lines.append(nxt)
    return norm_ws(text[lines[0][0] : lines[-1][1]]), lines[-1][1]


def _accept(text: str, owner: Hit, words: str, span: tuple[int, int], hits: list[Hit]) -> None:
    if not words or not owner.single or owner.in_quote >= 0:
        return
    if not is_wording(words, text, span, owner.numbers[0], hits):
        return
    if owner.name and any(h.name and _norm_key(h.name) == _norm_key(owner.name) for h in hits if span[0] < h.start < span[1]):
        return  # "Article 3 of the UN Charter provides:" then "As stated in Article 93 of the UN Charter, …"
    if any(w == words for _, w in owner.quotes):
        return
    owner.quotes.append((span[0], words))


def attach_blocks(text: str, hits: list[Hit], para_at: Callable[[int], Para]) -> None:
    """Block quotes after introductions and headings, and quote-only lines (see the module doc)."""
    seen_lines: set[int] = set()
    for h in hits:
        if h.in_quote >= 0:
            continue
        line_start, line_end = _line_bounds(text, h.start)
        if heading_only(text, h):
            nxt = _next_line(text, line_end, skip_blank=False)
            if nxt and not _KEYWORD_START.match(text, nxt[0]):
                block = _block_text(text, nxt[0], para_at)
                if block:
                    _accept(text, h, block[0], (nxt[0] - 1, block[1]), hits)
            continue
        if line_start in seen_lines:
            continue
        seen_lines.add(line_start)
        line = text[line_start:line_end].rstrip()
        owner = _introduced(text, hits, para_at, line_start, line_end, line)
        nxt = _next_line(text, line_end, skip_blank=True)
        if owner is not None and nxt is not None:
            block = _block_text(text, nxt[0], para_at)
            if block:
                _accept(text, owner, block[0], (nxt[0] - 1, block[1]), hits)
        elif owner is None and nxt is not None:
            _quote_line(text, hits, para_at, line_start, line_end, nxt)


def _line_hits(hits: list[Hit], start: int, end: int) -> list[Hit]:
    return [h for h in hits if start <= h.start < end and h.in_quote < 0]


def _introduced(text: str, hits: list[Hit], para_at: Callable[[int], Para], start: int, end: int, line: str) -> Hit | None:
    """The reference a line ending in "…states:" / "Article IV states," introduces, if any."""
    if not (line.endswith(":") or line.endswith(",") and _LEGAL_VERB_COMMA.search(line, max(0, len(line) - 16))):
        return None
    para = para_at(start)
    if para.enclosing(end - 1) >= 0:
        return None
    i, s_start, _ = para.sentence(end - 1)
    if re.search(r"\b(?:said|told|tweeted|wrote|added)\b", text[s_start:end]):
        return None  # a speaker's words follow
    inside = [h for h in _line_hits(hits, max(start, s_start), end)]
    if not inside and len(text[s_start:end].split()) <= 10 and i > 0:
        _, p_start, p_end = para.sentence(s_start - 1)
        inside = _line_hits(hits, max(start, p_start), p_end)
    return inside[-1] if inside and inside[-1].single else None


def _quote_line(text: str, hits: list[Hit], para_at: Callable[[int], Para], start: int, end: int, nxt: tuple[int, int]) -> None:
    """A line that is nothing but a quote, right after a line discussing an article."""
    inside = _line_hits(hits, start, end)
    line = text[nxt[0] : nxt[1]]
    lead = len(line) - len(line.lstrip())
    if not inside or not inside[-1].single or inside[-1].quotes or not _QUOTE_CHAR.match(line, lead):
        return
    para = para_at(nxt[0])
    span = next((s for s in para.spans if s[0] == nxt[0] + lead), None)
    if span and not text[span[1] + 1 : nxt[1]].strip(" .,;”\"'"):
        _accept(text, inside[-1], content(text, span), span, hits)


def attach_followers(text: str, hits: list[Hit], para: Para) -> None:
    """Quotes in later sentences that say whose wording they are, or that cite it after them."""
    if not para.spans:
        return
    sentences = [para.start, *para.breaks, para.end]
    quoting = "quot" in text
    last: Hit | None = None
    last_at = -10
    for i in range(len(sentences) - 1):
        s_start, s_end = sentences[i], sentences[i + 1]
        inside = _line_hits(hits, s_start, s_end)
        quotes = [sp for sp in para.spans if s_start <= sp[0] and sp[1] < s_end]
        if inside and quoting and _QUOTING.search(text, s_start, s_end) and not any(h.quotes for h in inside) and i > 0:
            prev = [sp for sp in para.spans if sentences[i - 1] <= sp[0] and sp[1] < s_start]
            for sp in prev:
                inside[-1].quotes.append((sp[0], content(text, sp)))
        if inside and text[s_start:s_end].lstrip().startswith("(") and i > 0 and not inside[-1].quotes:
            prev = [sp for sp in para.spans if sentences[i - 1] <= sp[0] and sp[1] < s_start]
            if prev and not text[prev[-1][1] + 1 : s_start].strip(" .,;:”’\"'"):
                _accept(text, inside[-1], content(text, prev[-1]), prev[-1], hits)  # “…” (Source: … Art. 2a)
        if inside:
            last, last_at = inside[-1], i
            continue
        if last is None or i - last_at > 3 or not quotes:
            continue
        m = _ANAPHOR.match(text, s_start, s_end)
        verb = _ANAPHOR_VERB.match(text, m.end(), s_end) if m else None
        if verb and not _SPEECH_VERB.search(text, s_start, m.start() + len(m.group()) - 2):
            for sp in quotes:
                if sp[0] > verb.end() and not speaker_after(text, sp[1], s_end):
                    _accept(text, last, content(text, sp), sp, hits)
            last_at = i
            continue
        for sp in quotes:
            if _TRAILING.match(text, sp[1] + 1, s_end):
                _accept(text, last, content(text, sp), sp, hits)  # “…,” the article…
