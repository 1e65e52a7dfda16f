"""Watched RSS/Atom feeds: add/list/remove, which feeds are due, fetch, load, back off, pause.

Discord-free, shared by the `/feed` cog and `postbot feed`. Fetching is async (aiohttp, on the
event loop) with a size and a time limit on every request; parsing and storing go through
`Database.run` and reuse the loader (`parse_source`, `store_posts`), so a feed entry is stored
exactly like a feed file loaded by hand. Every failure of one feed - HTTP error, timeout,
oversized or non-feed body, even a bug - is recorded on that feed and never stops the others.

Bookkeeping: a success polls again after the feed's interval; a failure backs off
exponentially (interval * 2**failures, capped) and a feed that has failed for a day is paused
until it is added again. The first successful poll primes the feed: its entries are stored but
not announced, so adding a feed never floods a channel with its backlog.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import func, select

from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.feeds import looks_like_feed
from bot.models import Feed, Post
from bot.services.load import LoadError, SourceResult, parse_source, store_posts
from bot.store import LOADED, UNCHANGED, UPDATED, get_post

try:  # written alongside; without it a card shows the opening of the body
    from bot.summarize import summarize
except ImportError:  # pragma: no cover
    summarize = None

log = logging.getLogger(__name__)

MAX_FEED_BYTES = 10 * 1024 * 1024
FETCH_TIMEOUT = 30.0  # seconds for the whole request, body included
MAX_BACKOFF = dt.timedelta(hours=6)
PAUSE_AFTER = dt.timedelta(days=1)
MAX_FEEDS_PER_GUILD = 25
MAX_URL_LENGTH = 2000
SUMMARY_LIMIT = 600
CONCURRENCY = 4
USER_AGENT = "postbot (+feed watcher)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"

STATUS_NOT_MODIFIED = "not modified"
STATUS_FAILED = "failed"


@dataclass(frozen=True)
class FeedView:
    id: int
    guild_id: int | None
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
    primed: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class PostCard:
    """What an announcement shows of a newly loaded post."""

    post_id: int
    title: str
    date: dt.date
    source: str | None
    link: str | None
    summary: str


@dataclass(frozen=True)
class Fetched:
    not_modified: bool
    data: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class PollResult:
    """One poll of one feed. `feed` is None when the feed was removed while it was polled."""

    feed: FeedView | None
    ok: bool
    new_posts: list[PostCard] = field(default_factory=list)
    paused_now: bool = False  # this poll paused the feed: tell its server


class FeedFetchError(Exception):
    """A fetch or parse failure; the message is the reason shown in `/feed status`."""


def _view(feed: Feed) -> FeedView:
    return FeedView(
        id=feed.id,
        guild_id=feed.guild_id,
        url=feed.url,
        channel_id=feed.channel_id,
        interval_minutes=feed.interval_minutes,
        etag=feed.etag,
        last_modified=feed.last_modified,
        last_polled_at=feed.last_polled_at,
        next_poll_at=feed.next_poll_at,
        last_status=feed.last_status,
        last_error=feed.last_error,
        failures=feed.failures,
        failing_since=feed.failing_since,
        paused=feed.paused,
        primed=feed.primed,
        created_at=feed.created_at,
    )


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserFacingError(f"`{url[:200]}` is not a feed address; give an http:// or https:// URL.")
    if len(url) > MAX_URL_LENGTH:
        raise UserFacingError(f"That URL is longer than {MAX_URL_LENGTH} characters.")
    return url


# --- CRUD ---------------------------------------------------------------------------------


def add_feed(
    db: Database, *, url: str, guild_id: int | None, channel_id: int | None, interval_minutes: int, now: dt.datetime
) -> tuple[FeedView, bool]:
    """Watch a feed, due at once. Adding a watched URL again updates it and resumes it if paused.

    Returns (feed, created).
    """
    url = check_url(url)
    with db.session() as session:
        feed = session.execute(select(Feed).where(Feed.guild_id == guild_id, Feed.url == url)).scalars().first()
        created = feed is None
        if created:
            count = session.execute(select(func.count()).select_from(Feed).where(Feed.guild_id == guild_id)).scalar_one()
            if guild_id is not None and count >= MAX_FEEDS_PER_GUILD:
                raise UserFacingError(f"This server already watches {MAX_FEEDS_PER_GUILD} feeds; remove one first.")
            feed = Feed(guild_id=guild_id, url=url, created_at=now)
            session.add(feed)
        elif feed.paused:
            feed.paused, feed.failures, feed.failing_since = False, 0, None
        feed.channel_id = channel_id
        feed.interval_minutes = interval_minutes
        feed.next_poll_at = now
        session.flush()
        return _view(feed), created


def list_feeds(db: Database, *, guild_id: int | None = None) -> list[FeedView]:
    """A server's feeds (or, with no guild, every feed) in the order they were added."""
    query = select(Feed).order_by(Feed.id)
    if guild_id is not None:
        query = query.where(Feed.guild_id == guild_id)
    with db.session() as session:
        return [_view(f) for f in session.execute(query).scalars()]


