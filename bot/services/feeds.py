"""Watched RSS/Atom feeds: subscribe, list, remove, which URLs are due, poll, load, back off, pause.

Shared by the `/feed` cog and `postbot feed`. A URL is fetched once per poll however many
servers subscribe to it, so its conditional GET state and back-off belong to the URL (the
source). Fetching goes through `bot.net` (the address guard, size and time limits, one checked hop
at a time); storing goes through the one loading path, into each subscriber's scope (the
server's; the library for the CLI's), so an entry is stored exactly like a feed file loaded there
by hand. What is new is decided per subscription from the entries it has seen, not from what the
load stored, so a server is told of an entry even when another server, `postbot load` or `/load`
stored it first. Every failure of one URL - HTTP error, timeout, oversized or non-feed body, even a
bug - is recorded on it and never stops the others.

Bookkeeping: a success polls the URL again after the smallest interval of its subscriptions; a
failure backs off exponentially (interval * 2**failures, capped) and a URL that has failed for a
day is paused until it is added again. A subscription's first poll primes it: its entries are
recorded but not announced, so adding a feed never floods a channel with its backlog; the URL is
fetched unconditionally while any subscription is unprimed, since a 304 would bring it nothing.

The CLI tells no server anything, so its polls (`announces=False`) record only what needs no
announcement (the CLI's subscriptions, first polls); a server's new entries are left unrecorded,
and the URL's conditional state and schedule untouched, so that the bot fetches and announces them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from urllib.parse import urlsplit

import aiohttp
from sqlmodel import Session

from bot import net
from bot.addresses import AddressPolicy
from bot.db import Database
from bot.errors import ParseError, UserFacingError
from bot.ingest.feeds import looks_like_feed, parse_feed
from bot.models import LIBRARY
from bot.services.loading import Source, load, post_key
from bot.services.posts import cards
from bot.services.views import FeedRecord, LoadStatus, PollResult, PostCard, SourceRecord
from bot.store import feeds

log = logging.getLogger(__name__)

MAX_BACKOFF = dt.timedelta(hours=6)
PAUSE_AFTER = dt.timedelta(days=1)
MAX_FEEDS_PER_GUILD = 25
MAX_URL_LENGTH = 2000
CONCURRENCY = 4
DEFAULT_INTERVAL_MINUTES = 15  # a URL nothing subscribes to any more (removed while polled)
STATUS_NOT_MODIFIED = "not modified"
STATUS_FAILED = "failed"
STATUS_NO_ENTRIES = "ok: the feed has no entries"

Entries = list[tuple[str, tuple[LoadStatus, int]]]  # (entry key, (load status, post id)) in feed order


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
    """Subscribe to a URL (shared with whoever watches it already), due at once. Adding a watched
    URL again updates the subscription; either way a paused URL resumes, since it was asked for.

    Returns (feed, created).
    """
    url = check_url(url)
    own = {"channel_id": channel_id, "interval_minutes": interval_minutes}
    with db.session() as session:
        existing = feeds.watched_url(session, guild_id=guild_id, url=url)
        if existing is not None:
            feed = feeds.update_feed(session, feed_id=existing.id, **own)
        elif guild_id is not None and feeds.count_feeds(session, guild_id=guild_id) >= MAX_FEEDS_PER_GUILD:
            raise UserFacingError(f"This server already watches {MAX_FEEDS_PER_GUILD} feeds; remove one first.")
        else:
            source = feeds.source_of_url(session, url=url, now=now)
            feed = feeds.add_feed(session, guild_id=guild_id, source_id=source.id, now=now, **own)
        source = feeds.get_source(session, source_id=feed.source_id)
        resume = {"paused": False, "failures": 0, "failing_since": None} if source.paused else {}
        due = now if source.paused or source.next_poll_at is None else min(source.next_poll_at, now)  # never later
        feeds.update_source(session, source_id=source.id, next_poll_at=due, **resume)
        return feeds.get_feed(session, feed_id=feed.id), existing is None


def list_feeds(db: Database, *, guild_id: int | None = None) -> list[FeedRecord]:
    """A server's subscriptions (or, with no guild, every one) in the order they were added."""
    with db.session() as session:
        return feeds.feeds(session, guild_id=guild_id)


def get_feed(db: Database, *, guild_id: int | None, ref: str) -> FeedRecord:
    """A subscription by id or URL (within the server when given), or a UserFacingError."""
    with db.session() as session:
        found = feeds.find_feed(session, guild_id=guild_id, ref=ref)
    if found is None:
        raise UserFacingError(f"No watched feed `{ref[:200]}` here; see `/feed list`.")
    return found


def remove_feed(db: Database, *, guild_id: int | None, ref: str) -> FeedRecord:
    """Stop watching a feed; the URL goes when nothing else watches it; the posts stay."""
    with db.session() as session:
        found = feeds.find_feed(session, guild_id=guild_id, ref=ref)
        if found is None:
            raise UserFacingError(f"No watched feed `{ref[:200]}` here; see `/feed list`.")
        feeds.delete_feed(session, feed_id=found.id)
        feeds.delete_source_if_unwatched(session, source_id=found.source_id)
        return found


