"""Store functions for posts and comments: keyword-only verbs over a Session, plain values out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session

from bot.ingest.posts import ParsedComment, ParsedPost
from bot.models import ORIGIN_DISCORD, ORIGIN_POST, Comment, Post

LOADED, UPDATED, UNCHANGED = "loaded", "updated", "unchanged"


@dataclass(frozen=True)
class CommentView:
    id: int
    post_id: int
    position: int
    author: str
    text: str
    posted_at: dt.datetime | None
    origin: str
    discord_message_id: int | None = None
    discord_user_id: int | None = None
    discord_guild_id: int | None = None


@dataclass(frozen=True)
class PostView:
    id: int
    key: str
    date: dt.date
    title: str
    headline: str | None
    source: str | None
    author: str | None
    body: str
    truncated: bool
    labels: list[str]
    link: str | None
    origin: str
    loaded_at: dt.datetime
    comments: list[CommentView] = field(default_factory=list)


@dataclass(frozen=True)
class PostSummary:
    id: int
    date: dt.date
    title: str
    source: str | None
    comment_count: int
    loaded_at: dt.datetime


def slugify(text: str, *, max_length: int = 80) -> str:
    """ASCII, lowercase, dash-separated: "What Putin’s meeting" -> "what-putins-meeting"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['’]", "", ascii_text.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:max_length].rstrip("-") or "post"


def post_key(parsed: ParsedPost) -> str:
    """A post's identity across edits: its feed entry id, else its date and title."""
    if parsed.entry_id:
        return f"entry:{parsed.entry_id}"
    return f"post:{parsed.date.isoformat()}:{slugify(parsed.title, max_length=200)}"


def content_hash(parsed: ParsedPost) -> str:
    """Hash of what the post file layout carries, so an export re-loads as unchanged."""
    payload = [
        parsed.date.isoformat(),
        parsed.title,
        parsed.headline,
        parsed.source,
        parsed.author,
        parsed.body,
        parsed.truncated,
        list(parsed.labels),
        [[c.author, c.text, c.posted_at.isoformat() if c.posted_at else None] for c in parsed.comments],
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def post_values(parsed: ParsedPost, *, origin: str, digest: str, now: dt.datetime) -> dict:
    """A post's column values (the bench's bulk builder uses them too)."""
    return {
        "date": parsed.date,
        "title": parsed.title,
        "headline": parsed.headline,
        "source": parsed.source,
        "author": parsed.author,
        "body": parsed.body,
        "truncated": parsed.truncated,
        "labels": ", ".join(parsed.labels),
        "link": parsed.link,
        "origin": origin,
        "content_hash": digest,
        "updated_at": now,
    }


def comment_rows(post_id: int, comments: list[ParsedComment], now: dt.datetime) -> list[dict]:
    """Insert rows of a post's own comments, in order."""
    return [
        {
            "post_id": post_id,
            "position": index,
            "author": c.author,
            "text": c.text,
            "posted_at": c.posted_at,
            "origin": ORIGIN_POST,
            "created_at": now,
        }
        for index, c in enumerate(comments)
    ]


# Built once: constructing and cache-keying a statement per post cost more than running it.
_INSERT_POST = insert(Post.__table__).returning(Post.__table__.c.id)
_INSERT_COMMENT = insert(Comment.__table__)


def upsert_post(session: Session, *, parsed: ParsedPost, origin: str, now: dt.datetime) -> tuple[str, int]:
    """Insert a new post, update an edited one in place, or leave an identical one alone.

    Returns (status, post id). An update replaces the post's own comments and keeps the ones
    collected from Discord.
    """
    key = post_key(parsed)
    # Core statements on the session's connection: same transaction, without the ORM's
    # per-statement overhead, which dominated `postbot load` (bench/README.md).
    connection = session.connection()
    row = connection.execute(select(Post.id, Post.content_hash).where(Post.key == key)).first()
    if row is not None:
        parsed = _without_discord_comments(session, parsed, post_id=row.id)
    digest = content_hash(parsed)
    if row is None:
        same = connection.execute(select(Post.id).where(Post.content_hash == digest).limit(1)).scalar()
        if same is not None:
            return UNCHANGED, same
        values = post_values(parsed, origin=origin, digest=digest, now=now)
        post_id = connection.execute(_INSERT_POST, {"key": key, "loaded_at": now, **values}).scalar_one()
        status = LOADED
    elif row.content_hash == digest:
        return UNCHANGED, row.id
    else:
        post_id = row.id
        connection.execute(update(Post).where(Post.id == post_id).values(**post_values(parsed, origin=origin, digest=digest, now=now)))
        connection.execute(delete(Comment).where(Comment.post_id == post_id, Comment.origin == ORIGIN_POST))
        status = UPDATED
    if parsed.comments:
        connection.execute(_INSERT_COMMENT, comment_rows(post_id, parsed.comments, now))
    return status, post_id


def _without_discord_comments(session: Session, parsed: ParsedPost, *, post_id: int) -> ParsedPost:
    """Drop comments that are exports of the post's Discord comments, so re-loading an export doubles nothing."""
    collected = {
        tuple(row)
        for row in session.execute(
            select(Comment.author, Comment.text, Comment.posted_at).where(
                Comment.post_id == post_id, Comment.origin == ORIGIN_DISCORD
            )
        )
    }
    if not collected:
        return parsed
    own = [c for c in parsed.comments if (c.author, c.text, c.posted_at) not in collected]
    return dataclasses.replace(parsed, comments=own) if len(own) != len(parsed.comments) else parsed


def _comment_view(c: Comment) -> CommentView:
    return CommentView(
        id=c.id,
        post_id=c.post_id,
        position=c.position,
        author=c.author,
        text=c.text,
        posted_at=c.posted_at,
        origin=c.origin,
        discord_message_id=c.discord_message_id,
        discord_user_id=c.discord_user_id,
        discord_guild_id=c.discord_guild_id,
    )


def post_comments(session: Session, *, post_id: int) -> list[CommentView]:
    """Original comments in file order, then Discord comments in the order they were written."""
    rows = session.exec(
        select(Comment)
        .where(Comment.post_id == post_id)
        .order_by((Comment.origin == ORIGIN_DISCORD), Comment.position, Comment.posted_at, Comment.id)
    ).scalars()
    return [_comment_view(c) for c in rows]


def _post_view(p: Post, comments: list[CommentView]) -> PostView:
    return PostView(
        id=p.id,
        key=p.key,
        date=p.date,
        title=p.title,
        headline=p.headline,
        source=p.source,
        author=p.author,
        body=p.body,
        truncated=p.truncated,
        labels=[label for label in p.labels.split(", ") if label],
        link=p.link,
        origin=p.origin,
        loaded_at=p.loaded_at,
        comments=comments,
    )


def get_post(session: Session, *, post_id: int, with_comments: bool = True) -> PostView | None:
    post = session.get(Post, post_id)
    if post is None:
        return None
    return _post_view(post, post_comments(session, post_id=post_id) if with_comments else [])


def count_posts(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Post)).scalar_one()


def list_posts(session: Session, *, limit: int = 10, offset: int = 0) -> list[PostSummary]:
    """Newest first (by date, then by load order), with comment counts.

    The count is a correlated subquery, so it is computed for the page's posts only (grouping
    every comment of a large store for each page of /post list took seconds).
    """
    count = select(func.count()).where(Comment.post_id == Post.id).correlate(Post).scalar_subquery()
    rows = session.execute(
        select(Post.id, Post.date, Post.title, Post.source, Post.loaded_at, count)
        .order_by(Post.date.desc(), Post.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [PostSummary(id=r[0], date=r[1], title=r[2], source=r[3], loaded_at=r[4], comment_count=r[5]) for r in rows]


@dataclass(frozen=True)
class PostTitle:
    """Just enough of a post to offer it in a picker (autocomplete, select)."""

    id: int
    date: dt.date
    title: str

    def label(self, limit: int = 100) -> str:
        """A `Title (2024-06-23)` label within `limit` chars: the title is cut, the date always shows."""
        suffix = f" ({self.date.isoformat()})"
        title = " ".join(self.title.split())
        if len(title) + len(suffix) > limit:
            title = title[: limit - len(suffix) - 1].rstrip() + "…"
        return title + suffix


def search_post_titles(session: Session, *, current: str = "", limit: int = 25) -> list[PostTitle]:
    """Posts whose title contains `current` (any case), newest first; the newest posts for "".

    Shared by every `post` option's autocomplete and the "which post?" select.
    """
    query = select(Post.id, Post.date, Post.title)
    words = current.split()
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Post.title.ilike(f"%{escaped}%", escape="\\"))
    rows = session.execute(query.order_by(Post.date.desc(), Post.id.desc()).limit(limit)).all()
    return [PostTitle(id=r[0], date=r[1], title=r[2]) for r in rows]


def iter_posts(session: Session, *, batch: int = 500):
    """Every post with its comments, oldest first, a batch of rows at a time (for export)."""
    last_id = 0
    while True:
        posts = session.exec(select(Post).where(Post.id > last_id).order_by(Post.id).limit(batch)).scalars().all()
        if not posts:
            return
        ids = [p.id for p in posts]
        by_post: dict[int, list[CommentView]] = {i: [] for i in ids}
        comments = session.exec(
            select(Comment)
            .where(Comment.post_id.in_(ids))
            .order_by(Comment.post_id, (Comment.origin == ORIGIN_DISCORD), Comment.position, Comment.posted_at, Comment.id)
        ).scalars()
        for c in comments:
            by_post[c.post_id].append(_comment_view(c))
        for p in posts:
            yield _post_view(p, by_post[p.id])
        last_id = ids[-1]


def as_parsed(post: PostView) -> ParsedPost:
    """A stored post back in parser form, for export; Discord comments follow the original ones."""
    return ParsedPost(
        date=post.date,
        title=post.title,
        headline=post.headline,
        source=post.source,
        body=post.body,
        truncated=post.truncated,
        comments=[ParsedComment(author=c.author, text=c.text, posted_at=c.posted_at, position=i) for i, c in enumerate(post.comments)],
        author=post.author,
        labels=list(post.labels),
        link=post.link,
        declared_comments=len(post.comments),
    )