def _find(session, *, guild_id: int | None, ref: str) -> Feed | None:
    ref = ref.strip()
    query = select(Feed)
    if guild_id is not None:
        query = query.where(Feed.guild_id == guild_id)
    if ref.isdigit():
        query = query.where(Feed.id == int(ref))
    else:
        query = query.where(Feed.url == ref)
    return session.execute(query.order_by(Feed.id)).scalars().first()


def get_feed(db: Database, *, guild_id: int | None, ref: str) -> FeedView:
    """A feed by id or URL (within the server when given), or a UserFacingError."""
    with db.session() as session:
        feed = _find(session, guild_id=guild_id, ref=ref)
        if feed is None:
            raise UserFacingError(f"No watched feed `{ref[:200]}` here; see `/feed list`.")
        return _view(feed)


def remove_feed(db: Database, *, guild_id: int | None, ref: str) -> FeedView:
    """Stop watching a feed; the posts it loaded stay in the store."""
    with db.session() as session:
        feed = _find(session, guild_id=guild_id, ref=ref)
        if feed is None:
            raise UserFacingError(f"No watched feed `{ref[:200]}` here; see `/feed list`.")
        view = _view(feed)
        session.delete(feed)
        return view


def due_feeds(db: Database, *, now: dt.datetime) -> list[FeedView]:
    """Feeds to poll now: not paused, and never polled or past their next poll time."""
    query = (
        select(Feed)
        .where(Feed.paused.is_(False), (Feed.next_poll_at.is_(None)) | (Feed.next_poll_at <= now))
        .order_by(Feed.next_poll_at, Feed.id)
    )
    with db.session() as session:
        return [_view(f) for f in session.execute(query).scalars()]


# --- fetching -----------------------------------------------------------------------------


PRIVATE_REFUSED = "is a private network address; postbot only fetches public feeds"


def _is_public(host: str) -> bool:
    return ipaddress.ip_address(host.split("%", 1)[0]).is_global


class PublicOnlyResolver(aiohttp.ThreadedResolver):
    """Refuses hosts that resolve to loopback, private or link-local addresses (no SSRF via /feed add)."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        infos = await super().resolve(host, port, family)
        if not all(_is_public(info["host"]) for info in infos):
            raise OSError(errno.EACCES, f"{host} {PRIVATE_REFUSED}")
        return infos


async def _refuse_private_literal(_session, _context, params) -> None:
    """IP-literal URLs (also after a redirect) skip the resolver, so they are checked here."""
    host = params.url.host or ""
    try:
        public = _is_public(host.strip("[]"))
    except ValueError:
        return  # a name: the resolver checks it
    if not public:
        raise aiohttp.InvalidURL(params.url, f"{host} {PRIVATE_REFUSED}")


def new_http_session(*, public_only: bool = False) -> aiohttp.ClientSession:
    """The feed fetcher's session; the bot uses `public_only` so members cannot probe internal hosts."""
    if not public_only:
        return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT, "Accept": ACCEPT})
    guard = aiohttp.TraceConfig()
    guard.on_request_start.append(_refuse_private_literal)
    guard.on_request_redirect.append(_refuse_private_literal)
    return aiohttp.ClientSession(
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        connector=aiohttp.TCPConnector(resolver=PublicOnlyResolver()),
        trace_configs=[guard],
    )


async def fetch_feed(
    http: aiohttp.ClientSession,
    *,
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
) -> Fetched:
    """GET with If-None-Match / If-Modified-Since; streams the body and stops past `max_bytes`."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    limit = f"{max_bytes / (1024 * 1024):g} MB"
    try:
        async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status == 304:
                return Fetched(not_modified=True, etag=etag, last_modified=last_modified)
            if response.status >= 400:
                raise FeedFetchError(f"HTTP {response.status} {response.reason or ''}".rstrip())
            if response.content_length is not None and response.content_length > max_bytes:
                raise FeedFetchError(f"the response is larger than {limit}")
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise FeedFetchError(f"the response is larger than {limit}; stopped reading")
                chunks.append(chunk)
            return Fetched(
                not_modified=False,
                data=b"".join(chunks),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except TimeoutError:
        raise FeedFetchError(f"timed out after {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise FeedFetchError(f"could not fetch: {exc.__class__.__name__}: {exc}".rstrip(": ")) from None


def _not_a_feed(data: bytes) -> str:
    head = data[:1024].lstrip().lower()
    if not head:
        return "the response is empty"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "not a feed: the server sent an HTML page, not RSS/Atom XML"
    return "not a feed: no RSS/Atom document in the response"


# --- bookkeeping (run these through Database.run) -----------------------------------------


def _card(db: Database, post_id: int) -> PostCard | None:
    with db.session() as session:
        post = get_post(session, post_id=post_id, with_comments=False)
    if post is None:
        return None
    text = post.body or post.title
    summary = text
    if summarize is not None and text:
        try:
            summary = summarize(text) or text
        except Exception:  # a summary is a nicety; the announcement goes out without it
            log.exception("summarizing post %s failed", post_id)
    return PostCard(
        post_id=post.id, title=post.title, date=post.date, source=post.source, link=post.link, summary=summary
    )


def record_fetch(db: Database, *, feed_id: int, fetched: Fetched, now: dt.datetime) -> PollResult:
    """Store what a fetch returned and move the feed's schedule on; parse errors count as failures."""
    with db.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return PollResult(feed=None, ok=False)
        primed, origin = feed.primed, feed.url
    if fetched.not_modified:
        return _succeed(db, feed_id=feed_id, fetched=fetched, status=STATUS_NOT_MODIFIED, now=now)
    try:
        if not looks_like_feed(fetched.data):
            raise FeedFetchError(_not_a_feed(fetched.data))
        _kind, posts, warnings = parse_source(fetched.data)
    except (LoadError, FeedFetchError) as exc:
        return record_failure(db, feed_id=feed_id, reason=str(exc), now=now)
    result = SourceResult(source=origin, kind="feed", warnings=warnings)
    with db.session() as session:
        newest = session.execute(select(func.max(Post.id))).scalar() or 0
    if posts:
        store_posts(db, posts, origin=origin, result=result)
    # Ids past the newest before this load are the posts this load inserted.
    new_ids = sorted({pid for pid in result.post_ids if pid > newest})
    counts = result.counts
    status = f"ok: {counts[LOADED]} new, {counts[UPDATED]} updated, {counts[UNCHANGED]} unchanged"
    if not posts:
        status = "ok: the feed has no entries"
    outcome = _succeed(db, feed_id=feed_id, fetched=fetched, status=status, now=now)
    if primed and outcome.feed is not None:
        outcome.new_posts = [card for pid in new_ids if (card := _card(db, pid)) is not None]
    return outcome