def due_sources(db: Database, *, now: dt.datetime) -> list[SourceRecord]:
    """The URLs to fetch now (each once, whatever subscribes to it)."""
    with db.session() as session:
        return feeds.due_sources(session, now=now)


# --------------------------------------------------------------------------- bookkeeping


def backoff(interval_minutes: int, failures: int) -> dt.timedelta:
    """interval * 2**failures, capped at MAX_BACKOFF (or the interval itself when that is longer)."""
    interval = dt.timedelta(minutes=interval_minutes)
    return min(interval * 2 ** min(failures, 16), max(MAX_BACKOFF, interval))


def _interval(subscribers: list[FeedRecord]) -> int:
    """A URL is polled as often as its most eager subscription asks."""
    return min((f.interval_minutes for f in subscribers), default=DEFAULT_INTERVAL_MINUTES)


def _not_a_feed(data: bytes) -> str:
    head = data[:1024].lstrip().lower()
    if not head:
        return "the response is empty"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "not a feed: the server sent an HTML page, not RSS/Atom XML"
    return "not a feed: no RSS/Atom document in the response"


def _results(session: Session, source_id: int, outcomes: dict[int, tuple[str, list[PostCard]]]) -> list[PollResult]:
    """One result per subscription polled, with its record as it is now."""
    return [
        PollResult(feed=feed, ok=True, status=outcomes[feed.id][0], new_posts=outcomes[feed.id][1])
        for feed in feeds.subscriptions(session, source_id=source_id)
        if feed.id in outcomes
    ]


def record_failure(db: Database, *, source_id: int, reason: str, now: dt.datetime, may_pause: bool = True) -> list[PollResult]:
    """Count a failure of a URL, back off, and pause it once it has failed for PAUSE_AFTER - only
    where its servers are told (`may_pause`; the CLI's polls tell nobody)."""
    with db.session() as session:
        source = feeds.get_source(session, source_id=source_id)
        if source is None:
            return []
        failing_since = source.failing_since or now
        paused_now = may_pause and not source.paused and now - failing_since >= PAUSE_AFTER
        paused = source.paused or paused_now
        interval = _interval(feeds.subscriptions(session, source_id=source_id))
        feeds.update_source(
            session, source_id=source_id, failures=source.failures + 1, failing_since=failing_since, last_polled_at=now,
            last_status=STATUS_FAILED, last_error=reason, paused=paused,
            next_poll_at=None if paused else now + backoff(interval, source.failures + 1),
        )
        return [
            PollResult(feed=feed, ok=False, paused_now=paused_now, status=f"{STATUS_FAILED}: {reason}")
            for feed in feeds.subscriptions(session, source_id=source_id)
        ]


def record_fetch(
    db: Database, *, source: SourceRecord, subscribers: list[FeedRecord], fetched: net.Fetched, now: dt.datetime,
    announces: bool = True,
) -> list[PollResult]:
    """Load what one fetch returned into every subscriber's scope, then book-keep each subscription
    and the URL; a body that is no feed is a failure of the URL."""
    fail = {"db": db, "source_id": source.id, "now": now, "may_pause": announces}
    entries: dict[int, Entries] = {}
    if not fetched.not_modified:
        if not looks_like_feed(fetched.data):
            return record_failure(reason=_not_a_feed(fetched.data), **fail)
        try:
            keys = [post_key(post) for post in parse_feed(fetched.data).posts]
        except ParseError as exc:
            return record_failure(reason=exc.located(""), **fail)
        for feed in subscribers:  # each subscription has its own scope: one load each
            scope = LIBRARY if feed.guild_id is None else feed.guild_id
            [result] = load(db, sources=[Source(source.url, data=fetched.data)], now=now, scope=scope).results
            if result.failed:
                return record_failure(reason=result.located(""), **fail)
            if len(result.posts) != len(keys):
                raise RuntimeError(f"loading {source.url} gave {len(result.posts)} posts for {len(keys)} entries")
            entries[feed.id] = list(zip(keys, result.posts))
    with db.session() as session:
        return _book_keep(session, source=source, entries=entries, fetched=fetched, now=now, announces=announces)


def _book_keep(
    session: Session, *, source: SourceRecord, entries: dict[int, Entries], fetched: net.Fetched, now: dt.datetime,
    announces: bool,
) -> list[PollResult]:
    """Per subscription: record the entries new to it, and list their cards to announce once it is
    primed; then move the URL on - unless a server's new entries were left for the bot."""
    outcomes: dict[int, tuple[str, list[PostCard]]] = {}
    left_for_the_bot = False
    current = feeds.subscriptions(session, source_id=source.id)
    for feed in current:
        if fetched.not_modified:
            outcomes[feed.id] = (STATUS_NOT_MODIFIED, [])
        elif feed.id in entries:  # else added while this poll ran: its own first poll primes it
            served = announces or feed.guild_id is None or not feed.primed
            outcomes[feed.id], pending = _take_new(session, feed, entries[feed.id], record=served, now=now)
            left_for_the_bot |= pending
    if not left_for_the_bot:
        state = {} if fetched.not_modified else {"etag": fetched.etag, "last_modified": fetched.last_modified}
        feeds.update_source(
            session, source_id=source.id, last_polled_at=now, next_poll_at=now + dt.timedelta(minutes=_interval(current)),
            last_status=_source_status(fetched, entries), last_error=None, failures=0, failing_since=None, **state,
        )
    return _results(session, source.id, outcomes)


