"""Watched RSS/Atom feeds: add/list/remove, which feeds are due, poll, load, back off, pause.

Shared by the `/feed` cog and `postbot feed`. Fetching goes through `bot.net` (the address
guard, size and time limits, one checked hop at a time); storing goes through the one loading
path, so a feed entry is stored exactly like a feed file loaded by hand. Every failure of one
feed - HTTP error, timeout, oversized or non-feed body, even a bug - is recorded on that feed
and never stops the others.

Bookkeeping: a success polls again after the feed's interval; a failure backs off
exponentially (interval * 2**failures, capped) and a feed that has failed for a day is paused
until it is added again. The first successful poll primes the feed: its entries are stored but
not announced, so adding a feed never floods a channel with its backlog.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from urllib.parse import urlsplit

import aiohttp

from bot import net
from bot.addresses import AddressPolicy
from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.feeds import looks_like_feed
from bot.services.loading import Source, load
from bot.services.posts import cards
from bot.services.views import FeedRecord, LoadStatus, PollResult
from bot.store import feeds

log = logging.getLogger(__name__)

MAX_BACKOFF = dt.timedelta(hours=6)
PAUSE_AFTER = dt.timedelta(days=1)
MAX_FEEDS_PER_GUILD = 25
MAX_URL_LENGTH = 2000
CONCURRENCY = 4
STATUS_NOT_MODIFIED = "not modified"
STATUS_FAILED = "failed"


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserFacingError(f"`{url[:200]}` is not a feed address; give an http:// or https:// URL.")
    if len(url) > MAX_URL_LENGTH:
        raise UserFacingError(f"That URL is longer than {MAX_URL_LENGTH} characters.")
    return url


# --------------------------------------------------------------------------- watching


def add_feed(
    db: Database, *, url: str, guild_id: int | None, channel_id: int | None, interval_minutes: int, now: dt.datetime
) -> tuple[FeedRecord, bool]:
    """Watch a feed, due at once. Adding a watched URL again updates it and resumes it if paused.

    Returns (feed, created).
    """
    url = check_url(url)
    with db.session() as session:
        existing = feeds.watched_url(session, guild_id=guild_id, url=url)
        schedule = {"channel_id": channel_id, "interval_minutes": interval_minutes, "next_poll_at": now}
        if existing is not None:
            resume = {"paused": False, "failures": 0, "failing_since": None} if existing.paused else {}
            return feeds.update_feed(session, feed_id=existing.id, **schedule, **resume), False
        if guild_id is not None and feeds.count_feeds(session, guild_id=guild_id) >= MAX_FEEDS_PER_GUILD:
            raise UserFacingError(f"This server already watches {MAX_FEEDS_PER_GUILD} feeds; remove one first.")
        return feeds.add_feed(session, guild_id=guild_id, url=url, now=now, **schedule), True


def list_feeds(db: Database, *, guild_id: int | None = None) -> list[FeedRecord]:
    """A server's feeds (or, with no guild, every feed) in the order they were added."""
    with db.session() as session:
        return feeds.feeds(session, guild_id=guild_id)


def get_feed(db: Database, *, guild_id: int | None, ref: str) -> FeedRecord:
    """A feed by id or URL (within the server when given), or a UserFacingError."""
    with db.session() as session:
        found = feeds.find_feed(session, guild_id=guild_id, ref=ref)
    if found is None:
        raise UserFacingError(f"No watched feed `{ref[:200]}` here; see `/feed list`.")
    return found


def remove_feed(db: Database, *, guild_id: int | None, ref: str) -> FeedRecord:
    """Stop watching a feed; the posts it loaded stay in the store."""
    with db.session() as session:
        found = feeds.find_feed(session, guild_id=guild_id, ref=ref)
        if found is None:
            raise UserFacingError(f"No watched feed `{ref[:200]}` here; see `/feed list`.")
        feeds.delete_feed(session, feed_id=found.id)
        return found


def due_feeds(db: Database, *, now: dt.datetime) -> list[FeedRecord]:
    with db.session() as session:
        return feeds.due_feeds(session, now=now)


# --------------------------------------------------------------------------- bookkeeping


def backoff(interval_minutes: int, failures: int) -> dt.timedelta:
    """interval * 2**failures, capped at MAX_BACKOFF (or the interval itself when that is longer)."""
    interval = dt.timedelta(minutes=interval_minutes)
    return min(interval * 2 ** min(failures, 16), max(MAX_BACKOFF, interval))


def _not_a_feed(data: bytes) -> str:
    head = data[:1024].lstrip().lower()
    if not head:
        return "the response is empty"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "not a feed: the server sent an HTML page, not RSS/Atom XML"
    return "not a feed: no RSS/Atom document in the response"