def _succeed(db: Database, *, feed_id: int, fetched: Fetched, status: str, now: dt.datetime) -> PollResult:
    with db.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return PollResult(feed=None, ok=True)
        feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
        feed.last_polled_at = now
        feed.next_poll_at = now + dt.timedelta(minutes=feed.interval_minutes)
        feed.last_status, feed.last_error = status, None
        feed.failures, feed.failing_since = 0, None
        feed.primed = True
        session.flush()
        return PollResult(feed=_view(feed), ok=True)


def backoff(interval_minutes: int, failures: int) -> dt.timedelta:
    """interval * 2**failures, capped at MAX_BACKOFF (or the interval itself when that is longer)."""
    interval = dt.timedelta(minutes=interval_minutes)
    return min(interval * 2 ** min(failures, 16), max(MAX_BACKOFF, interval))


def record_failure(db: Database, *, feed_id: int, reason: str, now: dt.datetime) -> PollResult:
    """Count a failure, back off, and pause the feed once it has failed for PAUSE_AFTER."""
    with db.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return PollResult(feed=None, ok=False)
        feed.failures += 1
        feed.failing_since = feed.failing_since or now
        feed.last_polled_at = now
        feed.last_status, feed.last_error = STATUS_FAILED, reason
        paused_now = now - feed.failing_since >= PAUSE_AFTER
        if paused_now:
            feed.paused, feed.next_poll_at = True, None
        else:
            feed.next_poll_at = now + backoff(feed.interval_minutes, feed.failures)
        session.flush()
        return PollResult(feed=_view(feed), ok=False, paused_now=paused_now)


# --- polling ------------------------------------------------------------------------------


async def poll_feed(
    db: Database,
    http: aiohttp.ClientSession,
    feed: FeedView,
    *,
    now: dt.datetime,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
) -> PollResult:
    """Fetch, load and book-keep one feed; whatever goes wrong is recorded on the feed, not raised."""
    try:
        try:
            fetched = await fetch_feed(
                http,
                url=feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                timeout=timeout,
                max_bytes=max_bytes,
            )
        except FeedFetchError as exc:
            log.info("feed %s (%s) failed: %s", feed.id, feed.url, exc)
            return await db.run(record_failure, db, feed_id=feed.id, reason=str(exc), now=now)
        return await db.run(record_fetch, db, feed_id=feed.id, fetched=fetched, now=now)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug or a database error: this feed fails, the others go on
        log.exception("polling feed %s (%s) failed", feed.id, feed.url)
        reason = f"internal error: {exc.__class__.__name__}"
        try:
            return await db.run(record_failure, db, feed_id=feed.id, reason=reason, now=now)
        except Exception:
            log.exception("could not record the failure of feed %s", feed.id)
            return PollResult(feed=feed, ok=False)


async def poll_feeds(
    db: Database,
    http: aiohttp.ClientSession,
    feeds: list[FeedView],
    *,
    now: dt.datetime,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
    concurrency: int = CONCURRENCY,
) -> list[PollResult]:
    """Poll feeds concurrently, at most `concurrency` at a time; results in the order given."""
    limit = asyncio.Semaphore(concurrency)

    async def one(feed: FeedView) -> PollResult:
        async with limit:
            return await poll_feed(db, http, feed, now=now, timeout=timeout, max_bytes=max_bytes)

    return list(await asyncio.gather(*(one(feed) for feed in feeds)))