def _source_status(fetched: net.Fetched, entries: dict[int, Entries]) -> str:
    """What the URL brought, the same for every server (what was new differs per subscription)."""
    if fetched.not_modified:
        return STATUS_NOT_MODIFIED
    count = len(next(iter(entries.values()), []))
    return f"ok: {count} entr{'y' if count == 1 else 'ies'}" if count else STATUS_NO_ENTRIES


def _take_new(
    session: Session, feed: FeedRecord, entries: Entries, *, record: bool, now: dt.datetime
) -> tuple[tuple[str, list[PostCard]], bool]:
    """((status, cards to announce), whether new entries were left unrecorded) for one subscription."""
    first: dict[str, tuple[LoadStatus, int]] = {}
    for key, outcome in entries:
        first.setdefault(key, outcome)
    seen = feeds.seen_entries(session, feed_id=feed.id, keys=first)
    new = [key for key in first if key not in seen]
    if not record:
        return (f"ok: {len(new)} new, left for the bot to announce" if new else "ok: nothing new", []), bool(new)
    recorded = feeds.record_entries(session, feed_id=feed.id, entries=[(key, first[key][1]) for key in new], now=now)
    post_ids = list(dict.fromkeys(first[key][1] for key in new if key in recorded))
    announced = []
    if feed.primed and feed.guild_id is not None and post_ids:  # the CLI's subscriptions announce nowhere
        announced = cards(session, post_ids=post_ids, scope=feed.guild_id)
    if not feed.primed:
        feeds.update_feed(session, feed_id=feed.id, primed=True)
    updated = sum(first[key][0] == LoadStatus.UPDATED for key in seen)
    status = f"ok: {len(new)} new, {updated} updated, {len(seen) - updated} unchanged" if first else STATUS_NO_ENTRIES
    return (status, announced), False


# --------------------------------------------------------------------------- polling


def _subscribers(db: Database, *, source_id: int) -> tuple[SourceRecord, list[FeedRecord]] | None:
    """The URL's state and its subscriptions as they are now (the due list may be minutes old)."""
    with db.session() as session:
        source = feeds.get_source(session, source_id=source_id)
        return None if source is None else (source, feeds.subscriptions(session, source_id=source_id))


async def poll_feed(
    db: Database, http: aiohttp.ClientSession, policy: AddressPolicy, source: SourceRecord, *, now: dt.datetime,
    announces: bool = True, timeout: float = net.FETCH_TIMEOUT, max_bytes: int = net.MAX_BYTES,
) -> list[PollResult]:
    """Fetch one URL once and book-keep every subscription to it (one result each); whatever goes
    wrong is recorded on the URL, never raised. `announces`: the caller tells servers (the bot)."""
    failure = {"source_id": source.id, "now": now, "may_pause": announces}
    try:
        found = await db.call(_subscribers, source_id=source.id)
        if found is None or not found[1]:
            return []
        fresh, subscribers = found
        conditional = all(feed.primed for feed in subscribers)  # a first poll needs the entries, not a 304
        try:
            fetched = await net.fetch(
                http, policy, fresh.url, etag=fresh.etag if conditional else None,
                last_modified=fresh.last_modified if conditional else None, timeout=timeout, max_bytes=max_bytes,
            )
        except net.FetchError as exc:
            log.info("feed source %s (%s) failed: %s", source.id, source.url, exc)
            return await db.call(record_failure, reason=str(exc), **failure)
        return await db.call(
            record_fetch, source=fresh, subscribers=subscribers, fetched=fetched, now=now, announces=announces
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug or a database error: this URL fails, the others go on
        log.exception("polling feed source %s (%s) failed", source.id, source.url)
        try:
            return await db.call(record_failure, reason=f"internal error: {exc.__class__.__name__}", **failure)
        except Exception:
            log.exception("could not record the failure of feed source %s", source.id)
            return []


async def poll_feeds(
    db: Database, http: aiohttp.ClientSession, policy: AddressPolicy, due: list[SourceRecord], *, now: dt.datetime,
    announces: bool = True, timeout: float = net.FETCH_TIMEOUT, max_bytes: int = net.MAX_BYTES,
    concurrency: int = CONCURRENCY,
) -> list[PollResult]:
    """Poll URLs concurrently, at most `concurrency` at a time, each once; one result per
    subscription, in the order the URLs were given (then the subscriptions' age)."""
    limit = asyncio.Semaphore(concurrency)
    unique = list({source.id: source for source in due}.values())

    async def one(source: SourceRecord) -> list[PollResult]:
        async with limit:
            return await poll_feed(
                db, http, policy, source, now=now, announces=announces, timeout=timeout, max_bytes=max_bytes
            )

    return [result for results in await asyncio.gather(*(one(source) for source in unique)) for result in results]
