"""Full-text search SQL: FTS5 on SQLite, tsvector on PostgreSQL (both made by migration 0002).

A treaty article is indexed with its heading ("Article 5 — North Atlantic Treaty (NATO)",
migration 0007), weighted as a post's title is. A query that asks for an article (it has a
number or the word "article") and whose every word is in an article's heading (when every word
must match) means that article: its score gets HEADING_BOOST, so "Article 5 NATO" finds the article itself first,
ahead of the posts that discuss it (scores of different kinds are not comparable otherwise).

The search service hands over terms that are plain words (never query syntax); each kind
(post, comment, article) is ranked among its newest RANKED_PER_KIND matches only (ids grow
with time; `ranked_hits`), and snippets are made only for the hits a page shows (`shown_rows`).
Matched words in snippets and titles are wrapped in MATCH_START / MATCH_STOP (private-use
characters no stored text holds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain

from sqlalchemy import bindparam, text
from sqlmodel import Session

from bot.models import LIBRARY

RANKED_PER_KIND = 1000
HEADING_BOOST = 1000.0
ARTICLE_WORDS = frozenset({"article", "articles", "art"})
SNIPPET_WORDS = 24
MATCH_START, MATCH_STOP = "\ue000", "\ue001"
_START, _STOP = MATCH_START, MATCH_STOP
_HEADLINE_OPTIONS = f'StartSel="{_START}", StopSel="{_STOP}", MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
_TITLE_OPTIONS = f'StartSel="{_START}", StopSel="{_STOP}", HighlightAll=true'


class HitKind(StrEnum):
    POST = "post"
    COMMENT = "comment"
    ARTICLE = "article"


POST, COMMENT, ARTICLE = HitKind.POST, HitKind.COMMENT, HitKind.ARTICLE
RankedHit = tuple[HitKind, int, float]  # kind, id, score (higher is better)
Kinds = tuple[HitKind, ...]
# How a search's kinds are split over connections that rank them side by side
# (`Database.side_by_side`): posts apart from comments and treaty articles (a few thousand rows);
# on PostgreSQL the posts' half is the longer one (their vectors are the larger).
SIDE_BY_SIDE: tuple[Kinds, ...] = ((POST,), (COMMENT, ARTICLE))


@dataclass(frozen=True)
class SearchRow:
    """One match as the database gives it; `title_marked` and `snippet_marked` carry the match markers."""

    kind: HitKind
    id: int  # of the post, comment or article
    score: float  # higher is better
    title: str  # the post's title (a comment's post's), or the treaty's name
    title_marked: str | None
    snippet_marked: str | None
    post_id: int | None = None
    date: dt.date | None = None  # the post's
    author: str | None = None  # a comment's
    article: str | None = None  # an article's label ("4", "IV")


def hit_order(kind: HitKind, hit_id: int, score: float) -> tuple:
    """How hits of every kind are ordered together: best score first, ties by kind and id."""
    return -score, kind, hit_id


# --------------------------------------------------------------------------- SQLite (FTS5)

# Each kind's newest RANKED_PER_KIND matches are scored (bm25) as FTS5 walks them, newest first
# (rowids grow with time): bm25 over every match of a common word cost ~250 ms at 100k posts /
# 1M comments. The best `limit` of each are merged over kinds; snippets only for the hits shown.
# Posts and comments carry their scope as an indexed token (migration 0005), so the viewer's
# filter is part of the MATCH (:qs) and the newest matches are the newest the viewer sees.
_SQLITE_RANKED = {
    POST: "SELECT rowid AS id, -bm25(post_fts, 4.0, 1.0, 0.0) AS score FROM post_fts WHERE post_fts MATCH :qs",
    COMMENT: "SELECT rowid AS id, -bm25(comment_fts, 1.0, 0.0) AS score FROM comment_fts WHERE comment_fts MATCH :qs",
    ARTICLE: "SELECT rowid AS id, -bm25(article_fts, 4.0, 1.0) {boost} AS score FROM article_fts WHERE article_fts MATCH :q",
}
# The shown rows' ids are known to be the viewer's: their snippets match the words alone (:q).
_SQLITE_SHOWN = {
    POST: """
        SELECT p.id, p.title, highlight(post_fts, 0, :start, :stop), snippet(post_fts, 1, :start, :stop, '…', :words),
               p.id, p.date, NULL, NULL
        FROM post_fts JOIN post AS p ON p.id = post_fts.rowid WHERE post_fts MATCH :q AND post_fts.rowid IN :ids
    """,
    COMMENT: """
        SELECT c.id, p.title, NULL, snippet(comment_fts, 0, :start, :stop, '…', :words), p.id, p.date, c.author, NULL
        FROM comment_fts JOIN comment AS c ON c.id = comment_fts.rowid JOIN post AS p ON p.id = c.post_id
        WHERE comment_fts MATCH :q AND comment_fts.rowid IN :ids
    """,
    ARTICLE: """
        SELECT a.id, t.name, NULL, snippet(article_fts, 1, :start, :stop, '…', :words), NULL, NULL, NULL, a.label
        FROM article_fts JOIN article AS a ON a.id = article_fts.rowid JOIN treaty AS t ON t.id = a.treaty_id
        WHERE article_fts MATCH :q AND article_fts.rowid IN :ids
    """,
}


_SQLITE_BOOST = "+ CASE WHEN rowid IN (SELECT rowid FROM article_fts WHERE article_fts MATCH :qh) THEN :boost ELSE 0 END"


def _sqlite_ranked_sql(kind: HitKind, boost: bool) -> str:
    """The newest :ranked matches, newest first (FTS5 walks rowids so), scored; the best :limit of them."""
    newest = _SQLITE_RANKED[kind].replace("{boost}", _SQLITE_BOOST if boost else "") + " ORDER BY rowid DESC LIMIT :ranked"
    return f"SELECT * FROM ({newest}) ORDER BY score DESC, id LIMIT :limit"  # ties as hit_order breaks them


def asks_for_an_article(terms: list[str]) -> bool:
    """"Article 5 NATO", "npt 6": the query names an article (its headings then count most)."""
    return any(t.isdigit() or t.casefold() in ARTICLE_WORDS for t in terms)


def _fts5_query(terms: list[str], *, any_term: bool) -> str:
    """Each term as a quoted FTS5 string: never parsed as syntax (terms hold no quotes)."""
    return (" OR " if any_term else " ").join(f'"{t}"' for t in terms)


def _fts5_scoped(query: str, scope: int | None) -> str:
    if scope is None:
        return query
    scopes = " OR ".join(f'"{s}"' for s in sorted({LIBRARY, scope}))
    return f"({query}) AND scope : ({scopes})"


def _sqlite_params(terms: list[str], *, any_term: bool, scope: int | None) -> dict:
    query = _fts5_query(terms, any_term=any_term)
    return {
        "q": query, "qs": _fts5_scoped(query, scope), "start": _START, "stop": _STOP, "words": SNIPPET_WORDS,
        "ranked": RANKED_PER_KIND, "qh": f"heading : ({query})", "boost": HEADING_BOOST,
    }


def _sqlite_ranked(session: Session, terms: list[str], *, any_term: bool, limit: int, scope: int | None, kinds: Kinds) -> list[RankedHit]:
    boost = asks_for_an_article(terms) and not any_term
    params = _sqlite_params(terms, any_term=any_term, scope=scope) | {"limit": limit}
    return [(kind, row[0], float(row[1])) for kind in kinds for row in session.execute(text(_sqlite_ranked_sql(kind, boost)), params)]


# --------------------------------------------------------------------------- PostgreSQL (tsvector)

# As on SQLite, only the newest RANKED_PER_KIND matches are ranked (ids grow with time). A post's
# or comment's vector holds its scope as a lexeme ("scope:0", migration 0006), so a server's
# matches are one GIN lookup. The newest of a post's or comment's matches are those above a floor
# id (`_pg_recent`): `search_vector @@ q AND id > floor`, which the GIN index on (search_vector, id)
# of migration 0011 (btree_gin) answers inside the index, reading only the matching rows above it.
# Index scans are off for that statement: the planner's choice for it (and for ORDER BY id LIMIT)
# is the primary key with the match as a filter, which detoasts every row's vector (~50 µs each
# for posts); without btree_gin it is a BitmapAnd of the GIN index and the primary key, slower but
# still bounded. The ids found are then ranked by `_PG_RANKED`.
FIRST_BAND = 4 * RANKED_PER_KIND  # ids above the floor on the first try
LAST_BAND = 64 * RANKED_PER_KIND  # the newest rows a search reads by band
# Matches of the LAST_BAND newest rows that are ranked as they are, fewer than RANKED_PER_KIND: a
# time-bounded search for a sparse word (five candidates for each of the 25 hits a search shows),
# since reading every match of it (the GIN intersection of two common words' posting lists and a
# heap row per match) costs several times that band. With fewer, every match is read (a word that
# rare has few).
ENOUGH_IN_LAST_BAND = RANKED_PER_KIND // 8
_PG_RANKED = {kind: f"""
        SELECT x.id, ts_rank(x.search_vector, {{q}}) {{boost}} AS score
        FROM ({{recent}}) AS recent JOIN {kind} AS x ON x.id = recent.id
        ORDER BY score DESC, x.id LIMIT :limit
    """ for kind in (POST, COMMENT, ARTICLE)}
# Snippets (ts_headline) only for the hits shown, as on SQLite.
_PG_SHOWN = {
    POST: """
        SELECT p.id, p.title, ts_headline('english', p.title, {q}, :title_options), ts_headline('english', p.body, {q}, :options),
               p.id, p.date, NULL, NULL
        FROM post AS p WHERE p.id IN :ids
    """,
    COMMENT: """
        SELECT c.id, p.title, NULL, ts_headline('english', c.text, {q}, :options), p.id, p.date, c.author, NULL
        FROM comment AS c JOIN post AS p ON p.id = c.post_id WHERE c.id IN :ids
    """,
    ARTICLE: """
        SELECT a.id, t.name, NULL, ts_headline('english', a.text, {q}, :options), NULL, NULL, NULL, a.label
        FROM article AS a JOIN treaty AS t ON t.id = a.treaty_id WHERE a.id IN :ids
    """,
}


def _pg_recent(session: Session, kind: HitKind, tsquery: str, params: dict, scope: int | None) -> list[int]:
    """The ids of the newest RANKED_PER_KIND posts or comments that match and the viewer sees, newest first.

    Matches above a floor id, the floor lowered until there are enough (each try sized from the
    matches the last one found, at most LAST_BAND ids or half the table: a band costs by its width).
    When even that band is short, its matches if they are ENOUGH_IN_LAST_BAND (the density seen
    decides whether to read it), else all matches, which are few then. Only a floor: btree_gin
    reads a range entry by entry (`id <= hi` from the smallest id), so a wide one costs."""
    table = str(kind)
    visible = f"({tsquery} && CAST(:visible AS tsquery))" if scope is not None else tsquery
    above = text(f"SELECT id FROM {table} WHERE search_vector @@ {visible} AND id > :floor")
    every = text(f"SELECT id FROM {table} WHERE search_vector @@ {visible} ORDER BY id DESC LIMIT :ranked")
    top = session.execute(text(f"SELECT max(id) FROM {table}")).scalar() or 0
    widest = min(LAST_BAND, top // 2)
    width = FIRST_BAND
    session.execute(text("SET LOCAL enable_indexscan = off"))
    try:
        while width <= widest:
            found = sorted(session.execute(above, params | {"floor": top - width}).scalars(), reverse=True)
            if len(found) >= RANKED_PER_KIND:
                return found[:RANKED_PER_KIND]
            if width == widest:
                break
            # the width the missing matches need at the density seen so far (x16 if none was seen)
            needed = width * RANKED_PER_KIND / len(found) if found else width * 16
            if needed > widest and len(found) * widest / width < ENOUGH_IN_LAST_BAND:
                break  # even the widest band would be short: every match (a word this rare has few)
            width = min(widest, max(int(needed * 1.25), width * 2))  # a quarter to spare
        if width == widest and len(found) >= ENOUGH_IN_LAST_BAND:
            return found  # a sparse word: its matches among the newest rows are enough to rank
        return list(session.execute(every, params).scalars())
    finally:
        session.execute(text("SET LOCAL enable_indexscan TO DEFAULT"))


def _pg_ranked_sql(kind: HitKind, tsquery: str, boost: bool = False) -> str:
    """Rank the newest matches: a post's or comment's found by `_pg_recent` (:recent), a treaty
    article's (everyone's, a few thousand rows) by id."""
    extra = f"+ CASE WHEN to_tsvector('english', x.heading) @@ {tsquery} THEN :boost ELSE 0 END" if boost else ""
    if kind == ARTICLE:
        recent = f"SELECT id FROM article WHERE search_vector @@ {tsquery} ORDER BY id DESC LIMIT :ranked"
    else:
        recent = "SELECT unnest(CAST(:recent AS integer[])) AS id"
    return _PG_RANKED[kind].format(q=tsquery, recent=recent, boost=extra)


def _pg_query(terms: list[str], *, any_term: bool) -> tuple[str, dict]:
    """The tsquery and its parameters: plainto_tsquery never fails on any text; OR combines one per term."""
    params: dict = {"options": _HEADLINE_OPTIONS, "title_options": _TITLE_OPTIONS, "ranked": RANKED_PER_KIND, "boost": HEADING_BOOST}
    if any_term:
        params |= {f"t{i}": t for i, t in enumerate(terms)}
        return "(" + " || ".join(f"plainto_tsquery('english', :t{i})" for i in range(len(terms))) + ")", params
    return "plainto_tsquery('english', :t)", params | {"t": " ".join(terms)}


def _pg_ranked(session: Session, terms: list[str], *, any_term: bool, limit: int, scope: int | None, kinds: Kinds) -> list[RankedHit]:
    tsquery, params = _pg_query(terms, any_term=any_term)
    params["limit"] = limit
    if scope is not None:
        params["visible"] = " | ".join(f"'scope:{s}'" for s in sorted({LIBRARY, scope}))
    boost = asks_for_an_article(terms) and not any_term
    ranked: list[RankedHit] = []
    for kind in kinds:
        values = params if kind == ARTICLE else params | {"recent": _pg_recent(session, kind, tsquery, params, scope)}
        sql = _pg_ranked_sql(kind, tsquery, boost and kind == ARTICLE)
        ranked += [(kind, row.id, float(row.score)) for row in session.execute(text(sql), values)]
    return ranked


def _rows(kind: HitKind, rows) -> list[SearchRow]:
    return [
        SearchRow(
            kind=kind,
            id=row[0],
            score=float(row[1]),
            title=row[2],
            title_marked=row[3],
            snippet_marked=row[4],
            post_id=row[5],
            date=dt.date.fromisoformat(row[6]) if isinstance(row[6], str) else row[6],
            author=row[7],
            article=row[8],
        )
        for row in rows
    ]


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def ranked_hits(session: Session, *, terms: list[str], any_term: bool, limit: int, scope: int | None, kinds: Kinds = tuple(HitKind)) -> list[RankedHit]:
    """The best `limit` matches of these kinds the viewer sees for these words (all of them, or any
    with `any_term`), in `hit_order`; their snippets are `shown_rows`' work."""
    rank = _pg_ranked if _is_postgresql(session) else _sqlite_ranked
    return best_hits([rank(session, terms, any_term=any_term, limit=limit, scope=scope, kinds=kinds)], limit=limit)


