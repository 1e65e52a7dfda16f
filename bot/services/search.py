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
  (bench/README.md); among recent matches the best still come first.
- At most `limit` hits (default 25) are returned and nothing is counted, and snippets are made
  only for the rows that are returned.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass

import discord.utils
from sqlalchemy import text
from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError

log = logging.getLogger(__name__)

MAX_TERMS = 16  # words of a query that are used; more only slow the query down
MAX_TERM_LENGTH = 64
DEFAULT_LIMIT = 25  # hits shown: five pages of five
RANKED_PER_KIND = 1000  # newest matches of each kind (post, comment, article) ranked by relevance
SNIPPET_WORDS = 24
SNIPPET_LIMIT = 450  # characters of markdown, roughly; a snippet may end one piece later
PIECE_LIMIT = 300  # of one run of text or one matched token
POST, COMMENT, ARTICLE = "post", "comment", "article"

# Private-use characters mark matches in snippets from the database; `_markdown` turns them into
# bold and escapes everything else, so stored text never injects markdown.
_START, _STOP = "\ue000", "\ue001"
_MARKED = re.compile(f"{_START}(.*?){_STOP}", re.S)
_HEADLINE_OPTIONS = f'StartSel="{_START}", StopSel="{_STOP}", MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
_TITLE_OPTIONS = f'StartSel="{_START}", StopSel="{_STOP}", HighlightAll=true'


@dataclass(frozen=True)
class SearchHit:
    """One match. `snippet` and `title` are Discord markdown: escaped, matched words in bold."""

    kind: str  # post, comment or article
    id: int  # of the post, comment or article
    score: float  # higher is better
    title: str  # plain: the post's title (a comment's post), or the treaty's name
    heading: str  # the title as markdown, matched words in bold for posts
    snippet: str
    snippet_text: str  # the snippet as plain text
    post_id: int | None = None
    date: dt.date | None = None  # the post's date
    author: str | None = None  # of a comment
    article: str | None = None  # an article's label ("4", "IV")

    def belongs_to(self) -> str:
        """Plain text: what the hit belongs to (escape it for markdown)."""
        post = f"{self.title} ({self.date.isoformat()})" if self.date else self.title
        if self.kind == COMMENT:
            return f"comment by {self.author} on {post}"
        if self.kind == ARTICLE:
            return f"Article {self.article} of {self.title}"
        return f"post: {post}"


def query_terms(query: str) -> list[str]:
    """The words of a query: runs of letters, digits and combining marks; everything else separates.

    So quotes, operators, `col:foo` or SQL never reach a query parser as syntax: "Jong-un" is the
    words "Jong" and "un", as the database's own tokenizers split the stored text.
    """
    terms: list[str] = []
    word: list[str] = []
    for ch in query + " ":
        if unicodedata.category(ch)[0] in "LNM" and ch not in (_START, _STOP):
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


