"""Posts and their comments as read back: storing loaded posts, lists, pickers, export, windows.

Comments collected from Discord are written by `store.discussion`; every read of comments is
here, in one order (`COMMENT_ORDER`): a post's own comments in file order, then Discord's in
the order they were written. Every read takes the viewer's `scope` (`_sql.visible`): a server
sees the library's posts and its own, and on a post its own comments and that server's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, func, or_, select, text, update
from sqlmodel import Session

from bot.models import LIBRARY, Comment, CommentOrigin, Post
from bot.store._sql import chunks, insert_rows, visible


class LoadStatus(StrEnum):
    """What storing a loaded post did."""

    LOADED = "loaded"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class CommentRow:
    """One of a post's own comments, as loaded from its file or feed."""

    author: str
    text: str
    posted_at: dt.datetime | None = None


@dataclass(frozen=True)
class PostRow:
    """A post to store. `key` is its identity across edits (feed entry id, else date and title)."""

    key: str
    date: dt.date
    title: str
    headline: str | None
    source: str | None
    author: str | None
    body: str
    truncated: bool
    labels: tuple[str, ...]
    link: str | None
    comments: tuple[CommentRow, ...] = ()
    scope: int = LIBRARY  # where it is stored (not part of its content)
    loaded_from: str = ""  # the file path or feed URL
    digest: str = ""  # its content_hash when a parse worker computed it already; empty: computed when stored


@dataclass(frozen=True)
class PostRef:
    """A post as lists, pickers and citations name it."""

    id: int
    date: dt.date
    title: str
    source: str | None = None
    comment_count: int = 0


@dataclass(frozen=True)
class StoredComment:
    id: int
    post_id: int
    position: int
    author: str
    text: str
    posted_at: dt.datetime | None
    origin: CommentOrigin
    discord_message_id: int | None = None
    discord_user_id: int | None = None
    discord_guild_id: int | None = None


@dataclass(frozen=True)
class StoredPost:
    id: int
    scope: int  # LIBRARY, or the server it belongs to
    key: str
    date: dt.date
    title: str
    headline: str | None
    source: str | None
    author: str | None
    body: str
    truncated: bool
    labels: tuple[str, ...]
    link: str | None
    loaded_from: str  # the file path or feed URL
    loaded_at: dt.datetime
    comments: tuple[StoredComment, ...] = ()


@dataclass(frozen=True)
class CommentStats:
    count: int
    newest_author: str | None


COMMENT_ORDER = (Comment.origin == CommentOrigin.DISCORD, Comment.position, Comment.posted_at, Comment.id)


# --------------------------------------------------------------------------- storing