def best_hits(parts: Iterable[list[RankedHit]], *, limit: int) -> list[RankedHit]:
    """The best `limit` of several rankings' hits, in `hit_order`."""
    return sorted(chain.from_iterable(parts), key=lambda r: hit_order(*r))[:limit]


# Whose scope a shown hit must still be in: its post's or comment's (articles are everyone's).
_SHOWN_SCOPE = {POST: "p.scope", COMMENT: "c.scope"}


def shown_rows(session: Session, *, terms: list[str], any_term: bool, hits: list[RankedHit], scope: int | None) -> list[SearchRow]:
    """These ranked hits (from `ranked_hits` with the same words and viewer) with their titles and
    snippets, in their order. Snippets are the costliest step per row, so they are made only for the
    hits shown, a page at a time, maybe minutes after the ranking: a hit deleted since is left out, and
    so is one whose id now holds a row the viewer does not see (SQLite may reuse a deleted row's id)."""
    if _is_postgresql(session):
        tsquery, params = _pg_query(terms, any_term=any_term)
        sql = {kind: shown.format(q=tsquery) for kind, shown in _PG_SHOWN.items()}
    else:
        params, sql = _sqlite_params(terms, any_term=any_term, scope=None), _SQLITE_SHOWN
    scores = {(kind, hit_id): score for kind, hit_id, score in hits}
    rows: list[SearchRow] = []
    for kind, shown in sql.items():
        if ids := [hit_id for k, hit_id, _ in hits if k == kind]:
            values, lists = params | {"ids": ids}, [bindparam("ids", expanding=True)]
            if scope is not None and kind in _SHOWN_SCOPE:
                shown += f" AND {_SHOWN_SCOPE[kind]} IN :scopes"
                values["scopes"], lists = sorted({LIBRARY, scope}), [*lists, bindparam("scopes", expanding=True)]
            found = session.execute(text(shown).bindparams(*lists), values).all()
            rows += _rows(kind, [(row[0], scores[kind, row[0]], *row[1:]) for row in found])
    return sorted(rows, key=lambda r: hit_order(r.kind, r.id, r.score))
