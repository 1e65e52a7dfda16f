"""Browsing and uploading posts: /post show, /post list and /load (the CLI has `load` and `posts`).

Decisions where the issue leaves room:
- /post list pages are fetched one at a time (`post_page`), so a store of 100k posts never loads
  at once; the page count comes from one COUNT over the post table.
- An upload is a feed when it looks like one (as `postbot load` decides), else a post file; a text
  that is neither a post nor a feed but parses as a full treaty text is loaded as a treaty, named
  by the `name` given or else its title line. Anything else is rejected with the post parser's
  reason (and the treaty parser's, since either might have been meant).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.posts import PostParseError, decode_post_bytes
from bot.ingest.treaties import TreatyParseError, parse_treaty
from bot.models import Comment, PostThread, Quote, Treaty
from bot.services.articles import load_treaty, number_ranges
from bot.services.load import SourceResult, load_source
from bot.store import PostSummary, count_posts, get_post, list_posts
from bot.summarize import summarize

log = logging.getLogger(__name__)

PAGE_SIZE = 10
SUMMARY_LIMIT = 1000
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
POST, FEED, TREATY = "post", "feed", "treaty"

@dataclass(frozen=True)
class PostDetails:
    id: int
    title: str
    date: dt.date
    source: str | None
    headline: str | None
    link: str | None
    summary: str
    articles: list[str]  # "North Atlantic Treaty: Articles 4, 5"
    comment_count: int
    thread_url: str | None  # its discussion thread in the asking server


@dataclass(frozen=True)
class UploadResult:
    """What /load did with one upload: `kind` post, feed or treaty (None: not recognised)."""

    kind: str | None
    counts: dict[str, int] = field(default_factory=dict)  # loaded/updated/unchanged (posts)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    treaty: str | None = None  # the treaty's name in the store
    articles: int = 0
    replaced: int = 0


def _summary(body: str) -> str:
    body = body.strip()
    if not body:
        return ""
    text = summarize(body)
    if len(text) > SUMMARY_LIMIT:
        text = text[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return text


def _quoted_articles(session: Session, post_id: int) -> list[str]:
    """The articles a post (or its comments) cites, grouped by treaty: "Treaty: Articles 3, 4"."""
    rows = session.execute(
        select(Treaty.name, Quote.number).join(Treaty, Treaty.id == Quote.treaty_id).where(Quote.post_id == post_id).distinct()
    ).all()
    by_treaty: dict[str, list[int]] = {}
    for name, number in rows:
        by_treaty.setdefault(name, []).append(number)
    lines = []
    for name, numbers in sorted(by_treaty.items()):
        noun = "Article" if len(set(numbers)) == 1 else "Articles"
        lines.append(f"{name}: {noun} {number_ranges(numbers)}")
    return lines


def post_details(db: Database, *, post_id: int, guild_id: int | None) -> PostDetails:
    """Everything /post show tells (summarising is CPU work: call via `db.run`)."""
    with db.session() as session:
        post = get_post(session, post_id=post_id, with_comments=False)
        if post is None:
            raise UserFacingError("That post no longer exists.")
        count = session.execute(select(func.count()).select_from(Comment).where(Comment.post_id == post_id)).scalar_one()
        articles = _quoted_articles(session, post_id)
        thread = None
        if guild_id is not None:
            thread = session.execute(
                select(PostThread.thread_id).where(PostThread.post_id == post_id, PostThread.guild_id == guild_id)
            ).scalar()
    return PostDetails(
        id=post.id,
        title=post.title,
        date=post.date,
        source=post.source,
        headline=post.headline,
        link=post.link,
        summary=_summary(post.body),
        articles=articles,
        comment_count=count,
        thread_url=f"https://discord.com/channels/{guild_id}/{thread}" if thread else None,
    )


def page_count(db: Database, *, page_size: int = PAGE_SIZE) -> int:
    with db.session() as session:
        return -(-count_posts(session) // page_size)


def post_page(db: Database, *, page: int, page_size: int = PAGE_SIZE) -> list[PostSummary]:
    """Page `page` (0-based) of the posts, newest first."""
    with db.session() as session:
        return list_posts(session, limit=page_size, offset=page * page_size)


def _treaty_text(data: bytes) -> str | None:
    """The text, if it parses as a full treaty text."""
    try:
        text, _warning = decode_post_bytes(data)
        parse_treaty(text)
    except (PostParseError, TreatyParseError):
        return None
    return text


def load_upload(db: Database, *, filename: str, data: bytes, name: str | None = None) -> UploadResult:
    """Load an uploaded post file, feed or treaty text with the same services as the CLI."""
    if len(data) > MAX_UPLOAD_BYTES:
        return UploadResult(kind=None, error=f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; not a post, feed or treaty file")
    result: SourceResult = load_source(db, f"upload:{filename}", data=data)
    if not result.failed or result.kind == FEED:
        return UploadResult(kind=result.kind, counts=dict(result.counts), error=result.error, warnings=list(result.warnings))
    text = _treaty_text(data)
    if text is None:
        where = f"line {result.line}: " if result.line else ""
        return UploadResult(kind=None, error=f"not a post file ({where}{result.error}), a feed or a treaty text")
    title = " ".join(parse_treaty(text).title.split())
    loaded = load_treaty(db, path_or_text=text, name=(name or "").strip() or title)
    return UploadResult(kind=TREATY, treaty=loaded.name, articles=len(loaded.articles), replaced=loaded.replaced, counts={})