def _markdown(marked: str | None, *, plain: bool = False) -> str:
    """Database snippet (matches between private-use markers) -> escaped markdown with bold matches
    (or, with `plain`, the bare text for a terminal).

    Pieces are cut before escaping, so a huge token or text never breaks the markup or the limits.
    """
    if not marked:
        return ""
    marked = " ".join(marked.split())
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _MARKED.finditer(marked):
        pieces += [(marked[last : match.start()], False), (match.group(1), True)]
        last = match.end()
    pieces.append((marked[last:], False))
    out = ""
    for piece, bold in pieces:
        if len(out) > SNIPPET_LIMIT:
            return out.rstrip() + "…"
        if len(piece) > PIECE_LIMIT:  # keep both ends: they border the matches
            piece = piece[: PIECE_LIMIT // 2] + "…" + piece[-PIECE_LIMIT // 2 :]
        escaped = _escape(piece, plain=plain)
        out += f"**{escaped}**" if bold and escaped.strip() and not plain else escaped
    return out


def _escape(part: str, *, plain: bool = False) -> str:
    part = part.replace(_START, "").replace(_STOP, "")
    return part if plain else discord.utils.escape_markdown(part)


# --------------------------------------------------------------------------- SQLite (FTS5)

# Rank in a subquery (bm25 only, bounded by LIMIT), then make snippets for those rows alone.
# Only the newest RANKED_PER_KIND matches are ranked: rowids grow with time, and FTS5 walks them
# newest first cheaply, while bm25 over every match of a common word costs ~1 µs a row.
_FLOOR = "coalesce((SELECT rowid FROM {fts} WHERE {fts} MATCH :q ORDER BY rowid DESC LIMIT 1 OFFSET :ranked), 0)"
_SQLITE = {
    POST: """
        SELECT p.id, top.score, p.title, highlight(post_fts, 0, :start, :stop), snippet(post_fts, 1, :start, :stop, '…', :words),
               p.id, p.date, NULL, NULL
        FROM (SELECT rowid AS id, -bm25(post_fts, 4.0, 1.0) AS score FROM post_fts WHERE post_fts MATCH :q AND rowid >= {floor}
              ORDER BY bm25(post_fts, 4.0, 1.0) LIMIT :limit) AS top
        JOIN post_fts ON post_fts.rowid = top.id
        JOIN post AS p ON p.id = top.id
        WHERE post_fts MATCH :q
    """,
    COMMENT: """
        SELECT c.id, top.score, p.title, NULL, snippet(comment_fts, 0, :start, :stop, '…', :words),
               p.id, p.date, c.author, NULL
        FROM (SELECT rowid AS id, -bm25(comment_fts) AS score FROM comment_fts WHERE comment_fts MATCH :q AND rowid >= {floor}
              ORDER BY bm25(comment_fts) LIMIT :limit) AS top
        JOIN comment_fts ON comment_fts.rowid = top.id
        JOIN comment AS c ON c.id = top.id
        JOIN post AS p ON p.id = c.post_id
        WHERE comment_fts MATCH :q
    """,
    ARTICLE: """
        SELECT a.id, top.score, t.name, NULL, snippet(article_fts, 0, :start, :stop, '…', :words),
               NULL, NULL, NULL, a.label
        FROM (SELECT rowid AS id, -bm25(article_fts) AS score FROM article_fts WHERE article_fts MATCH :q AND rowid >= {floor}
              ORDER BY bm25(article_fts) LIMIT :limit) AS top
        JOIN article_fts ON article_fts.rowid = top.id
        JOIN article AS a ON a.id = top.id
        JOIN treaty AS t ON t.id = a.treaty_id
        WHERE article_fts MATCH :q
    """,
}


def _sqlite_sql(kind: str) -> str:
    return _SQLITE[kind].replace("{floor}", _FLOOR.format(fts=f"{kind}_fts"))


def _fts5_query(terms: list[str], *, any_term: bool) -> str:
    """Each term as a quoted FTS5 string: never parsed as syntax (terms hold no quotes)."""
    return (" OR " if any_term else " ").join(f'"{t}"' for t in terms)


def _sqlite_search(session: Session, terms: list[str], *, any_term: bool, limit: int) -> list[SearchHit]:
    params = {
        "q": _fts5_query(terms, any_term=any_term), "start": _START, "stop": _STOP, "words": SNIPPET_WORDS,
        "limit": limit, "ranked": RANKED_PER_KIND - 1,
    }
    return [hit for kind in _SQLITE for hit in _hits(kind, session.execute(text(_sqlite_sql(kind)), params).all())]


# --------------------------------------------------------------------------- PostgreSQL (tsvector)

# As on SQLite, only the newest RANKED_PER_KIND matches are ranked (ids grow with time).
_PG = {
    POST: """
        SELECT p.id, top.score, p.title, ts_headline('english', p.title, {q}, :title_options),
               ts_headline('english', p.body, {q}, :options), p.id, p.date, NULL, NULL
        FROM (SELECT id, ts_rank(search_vector, {q}) AS score
              FROM (SELECT id, search_vector FROM post WHERE search_vector @@ {q} ORDER BY id DESC LIMIT :ranked) AS recent
              ORDER BY score DESC LIMIT :limit) AS top
        JOIN post AS p ON p.id = top.id
    """,
    COMMENT: """
        SELECT c.id, top.score, p.title, NULL, ts_headline('english', c.text, {q}, :options), p.id, p.date, c.author, NULL
        FROM (SELECT id, ts_rank(search_vector, {q}) AS score
              FROM (SELECT id, search_vector FROM comment WHERE search_vector @@ {q} ORDER BY id DESC LIMIT :ranked) AS recent
              ORDER BY score DESC LIMIT :limit) AS top
        JOIN comment AS c ON c.id = top.id
        JOIN post AS p ON p.id = c.post_id
    """,
    ARTICLE: """
        SELECT a.id, top.score, t.name, NULL, ts_headline('english', a.text, {q}, :options), NULL, NULL, NULL, a.label
        FROM (SELECT id, ts_rank(search_vector, {q}) AS score
              FROM (SELECT id, search_vector FROM article WHERE search_vector @@ {q} ORDER BY id DESC LIMIT :ranked) AS recent
              ORDER BY score DESC LIMIT :limit) AS top
        JOIN article AS a ON a.id = top.id
        JOIN treaty AS t ON t.id = a.treaty_id
    """,
}


def _pg_search(session: Session, terms: list[str], *, any_term: bool, limit: int) -> list[SearchHit]:
    """plainto_tsquery never fails on any text; OR combines one tsquery per term."""
    params: dict = {"options": _HEADLINE_OPTIONS, "title_options": _TITLE_OPTIONS, "limit": limit, "ranked": RANKED_PER_KIND}
    if any_term:
        params |= {f"t{i}": t for i, t in enumerate(terms)}
        tsquery = "(" + " || ".join(f"plainto_tsquery('english', :t{i})" for i in range(len(terms))) + ")"
    else:
        params["t"] = " ".join(terms)
        tsquery = "plainto_tsquery('english', :t)"
    return [
        hit for kind, sql in _PG.items() for hit in _hits(kind, session.execute(text(sql.format(q=tsquery)), params).all())
    ]


# --------------------------------------------------------------------------- entry points


def _hits(kind: str, rows) -> list[SearchHit]:
    return [
        SearchHit(
            kind=kind,
            id=row[0],
            score=float(row[1]),
            title=row[2],
            heading=_markdown(row[3]) if row[3] else _escape(row[2]),
            snippet=_markdown(row[4]),
            snippet_text=_markdown(row[4], plain=True),
            post_id=row[5],
            date=dt.date.fromisoformat(row[6]) if isinstance(row[6], str) else row[6],
            author=row[7],
            article=row[8],
        )
        for row in rows
    ]


def search_session(session: Session, *, query: str, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """The best `limit` hits over every kind, best first. Raises UserFacingError for a query without words."""
    terms = required_terms(query)
    run = _pg_search if session.get_bind().dialect.name == "postgresql" else _sqlite_search
    hits = run(session, terms, any_term=False, limit=limit)
    if not hits and len(terms) > 1:
        hits = run(session, terms, any_term=True, limit=limit)
    hits.sort(key=lambda h: (-h.score, h.kind, h.id))
    return hits[:limit]


def search(db: Database, *, query: str, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """Search posts, comments and treaty articles (blocking: call through `db.run` from the bot)."""
    with db.session() as session:
        return search_session(session, query=query, limit=limit)
