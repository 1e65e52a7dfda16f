"""Per-subscription filters: which new entries of a feed a server is told of.

`/feed filter feed include:"word, phrase" exclude:"…"` sets both lists at once (a list left out is
no filter of that kind). An entry is announced when it matches one include term (if there are
any) and no exclude term. Terms match whole words or phrases, case-insensitively, in the entry's
title and text (the feed's summary or content, as stored): "war" matches "War!" but not
"software". Entries kept back are stored like any other and recorded as filtered, so
`/feed status` can say how many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.db import Database
from bot.errors import UserFacingError
from bot.services.views import FeedRecord
from bot.store import feeds

MAX_TERMS = 25  # per list
MAX_TERM_LENGTH = 100
MAX_LIST_LENGTH = 1000  # characters of one list as stored


def parse_terms(text: str | None, *, label: str = "terms") -> tuple[str, ...]:
    """"word, phrase" -> ("word", "phrase"): spaces collapsed, empty and repeated terms dropped."""
    terms: list[str] = []
    seen: set[str] = set()
    for raw in (text or "").split(","):
        term = " ".join(raw.split())
        if not term or term.casefold() in seen:
            continue
        if len(term) > MAX_TERM_LENGTH:
            raise UserFacingError(f"A filter term is at most {MAX_TERM_LENGTH} characters; `{term[:40]}…` is longer.")
        seen.add(term.casefold())
        terms.append(term)
    if len(terms) > MAX_TERMS:
        raise UserFacingError(f"Give at most {MAX_TERMS} {label}, separated by commas.")
    if len(", ".join(terms)) > MAX_LIST_LENGTH:
        raise UserFacingError(f"The {label} are longer than {MAX_LIST_LENGTH} characters in all.")
    return tuple(terms)


def stored(terms: tuple[str, ...]) -> str | None:
    return ", ".join(terms) or None


def _pattern(terms: tuple[str, ...]) -> re.Pattern | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(term.casefold()).replace(r"\ ", r"\s+") for term in terms)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


@dataclass(frozen=True)
class EntryFilter:
    """A subscription's filters, compiled once per poll."""

    include: re.Pattern | None
    exclude: re.Pattern | None

    @classmethod
    def of(cls, feed: FeedRecord) -> EntryFilter:
        return cls(include=_pattern(parse_terms(feed.include_words)), exclude=_pattern(parse_terms(feed.exclude_words)))

    @property
    def active(self) -> bool:
        return self.include is not None or self.exclude is not None

    def announces(self, title: str, body: str) -> bool:
        text = f"{title}\n{body}".casefold()
        if self.include is not None and self.include.search(text) is None:
            return False
        return self.exclude is None or self.exclude.search(text) is None


def set_filters(db: Database, *, guild_id: int | None, ref: str, include: str | None, exclude: str | None) -> FeedRecord:
    """Replace a subscription's filters (None or "" clears that list); they apply to entries that
    arrive from now on."""
    values = {
        "include_words": stored(parse_terms(include, label="include terms")),
        "exclude_words": stored(parse_terms(exclude, label="exclude terms")),
    }
    with db.session() as session:
        found = feeds.find_feed(session, guild_id=guild_id, ref=ref)
        if found is None:
            raise UserFacingError(f"No watched feed `{ref[:200]}` here; see `/feed list`.")
        updated = feeds.update_feed(session, feed_id=found.id, **values)
    if updated is None:
        raise UserFacingError("That feed was removed meanwhile.")
    return updated
