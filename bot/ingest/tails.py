"""Feed boilerplate at the end of a text: "Continue reading...", "Read more »", "The post X appeared
first on Y.", a trailing "[…]". Pure.

Summaries leave it out (`drop_tails`); the stored body keeps it as the feed gave it, so an export
loads back to the same post and a feed entry's hash does not change under it. A tail counts only
where it starts a line or follows the end of a sentence: "voters want to read more about it"
stays whole.
"""

from __future__ import annotations

import re

_START = r"(?:\A|(?<=\n)|(?<=[.!?…»”\"')\]]\s))"
_NO_SENTENCE_END = r"(?:(?![.!?]\s)[^\n])"
_TAILS = (
    # "Continue reading…", "Read more »", "[Read more]", "Read the full story at …", "Keep reading →"
    re.compile(
        _START
        + r"[\[(]?(?:continue reading|keep reading|read more|read on|read the (?:full|rest|whole)\b|read full\b|full story\b|click here to read)"
        + _NO_SENTENCE_END
        + r"{0,150}\s*\Z",
        re.I,
    ),
    # WordPress: "The post <title> appeared first on <site>."
    re.compile(_START + r"the post\b[^\n]{1,300}?\bappeared first on\b[^\n]{1,200}\Z", re.I),
)
_ELLIPSIS = re.compile(r"\s*\[(?:…|\.\.\.)\]\s*\Z")


def drop_tails(text: str) -> str:
    """The text without the boilerplate a feed puts at its end (several tails, one after another)."""
    text = text.rstrip()
    while True:
        for pattern in _TAILS:
            cut = pattern.search(text)
            if cut is not None:
                text = text[: cut.start()].rstrip()
                break
        else:
            return _ELLIPSIS.sub("…", text)
