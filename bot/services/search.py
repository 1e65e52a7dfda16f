"""Full-text search over post titles and bodies, comments and treaty articles (/search, `postbot search`).

The index lives in the database (migration 0002): FTS5 tables kept current by triggers on SQLite,
generated tsvector columns with GIN indexes on PostgreSQL, so storing a post needs no extra call.

Decisions where the issue leaves room:
- User text is never handed to a query parser: it is split into words here (letters and digits;
  all else separates), each word becomes a quoted FTS5 string (SQLite) or goes through
  `plainto_tsquery` (PostgreSQL). Quotes, operators, `col:foo`, `NEAR(` or SQL are just words;
  a query without any letter or digit is a user error.
- Every word must match; when no document has them all, any word may match (still ranked).
- Ranking: bm25 (SQLite, title weighted x4) / ts_rank (PostgreSQL, title weight A) per kind;
  the kinds are merged by score. Scores of different kinds are only roughly comparable.
- Only the newest RANKED_PER_KIND (1,000) matches of each kind are ranked: a word found in
  80k posts is not selective, and ranking every match cost ~250 ms at 100k posts / 1M comments
  (bench/README.md); among recent matches the best still come first. On PostgreSQL the search
  is also bounded in time: when the newest 64k posts or comments hold fewer matches but at least
  125, those are ranked (reading every match of two common words cost 15-35 ms for comments).
- Posts are ranked on a connection of their own, beside comments and treaty articles
  (`Database.side_by_side`): on PostgreSQL each half on its own backend and core, so a search
  takes about as long as its slower half (bench/README.md).
- At most `limit` hits (default 25) are ranked and nothing is counted; snippets are made only for
  the hits a page shows, when it is shown (`rank`, then `hits_of`): on PostgreSQL ts_headline over
  25 post bodies was ~8 ms of a search. Long runs of text in a snippet are cut around the matches.
- A hit links where the viewer can read on: the post's discussion thread in the viewer's server,
  else the post's own address; a comment hit carries the comment's own time (None when its file
  gave none), not its post's date.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError
from bot.models import LIBRARY
from bot.services.views import HitKind, SearchHit, Snippet
from bot.store import discussion, posts
from bot.store.search import MATCH_START, MATCH_STOP, SIDE_BY_SIDE, RankedHit, SearchRow, best_hits, ranked_hits, shown_rows

MAX_TERMS = 16  # words of a query that are used; more only slow the query down
MAX_TERM_LENGTH = 64
DEFAULT_LIMIT = 25  # hits shown: five pages of five
SNIPPET_LIMIT = 450  # characters of a snippet, roughly; a snippet may end one piece later
PIECE_LIMIT = 300  # of one run of text or one matched token
_MARKED = re.compile(f"{MATCH_START}(.*?){MATCH_STOP}", re.S)


def query_terms(query: str) -> list[str]:
    """The words of a query: runs of letters, digits and combining marks; everything else separates.

    So quotes, operators, `col:foo` or SQL never reach a query parser as syntax: "Jong-un" is the
    words "Jong" and "un", as the database's own tokenizers split the stored text.
    """
    terms: list[str] = []
    word: list[str] = []
    for ch in query + " ":
        if unicodedata.category(ch)[0] in "LNM" and ch not in (MATCH_START, MATCH_STOP):
            word.append(ch)
        elif word:
            terms.append("".join(word)[:MAX_TERM_LENGTH])
            word = []
            if len(terms) == MAX_TERMS:
                break
    return terms


def required_terms(query: str) -> list[str]:
    """The query's words, or a UserFacingError when it has none (callers check before deferring)."""
    terms = query_terms(query)
    if not terms:
        raise UserFacingError("Type at least one word to search for.")
    return terms