def record_failure(db: Database, *, feed_id: int, reason: str, now: dt.datetime) -> PollResult:
    """Count a failure, back off, and pause the feed once it has failed for PAUSE_AFTER."""
    with db.session() as session:
        feed = feeds.get_feed(session, feed_id=feed_id)
        if feed is None:
            return PollResult(feed=None, ok=False)
        failing_since = feed.failing_since or now
        paused_now = now - failing_since >= PAUSE_AFTER
        next_poll = None if paused_now else now + backoff(feed.interval_minutes, feed.failures + 1)
        updated = feeds.update_feed(
            session, feed_id=feed_id, failures=feed.failures + 1, failing_since=failing_since, last_polled_at=now,
            last_status=STATUS_FAILED, last_error=reason, paused=feed.paused or paused_now, next_poll_at=next_poll,
        )
    return PollResult(feed=updated, ok=False, paused_now=paused_now)


def record_fetch(db: Database, *, feed_id: int, fetched: net.Fetched, now: dt.datetime) -> PollResult:
    """Store what a fetch returned and move the feed's schedule on; a body that is no feed is a failure."""
    with db.session() as session:
        feed = feeds.get_feed(session, feed_id=feed_id)
    if feed is None:
        return PollResult(feed=None, ok=False)
    new_ids: list[int] = []
    status = STATUS_NOT_MODIFIED
    if not fetched.not_modified:
        if not looks_like_feed(fetched.data):
            return record_failure(db, feed_id=feed_id, reason=_not_a_feed(fetched.data), now=now)
        [result] = load(db, sources=[Source(feed.url, data=fetched.data)], now=now).results
        if result.failed:
            return record_failure(db, feed_id=feed_id, reason=result.located(""), now=now)
        counts = ", ".join(f"{result.count(s)} {label}" for s, label in _COUNTED)
        status = f"ok: {counts}" if result.posts else "ok: the feed has no entries"
        new_ids = result.new_post_ids
    with db.session() as session:
        updated = feeds.update_feed(
            session, feed_id=feed_id, etag=fetched.etag, last_modified=fetched.last_modified, last_polled_at=now,
            next_poll_at=now + dt.timedelta(minutes=feed.interval_minutes), last_status=status, last_error=None,
            failures=0, failing_since=None, primed=True,
        )
        announced = cards(session, post_ids=new_ids) if feed.primed and updated is not None else []
    return PollResult(feed=updated, ok=True, new_posts=announced)


_COUNTED = ((LoadStatus.LOADED, "new"), (LoadStatus.UPDATED, "updated"), (LoadStatus.UNCHANGED, "unchanged"))


# --------------------------------------------------------------------------- polling


async def poll_feed(
    db: Database, http: aiohttp.ClientSession, policy: AddressPolicy, feed: FeedRecord, *, now: dt.datetime,
    timeout: float = net.FETCH_TIMEOUT, max_bytes: int = net.MAX_BYTES,
) -> PollResult:
    """Fetch, load and book-keep one feed; whatever goes wrong is recorded on the feed, not raised."""
    try:
        try:
            fetched = await net.fetch(
                http, policy, feed.url, etag=feed.etag, last_modified=feed.last_modified, timeout=timeout, max_bytes=max_bytes
            )
        except net.FetchError as exc:
            log.info("feed %s (%s) failed: %s", feed.id, feed.url, exc)
            return await db.call(record_failure, feed_id=feed.id, reason=str(exc), now=now)
        return await db.call(record_fetch, feed_id=feed.id, fetched=fetched, now=now)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug or a database error: this feed fails, the others go on
        log.exception("polling feed %s (%s) failed", feed.id, feed.url)
        try:
            return await db.call(record_failure, feed_id=feed.id, reason=f"internal error: {exc.__class__.__name__}", now=now)
        except Exception:
            log.exception("could not record the failure of feed %s", feed.id)
            return PollResult(feed=feed, ok=False)


async def poll_feeds(
    db: Database, http: aiohttp.ClientSession, policy: AddressPolicy, due: list[FeedRecord], *, now: dt.datetime,
    timeout: float = net.FETCH_TIMEOUT, max_bytes: int = net.MAX_BYTES, concurrency: int = CONCURRENCY,
) -> list[PollResult]:
    """Poll feeds concurrently, at most `concurrency` at a time; results in the order given."""
    limit = asyncio.Semaphore(concurrency)

    async def one(feed: FeedRecord) -> PollResult:
        async with limit:
            return await poll_feed(db, http, policy, feed, now=now, timeout=timeout, max_bytes=max_bytes)

    return list(await asyncio.gather(*(one(feed) for feed in due)))
