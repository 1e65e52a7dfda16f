"""Watched feeds: what each server (or the CLI, guild None) watches, and each feed's poll state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from bot.models import Feed


@dataclass(frozen=True)
class FeedRecord:
    id: int
    guild_id: int | None  # None: added from the CLI
    url: str
    channel_id: int | None
    interval_minutes: int
    etag: str | None
    last_modified: str | None
    last_polled_at: dt.datetime | None
    next_poll_at: dt.datetime | None
    last_status: str | None
    last_error: str | None
    failures: int
    failing_since: dt.datetime | None
    paused: bool
    primed: bool  # first poll done: later entries are announced
    created_at: dt.datetime


def _record(feed: Feed) -> FeedRecord:
    return FeedRecord(**{name: getattr(feed, name) for name in FeedRecord.__dataclass_fields__})


def get_feed(session: Session, *, feed_id: int) -> FeedRecord | None:
    feed = session.get(Feed, feed_id)
    return _record(feed) if feed else None


def find_feed(session: Session, *, guild_id: int | None, ref: str) -> FeedRecord | None:
    """A feed by id or URL, within the server when `guild_id` is given."""
    ref = ref.strip()
    query = select(Feed)
    if guild_id is not None:
        query = query.where(Feed.guild_id == guild_id)
    query = query.where(Feed.id == int(ref)) if ref.isdigit() else query.where(Feed.url == ref)
    feed = session.execute(query.order_by(Feed.id)).scalars().first()
    return _record(feed) if feed else None


def watched_url(session: Session, *, guild_id: int | None, url: str) -> FeedRecord | None:
    """This server's (or the CLI's, for None) feed of exactly this URL."""
    query = select(Feed).where(Feed.url == url)
    query = query.where(Feed.guild_id.is_(None)) if guild_id is None else query.where(Feed.guild_id == guild_id)
    feed = session.execute(query).scalars().first()
    return _record(feed) if feed else None


def count_feeds(session: Session, *, guild_id: int | None) -> int:
    query = select(func.count()).select_from(Feed)
    query = query.where(Feed.guild_id.is_(None)) if guild_id is None else query.where(Feed.guild_id == guild_id)
    return session.execute(query).scalar_one()


def add_feed(session: Session, *, guild_id: int | None, url: str, now: dt.datetime, **values) -> FeedRecord:
    feed = Feed(guild_id=guild_id, url=url, created_at=now, **values)
    session.add(feed)
    session.flush()
    return _record(feed)


def update_feed(session: Session, *, feed_id: int, **values) -> FeedRecord | None:
    """Change a feed's columns; None when it was removed meanwhile."""
    if session.execute(update(Feed).where(Feed.id == feed_id).values(**values)).rowcount == 0:
        return None
    return get_feed(session, feed_id=feed_id)


def delete_feed(session: Session, *, feed_id: int) -> None:
    session.execute(delete(Feed).where(Feed.id == feed_id))


def feeds(session: Session, *, guild_id: int | None = None) -> list[FeedRecord]:
    """A server's feeds (every feed when None) in the order they were added."""
    query = select(Feed).order_by(Feed.id)
    if guild_id is not None:
        query = query.where(Feed.guild_id == guild_id)
    return [_record(f) for f in session.execute(query).scalars()]


def due_feeds(session: Session, *, now: dt.datetime) -> list[FeedRecord]:
    """Feeds to poll now: not paused, and never polled or past their next poll time."""
    query = (
        select(Feed)
        .where(Feed.paused.is_(False), (Feed.next_poll_at.is_(None)) | (Feed.next_poll_at <= now))
        .order_by(Feed.next_poll_at, Feed.id)
    )
    return [_record(f) for f in session.execute(query).scalars()]
