"""Extractive summaries of post bodies: sumy's LexRank over postbot's own offline sentence splitter.

sumy's default tokenizer needs NLTK's punkt data, which would have to be downloaded; postbot
never downloads anything at run time, so sentences come from `bot.ingest.sentences` and words
from a plain regex. Stop words are sumy's bundled English list. Results are deterministic and
cached by body text. sumy is imported when the first summary is made: its stemmer imports all of
NLTK, 0.15-0.2 s of every start of the bot and the CLI, most of which never summarise.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.ingest.sentences import split_sentences

if TYPE_CHECKING:
    from sumy.summarizers.lex_rank import LexRankSummarizer

log = logging.getLogger(__name__)

LANGUAGE = "english"
MAX_SENTENCES = 60  # only the head of a very long body is ranked: keeps a digest of 1,000 posts fast
LONG_SUMMARY = 700  # characters: a three-sentence summary longer than this becomes two sentences

_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*")


class RegexTokenizer:
    """The tokenizer interface sumy expects, without NLTK data."""

    language = LANGUAGE

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(_WORD.findall(sentence))


_TOKENIZER = RegexTokenizer()


@lru_cache(maxsize=1)
def _summarizer() -> LexRankSummarizer:
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    summarizer = LexRankSummarizer(Stemmer(LANGUAGE))  # Snowball: pure code, no download
    summarizer.stop_words = get_stop_words(LANGUAGE)
    return summarizer


def summarize(text: str, *, sentences: int | None = None) -> str:
    """A 2–3 sentence extractive summary in text order; never empty for a non-empty text."""
    return _summarize_cached(text.strip(), sentences)


@lru_cache(maxsize=4096)
def _summarize_cached(text: str, count: int | None) -> str:
    all_sentences = split_sentences(text)
    if not all_sentences:
        return " ".join(text.split())
    candidates = all_sentences[:MAX_SENTENCES]
    wanted = count or (3 if len(candidates) >= 6 else 2)
    if len(candidates) <= wanted:
        return " ".join(candidates)
    chosen = _rank(candidates, wanted)
    summary = " ".join(chosen)
    if count is None and wanted == 3 and len(summary) > LONG_SUMMARY:
        summary = " ".join(_rank(candidates, 2))
    return summary or candidates[0]


def _rank(candidates: list[str], count: int) -> list[str]:
    """The `count` best sentences by LexRank, in text order (ties go to the earlier sentence)."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    document = ObjectDocumentModel([Paragraph([Sentence(s, _TOKENIZER) for s in candidates])])
    try:
        best = _summarizer()(document, count)
    except (ValueError, ZeroDivisionError, FloatingPointError):  # degenerate texts (no words at all)
        log.debug("LexRank failed; using the opening sentences", exc_info=True)
        return candidates[:count]
    chosen = [str(s) for s in best]
    return chosen or candidates[:count]