def snippet(marked: str | None) -> Snippet:
    """Database text with matches between markers -> pieces (text, matched), long runs cut in the middle."""
    if not marked:
        return ()
    marked = " ".join(marked.split())
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _MARKED.finditer(marked):
        pieces += [(marked[last : match.start()], False), (match.group(1), True)]
        last = match.end()
    pieces.append((marked[last:], False))
    out: list[tuple[str, bool]] = []
    size = 0
    for piece, matched in pieces:
        piece = piece.replace(MATCH_START, "").replace(MATCH_STOP, "")
        if not piece:
            continue
        if size > SNIPPET_LIMIT:
            out.append(("…", False))
            break
        if len(piece) > PIECE_LIMIT:  # keep both ends: they border the matches
            piece = piece[: PIECE_LIMIT // 2] + "…" + piece[-PIECE_LIMIT // 2 :]
        out.append((piece, matched))
        size += len(piece)
    return tuple(out)


def _hit(row: SearchRow, links: dict, times: dict, threads: dict) -> SearchHit:
    return SearchHit(
        kind=row.kind,
        id=row.id,
        score=row.score,
        title=row.title,
        heading=snippet(row.title_marked) if row.title_marked else ((row.title, False),),
        snippet=snippet(row.snippet_marked),
        post_id=row.post_id,
        date=row.date,
        author=row.author,
        article=row.article,
        posted_at=times.get(row.id) if row.kind == HitKind.COMMENT else None,
        link=links.get(row.post_id) if row.post_id is not None else None,
        thread=threads.get(row.post_id) if row.post_id is not None else None,
    )


@dataclass(frozen=True)
class Ranking:
    """A search's best hits, ranked, and how they matched: enough to make any page of them later."""

    terms: tuple[str, ...]
    any_term: bool  # no hit had every word, so these have any
    scope: int | None
    hits: tuple[RankedHit, ...]


def rank(db: Database, *, query: str, scope: int | None, limit: int = DEFAULT_LIMIT, show: int = DEFAULT_LIMIT) -> tuple[Ranking, list[SearchHit]]:
    """The best `limit` hits the viewer sees over posts, comments and treaty articles, best first,
    and the first `show` of them with their snippets (the rest: `hits_of`, when a page shows them).

    Raises UserFacingError for a query without words. Blocking: call through `db.call` from the bot.
    """
    terms = required_terms(query)
    hits = _ranked(db, terms, any_term=False, limit=limit, scope=scope)
    any_term = not hits and len(terms) > 1  # no hit has every word: any word may match
    if any_term:
        hits = _ranked(db, terms, any_term=True, limit=limit, scope=scope)
    ranking = Ranking(terms=tuple(terms), any_term=any_term, scope=scope, hits=tuple(hits))
    with db.session() as session:
        return ranking, _shown(session, ranking, ranking.hits[:show])


def _ranked(db: Database, terms: list[str], *, any_term: bool, limit: int, scope: int | None) -> list[RankedHit]:
    """The best hits of every kind, the kinds ranked side by side on connections of their own."""
    of_kinds = functools.partial(ranked_hits, terms=terms, any_term=any_term, limit=limit, scope=scope)
    return best_hits(db.side_by_side(*(functools.partial(of_kinds, kinds=kinds) for kinds in SIDE_BY_SIDE)), limit=limit)


def hits_of(db: Database, ranking: Ranking, *, start: int, stop: int) -> list[SearchHit]:
    """Hits [start, stop) of a ranking with their snippets; one deleted since, or no longer the viewer's, is left out."""
    with db.session() as session:
        return _shown(session, ranking, ranking.hits[start:stop])


def search(db: Database, *, query: str, scope: int | None, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """All of `rank`'s hits with their snippets (the CLI prints them at once)."""
    return rank(db, query=query, scope=scope, limit=limit, show=limit)[1]


def _shown(session: Session, ranking: Ranking, hits: tuple[RankedHit, ...]) -> list[SearchHit]:
    """These hits with their snippets, links, comment times and this server's threads."""
    if not hits:
        return []
    scope = ranking.scope
    rows = shown_rows(session, terms=list(ranking.terms), any_term=ranking.any_term, hits=list(hits), scope=scope)
    post_ids = sorted({r.post_id for r in rows if r.post_id is not None})
    links, times = posts.hit_details(session, post_ids=post_ids, comment_ids=[r.id for r in rows if r.kind == HitKind.COMMENT])
    threads = discussion.threads_of(session, guild_id=scope, post_ids=post_ids) if scope not in (None, LIBRARY) else {}
    return [_hit(r, links, times, threads) for r in rows]