def content_hash(row: PostRow) -> str:
    """Hash of what the post file layout carries, so an export re-loads as unchanged. A `ParsedPost`
    has the same fields: a parse worker hashes it as parsed (`PostRow.digest`)."""
    payload = [
        row.date.isoformat(),
        row.title,
        row.headline,
        row.source,
        row.author,
        row.body,
        row.truncated,
        list(row.labels),
        [[c.author, c.text, c.posted_at.isoformat() if c.posted_at else None] for c in row.comments],
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def _digest(row: PostRow) -> str:
    """The row's content hash: the one a parse worker computed, else computed now."""
    return row.digest or content_hash(row)


def post_values(row: PostRow, *, digest: str, now: dt.datetime) -> dict:
    """A post's column values (the benchmark's bulk builder uses them too)."""
    return {
        "scope": row.scope,
        "date": row.date,
        "title": row.title,
        "headline": row.headline,
        "source": row.source,
        "author": row.author,
        "body": row.body,
        "truncated": row.truncated,
        "labels": ", ".join(row.labels),
        "link": row.link,
        "loaded_from": row.loaded_from,
        "content_hash": digest,
        "updated_at": now,
    }


def comment_values(post_id: int, comments: tuple[CommentRow, ...], scope: int, now: dt.datetime) -> list[dict]:
    """Insert rows of a post's own comments, in order (they share the post's scope)."""
    return [
        {
            "post_id": post_id,
            "scope": scope,
            "position": index,
            "author": c.author,
            "text": c.text,
            "posted_at": c.posted_at,
            "origin": CommentOrigin.POST,
            "created_at": now,
        }
        for index, c in enumerate(comments)
    ]


def upsert_posts(session: Session, *, rows: list[PostRow], now: dt.datetime) -> list[tuple[LoadStatus, int]]:
    """Store posts as if one after the other, in one go; returns (status, post id) of each.

    Each is inserted into its scope, updates an edited one in place, or leaves an identical one
    alone: a post identical to one the scope can see already (the library's, or its own) is
    unchanged, not stored twice. An update replaces the post's own comments and keeps the ones
    collected from Discord; an export's copies of those are not stored twice. New posts are inserted
    together (an executemany of the posts, one of their comments): per-post statements and their
    SQLAlchemy overhead were most of `postbot load` (bench/README.md).
    """
    connection = session.connection()  # Core on the session's connection: same transaction, no ORM overhead
    by_key = _stored_by_key(connection, rows)  # (scope, key) -> (id, hash), kept current below
    new = {index: _digest(row) for index, row in enumerate(rows) if (row.scope, row.key) not in by_key}
    by_hash = _stored_by_hash(connection, list(new.values()))  # hash -> {scope: id}
    outcome: list[tuple[LoadStatus, int]] = [None] * len(rows)  # type: ignore[list-item]
    pending: dict[int, str] = {}  # row index -> hash, to insert
    pending_keys, pending_hashes = set(), set()  # their (scope, key) and hashes

    def flush() -> None:
        if not pending:
            return
        indexes = list(pending)
        values = [{"key": rows[i].key, "loaded_at": now, **post_values(rows[i], digest=pending[i], now=now)} for i in indexes]
        insert_rows(connection, Post.__table__, values)  # the ids are read back by (scope, key), unique
        inserted = _stored_by_key(connection, [rows[i] for i in indexes])
        ids = [inserted[rows[i].scope, rows[i].key][0] for i in indexes]
        comments = [c for i, post_id in zip(indexes, ids) for c in comment_values(post_id, rows[i].comments, rows[i].scope, now)]
        insert_rows(connection, Comment.__table__, comments)
        for i, post_id in zip(indexes, ids):
            outcome[i] = (LoadStatus.LOADED, post_id)
            by_key[rows[i].scope, rows[i].key] = (post_id, pending[i])
            by_hash.setdefault(pending[i], {}).setdefault(rows[i].scope, post_id)
        pending.clear()
        pending_keys.clear()
        pending_hashes.clear()

    for index, row in enumerate(rows):
        if (row.scope, row.key) in pending_keys:
            flush()  # the same post twice in one batch: the second sees the first stored
        existing = by_key.get((row.scope, row.key))
        if existing is None:
            digest = new[index] if index in new else _digest(row)
            if digest in pending_hashes:
                flush()  # the same text twice in one batch: the second is the first, unchanged
            seen = by_hash.get(digest, {})
            if (same := seen.get(LIBRARY, seen.get(row.scope))) is not None:
                outcome[index] = (LoadStatus.UNCHANGED, same)
            else:
                pending[index] = digest
                pending_keys.add((row.scope, row.key))
                pending_hashes.add(digest)
            continue
        post_id, stored_hash = existing
        row = _without_discord_comments(session, row, post_id=post_id)
        digest = _digest(row)
        if stored_hash == digest:
            outcome[index] = (LoadStatus.UNCHANGED, post_id)
            continue
        connection.execute(update(Post).where(Post.id == post_id).values(**post_values(row, digest=digest, now=now)))
        connection.execute(delete(Comment).where(Comment.post_id == post_id, Comment.origin == CommentOrigin.POST))
        insert_rows(connection, Comment.__table__, comment_values(post_id, row.comments, row.scope, now))
        outcome[index] = (LoadStatus.UPDATED, post_id)
        by_key[row.scope, row.key] = (post_id, digest)
        by_hash.setdefault(digest, {}).setdefault(row.scope, post_id)
    flush()
    return outcome


def _stored_by_key(connection, rows: list[PostRow]) -> dict[tuple[int, str], tuple[int, str]]:
    """(scope, key) -> (id, content hash) of the stored posts with these rows' keys."""
    found: dict[tuple[int, str], tuple[int, str]] = {}
    scopes = sorted({row.scope for row in rows})
    for keys in chunks(sorted({row.key for row in rows})):
        query = select(Post.id, Post.scope, Post.key, Post.content_hash).where(Post.key.in_(keys), Post.scope.in_(scopes))
        found.update(((r.scope, r.key), (r.id, r.content_hash)) for r in connection.execute(query))
    return found


def _stored_by_hash(connection, digests: list[str]) -> dict[str, dict[int, int]]:
    """content hash -> {scope: id} of the stored posts with these hashes (the first of each scope)."""
    found: dict[str, dict[int, int]] = {}
    for part in chunks(sorted(set(digests))):
        for r in connection.execute(select(Post.id, Post.scope, Post.content_hash).where(Post.content_hash.in_(part)).order_by(Post.id)):
            found.setdefault(r.content_hash, {}).setdefault(r.scope, r.id)
    return found


def count_for_the_planner(session: Session) -> None:
    """Have PostgreSQL take statistics of the columns the loader looks posts, comments and quotes up by.
    Its planner goes by the last ANALYZE (autovacuum's, a minute apart at best): a store a load filled
    from empty was planned as empty, and each batch's lookup of its keys read every post of the scope
    (about 10 s of a 20k-file load, bench/README.md). SQLite plans by its indexes alone: nothing to do there."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE post (scope, key, content_hash), comment (post_id, origin, position), quote (post_id)"))


def discord_signatures(session: Session, *, post_id: int) -> set[tuple]:
    """(author, text, posted_at) of the post's Discord comments: how an exported copy is recognised."""
    return {
        tuple(r)
        for r in session.execute(
            select(Comment.author, Comment.text, Comment.posted_at).where(Comment.post_id == post_id, Comment.origin == CommentOrigin.DISCORD)
        )
    }


def _without_discord_comments(session: Session, row: PostRow, *, post_id: int) -> PostRow:
    """Drop comments that are exports of the post's Discord comments, so re-loading an export doubles nothing."""
    collected = discord_signatures(session, post_id=post_id)
    if not collected:
        return row
    own = tuple(c for c in row.comments if (c.author, c.text, c.posted_at) not in collected)
    return row if len(own) == len(row.comments) else dataclasses.replace(row, comments=own, digest="")


# --------------------------------------------------------------------------- reading


def _comment(c) -> StoredComment:
    return StoredComment(
        id=c.id,
        post_id=c.post_id,
        position=c.position,
        author=c.author,
        text=c.text,
        posted_at=c.posted_at,
        origin=CommentOrigin(c.origin),
        discord_message_id=c.discord_message_id,
        discord_user_id=c.discord_user_id,
        discord_guild_id=c.discord_guild_id,
    )


# Core selects of these columns: building ORM objects cost more than the queries (digests read thousands).
_POST_COLUMNS = tuple(getattr(Post, f) for f in ("id", "scope", "key", "date", "title", "headline", "source", "author", "body",
                                                  "truncated", "labels", "link", "loaded_from", "loaded_at"))
_COMMENT_COLUMNS = tuple(getattr(Comment, f) for f in ("id", "post_id", "position", "author", "text", "posted_at", "origin",
                                                        "discord_message_id", "discord_user_id", "discord_guild_id"))


def _post(p, comments: tuple[StoredComment, ...] = ()) -> StoredPost:
    return StoredPost(
        id=p.id,
        scope=p.scope,
        key=p.key,
        date=p.date,
        title=p.title,
        headline=p.headline,
        source=p.source,
        author=p.author,
        body=p.body,
        truncated=p.truncated,
        labels=tuple(label for label in p.labels.split(", ") if label),
        link=p.link,
        loaded_from=p.loaded_from,
        loaded_at=p.loaded_at,
        comments=comments,
    )


def post_comments(session: Session, *, post_id: int, scope: int | None) -> list[StoredComment]:
    """A post's comments the viewer sees, in COMMENT_ORDER."""
    rows = session.execute(
        select(*_COMMENT_COLUMNS).where(Comment.post_id == post_id, visible(Comment.scope, scope)).order_by(*COMMENT_ORDER)
    )
    return [_comment(c) for c in rows]


def get_post(session: Session, *, post_id: int, scope: int | None, with_comments: bool = True) -> StoredPost | None:
    """The post, if the viewer sees it, with the comments the viewer sees."""
    post = session.execute(select(*_POST_COLUMNS).where(Post.id == post_id, visible(Post.scope, scope))).first()
    if post is None:
        return None
    return _post(post, tuple(post_comments(session, post_id=post_id, scope=scope)) if with_comments else ())


def get_posts(session: Session, *, post_ids: list[int], scope: int | None) -> dict[int, StoredPost]:
    """The posts (without comments) among `post_ids` that still exist and the viewer sees."""
    batches = (session.execute(select(*_POST_COLUMNS).where(Post.id.in_(chunk), visible(Post.scope, scope))) for chunk in chunks(post_ids))
    return {p.id: _post(p) for rows in batches for p in rows}


def existing_posts(session: Session, *, post_ids: list[int]) -> set[int]:
    """Which of these posts still exist."""
    return {i for chunk in chunks(post_ids) for i in session.execute(select(Post.id).where(Post.id.in_(chunk))).scalars()}


def post_ref(session: Session, *, post_id: int, scope: int | None) -> PostRef | None:
    row = session.execute(select(Post.id, Post.date, Post.title).where(Post.id == post_id, visible(Post.scope, scope))).first()
    return PostRef(id=row.id, date=row.date, title=row.title) if row else None


def count_posts(session: Session, *, scope: int | None = None) -> int:
    return session.execute(select(func.count()).select_from(Post).where(visible(Post.scope, scope))).scalar_one()


def list_posts(session: Session, *, scope: int | None, limit: int = 10, offset: int = 0) -> list[PostRef]:
    """Newest first (by date, then by load order), with sources and comment counts.

    The count is a correlated subquery, so it is computed for the page's posts only (grouping
    every comment of a large store for each page of /post list took seconds).
    """
    count = select(func.count()).where(Comment.post_id == Post.id, visible(Comment.scope, scope)).correlate(Post).scalar_subquery()
    rows = session.execute(
        select(Post.id, Post.date, Post.title, Post.source, count)
        .where(visible(Post.scope, scope))
        .order_by(Post.date.desc(), Post.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [PostRef(id=r[0], date=r[1], title=r[2], source=r[3], comment_count=r[4]) for r in rows]


def find_posts(session: Session, *, scope: int | None, title: str = "", limit: int = 25) -> list[PostRef]:
    """Posts the viewer sees whose title contains every word of `title` (any case), newest first; the newest for ""."""
    query = select(Post.id, Post.date, Post.title).where(visible(Post.scope, scope))
    for word in title.split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Post.title.ilike(f"%{escaped}%", escape="\\"))
    rows = session.execute(query.order_by(Post.date.desc(), Post.id.desc()).limit(limit)).all()
    return [PostRef(id=r.id, date=r.date, title=r.title) for r in rows]


def iter_posts(session: Session, *, batch: int = 500, server: int | None = None) -> Iterator[StoredPost]:
    """Every post with its comments, oldest first, a batch of rows at a time (for export).

    `server`: one server's export: its own posts, and the library's posts it has comments on,
    each with the comments that server sees (the post's own and its own, never another server's)."""
    last_id = 0
    if server is None:
        chosen, seen = [], []
    else:
        commented = select(Comment.post_id).where(Comment.discord_guild_id == server)  # indexed: its members wrote them
        chosen = [or_(Post.scope == server, (Post.scope == LIBRARY) & Post.id.in_(commented))]
        seen = [visible(Comment.scope, server)]
    while True:
        posts = session.execute(select(*_POST_COLUMNS).where(Post.id > last_id, *chosen).order_by(Post.id).limit(batch)).all()
        if not posts:
            return
        ids = [p.id for p in posts]
        by_post: dict[int, list[StoredComment]] = {i: [] for i in ids}
        comments = session.execute(
            select(*_COMMENT_COLUMNS).where(Comment.post_id.in_(ids), *seen).order_by(Comment.post_id, *COMMENT_ORDER)
        )
        for c in comments:
            by_post[c.post_id].append(_comment(c))
        for p in posts:
            yield _post(p, tuple(by_post[p.id]))
        last_id = ids[-1]


def all_post_ids(session: Session) -> list[int]:
    return list(session.execute(select(Post.id).order_by(Post.id)).scalars())


def comment_stats(session: Session, *, post_ids: list[int], scope: int | None) -> dict[int, CommentStats]:
    """How many comments each post has that the viewer sees, and who wrote the newest (the last in COMMENT_ORDER)."""
    counts: dict[int, int] = {}
    newest: dict[int, str] = {}
    for chunk in chunks(post_ids):
        rows = session.execute(
            select(Comment.post_id, Comment.author)
            .where(Comment.post_id.in_(chunk), visible(Comment.scope, scope))
            .order_by(Comment.post_id, *COMMENT_ORDER)
        )
        for post_id, author in rows:
            counts[post_id] = counts.get(post_id, 0) + 1
            newest[post_id] = author
    return {post_id: CommentStats(count=n, newest_author=newest[post_id]) for post_id, n in counts.items()}


# --------------------------------------------------------------------------- time windows (digests)


def posts_loaded_between(session: Session, *, since: dt.datetime, until: dt.datetime, scope: int | None) -> list[int]:
    """Ids of the posts the viewer sees that were loaded in (since, until], newest first."""
    return list(
        session.execute(
            select(Post.id)
            .where(Post.loaded_at > since, Post.loaded_at <= until, visible(Post.scope, scope))
            .order_by(Post.date.desc(), Post.id.desc())
        ).scalars()
    )


def posts_titled(session: Session, *, scope: int | None, title: str, limit: int = 25) -> list[PostRef]:
    """Posts the viewer sees titled exactly `title` (any case, spacing aside), newest first."""
    wanted = " ".join(title.split())
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = session.execute(
        select(Post.id, Post.date, Post.title)
        .where(visible(Post.scope, scope), Post.title.ilike(escaped, escape="\\"))
        .order_by(Post.date.desc(), Post.id.desc())
        .limit(limit)
    ).all()
    return [PostRef(id=r.id, date=r.date, title=r.title) for r in rows if " ".join(r.title.split()).casefold() == wanted.casefold()]


def hit_details(session: Session, *, post_ids: list[int], comment_ids: list[int]) -> tuple[dict[int, str | None], dict[int, dt.datetime | None]]:
    """What search hits link to and when: each post's own address, each comment's time."""
    links: dict[int, str | None] = {}
    times: dict[int, dt.datetime | None] = {}
    for chunk in chunks(post_ids):
        links.update((r.id, r.link) for r in session.execute(select(Post.id, Post.link).where(Post.id.in_(chunk))).all())
    for chunk in chunks(comment_ids):
        times.update((r.id, r.posted_at) for r in session.execute(select(Comment.id, Comment.posted_at).where(Comment.id.in_(chunk))).all())
    return links, times
