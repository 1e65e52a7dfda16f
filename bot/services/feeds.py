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
recorded as seen, not to be announced, so adding a feed never floods a channel with its backlog;
the URL is fetched unconditionally while any subscription is unprimed, since a 304 would bring it
nothing.

What a server is told of (issue #13): a new entry its subscription's filters keep back
(bot/services/feed_filters.py) is recorded as filtered, not pending, so it is stored but never
announced and `/feed status` can count it; each entry's picture (bot/ingest/feeds.py
`entry_image`) is kept with it for its card. `/feed add` of a web page watches the feed the page
names (bot/services/discovery.py) and hands what it fetched to the first poll (`prefetched`).

Exactly once across processes (DESIGN.md §9): a poll first claims its URL with a lease, so two
bots (or the bot and `postbot feed poll`) never fetch and store one URL at once; the lease goes
back when the poll is booked, or runs out when its process died. Announcing is an outbox: a primed
server subscription records each new entry as pending, whoever polled (the CLI too); a sender
takes a subscription's pending entries with a lease (`take_announcements`), sends them and marks
each sent (`mark_announced`), so an announcement is stored before it is done, and an entry taken
by a sender that died is taken again once its lease has run out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp
from sqlmodel import Session

from bot import net
from bot.addresses import AddressPolicy
from bot.db import Database
from bot.errors import ParseError, UserFacingError
from bot.ingest.feeds import looks_like_feed, parse_feed
from bot.models import LIBRARY, AnnouncementState
from bot.services.feed_filters import EntryFilter
from bot.services.loading import load, post_key
from bot.services.sources import Source
from bot.services.posts import cards
from bot.services.views import Announcements, FeedRecord, LoadStatus, PollResult, SourceRecord
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
POLL_LEASE = dt.timedelta(minutes=5)  # a poll not booked by then (its process died) is taken over
ANNOUNCE_LEASE = dt.timedelta(minutes=5)  # likewise for announcements taken and never marked sent
MAX_ANNOUNCEMENTS = 30  # cards per subscription and send (up to 10 a message): a feed that suddenly lists 100 new entries must not flood
MAX_TAKEN = 500  # pending entries a sender takes at once (the rest of them are said as "...and N more")

Entries = list[tuple[str, tuple[LoadStatus, int]]]  # (entry key, (load status, post id)) in feed order
Prefetched = net.Fetched | net.FetchError  # what feed discovery fetched of a URL already, for its first poll


def lease_owner() -> str:
    """Who holds a lease: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
    db: Database, *, url: str, guild_id: int | None, channel_id: int | None, interval_minutes: int, now: dt.datetime,
    role_id: int | None = None, threads: bool = False,
) -> tuple[FeedRecord, bool]:
    """Subscribe to a URL (shared with whoever watches it already), due at once. Adding a watched
    URL again updates the subscription (channel, interval, role, threads; its filters stay); either
    way a paused URL resumes, since it was asked for.

    Returns (feed, created).
    """
    url = check_url(url)
    own = {"channel_id": channel_id, "interval_minutes": interval_minutes, "role_id": role_id, "threads": threads}
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


def due_sources(db: Database, *, now: dt.datetime, owns: Callable[[int | None], bool] | None = None) -> list[SourceRecord]:
    """The URLs to fetch now (each once, whatever subscribes to it). `owns`: only URLs with a
    subscription it accepts (a bot process polls the URLs its shards' servers watch; the URL's
    lease keeps a URL watched from several shards to one poll at a time)."""
    with db.session() as session:
        due = feeds.due_sources(session, now=now)
        if owns is None or not due:
            return due
        watchers: dict[int, set[int | None]] = {}
        for feed in feeds.feeds(session):
            watchers.setdefault(feed.source_id, set()).add(feed.guild_id)
    return [s for s in due if any(owns(guild_id) for guild_id in watchers.get(s.id, ()))]


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


def _results(session: Session, source_id: int, outcomes: dict[int, tuple[str, int]]) -> list[PollResult]:
    """One result per subscription polled, with its record as it is now."""
    return [
        PollResult(feed=feed, ok=True, status=outcomes[feed.id][0], to_announce=outcomes[feed.id][1])
        for feed in feeds.subscriptions(session, source_id=source_id)
        if feed.id in outcomes
    ]


def _released() -> dict:
    """The columns that give a URL's lease back, as its poll is booked."""
    return {"lease_until": None, "leased_by": None}


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
            next_poll_at=None if paused else now + backoff(interval, source.failures + 1), **_released(),
        )
        return [
            PollResult(feed=feed, ok=False, paused_now=paused_now, status=f"{STATUS_FAILED}: {reason}")
            for feed in feeds.subscriptions(session, source_id=source_id)
        ]


def record_fetch(
    db: Database, *, source: SourceRecord, subscribers: list[FeedRecord], fetched: net.Fetched, now: dt.datetime,
    may_pause: bool = True,
) -> list[PollResult]:
    """Load what one fetch returned into every subscriber's scope, then book-keep each subscription
    and the URL; a body that is no feed is a failure of the URL."""
    fail = {"db": db, "source_id": source.id, "now": now, "may_pause": may_pause}
    entries: dict[int, Entries] = {}
    images: dict[str, str] = {}
    title = source.title
    if not fetched.not_modified:
        if not looks_like_feed(fetched.data):
            return record_failure(reason=_not_a_feed(fetched.data), **fail)
        try:
            parsed = parse_feed(fetched.data)
        except ParseError as exc:
            return record_failure(reason=exc.located(""), **fail)
        keys = [post_key(post) for post in parsed.posts]
        for key, image in zip(keys, parsed.images):
            if image and key not in images:
                images[key] = image
        title = parsed.title
        for feed in subscribers:  # each subscription has its own scope: one load each
            scope = LIBRARY if feed.guild_id is None else feed.guild_id
            [result] = load(db, sources=[Source(source.url, data=fetched.data)], now=now, scope=scope).results
            if result.failed:
                return record_failure(reason=result.located(""), **fail)
            if len(result.posts) != len(keys):
                raise RuntimeError(f"loading {source.url} gave {len(result.posts)} posts for {len(keys)} entries")
            entries[feed.id] = list(zip(keys, result.posts))
    with db.session() as session:
        return _book_keep(session, source=source, entries=entries, fetched=fetched, now=now, images=images, title=title)


def _book_keep(
    session: Session, *, source: SourceRecord, entries: dict[int, Entries], fetched: net.Fetched, now: dt.datetime,
    images: dict[str, str], title: str | None,
) -> list[PollResult]:
    """Per subscription: record the entries new to it (pending announcements once it is primed);
    then move the URL on and give its lease back."""
    outcomes: dict[int, tuple[str, int]] = {}
    current = feeds.subscriptions(session, source_id=source.id)
    for feed in current:
        if fetched.not_modified:
            outcomes[feed.id] = (STATUS_NOT_MODIFIED, 0)
        elif feed.id in entries:  # else added while this poll ran: its own first poll primes it
            outcomes[feed.id] = _take_new(session, feed, entries[feed.id], images, now=now)
    state = {} if fetched.not_modified else {"etag": fetched.etag, "last_modified": fetched.last_modified, "title": title}
    feeds.update_source(
        session, source_id=source.id, last_polled_at=now, next_poll_at=now + dt.timedelta(minutes=_interval(current)),
        last_status=_source_status(fetched, entries), last_error=None, failures=0, failing_since=None,
        **state, **_released(),
    )
    return _results(session, source.id, outcomes)


def _source_status(fetched: net.Fetched, entries: dict[int, Entries]) -> str:
    """What the URL brought, the same for every server (what was new differs per subscription)."""
    if fetched.not_modified:
        return STATUS_NOT_MODIFIED
    count = len(next(iter(entries.values()), []))
    return f"ok: {count} entr{'y' if count == 1 else 'ies'}" if count else STATUS_NO_ENTRIES


def _take_new(
    session: Session, feed: FeedRecord, entries: Entries, images: dict[str, str], *, now: dt.datetime
) -> tuple[str, int]:
    """(status, entries recorded for its server to be told of) for one subscription: a primed
    server subscription with a channel records new entries as pending (or, kept back by its
    filters, as filtered), anything else as seen."""
    first: dict[str, tuple[LoadStatus, int]] = {}
    for key, outcome in entries:
        first.setdefault(key, outcome)
    seen = feeds.seen_entries(session, feed_id=feed.id, keys=first)
    new = [key for key in first if key not in seen]
    announces = feed.primed and feed.guild_id is not None and feed.channel_id is not None
    kept_back = _filtered(session, feed, [first[key][1] for key in new]) if announces else set()
    rows = {state: [] for state in AnnouncementState}
    for key in new:
        post_id = first[key][1]
        state = AnnouncementState.SEEN if not announces else AnnouncementState.FILTERED if post_id in kept_back else AnnouncementState.PENDING
        rows[state].append((key, post_id, images.get(key)))
    recorded = {
        state: feeds.record_entries(session, feed_id=feed.id, entries=chosen, state=state, now=now)
        for state, chosen in rows.items() if chosen
    }
    if not feed.primed:
        feeds.update_feed(session, feed_id=feed.id, primed=True)
    updated = sum(first[key][0] == LoadStatus.UPDATED for key in seen)
    filtered = len(recorded.get(AnnouncementState.FILTERED, ()))
    status = f"ok: {len(new)} new, {updated} updated, {len(seen) - updated} unchanged" if first else STATUS_NO_ENTRIES
    status += f", {filtered} filtered" if filtered else ""
    return status, len(recorded.get(AnnouncementState.PENDING, ()))


def _filtered(session: Session, feed: FeedRecord, post_ids: list[int]) -> set[int]:
    """The new posts the subscription's filters keep from being announced."""
    rule = EntryFilter.of(feed)
    if not rule.active or not post_ids:
        return set()
    texts = feeds.entry_texts(session, post_ids=post_ids)
    return {post_id for post_id, text in texts.items() if not rule.announces(text.title, text.body)}


# --------------------------------------------------------------------------- polling


def _claim(
    db: Database, *, source_id: int, owner: str, now: dt.datetime, due_only: bool
) -> tuple[SourceRecord, list[FeedRecord]] | None:
    """Lease the URL and read its state and subscriptions as they are now (the due list may be
    minutes old); None when it is not ours to poll (another process has it, or polled it meanwhile)."""
    with db.session() as session:
        source = feeds.claim_source(
            session, source_id=source_id, owner=owner, now=now, until=now + POLL_LEASE, due_only=due_only
        )
        if source is None:
            return None
        subscribers = feeds.subscriptions(session, source_id=source_id)
        if not subscribers:
            feeds.release_source(session, source_id=source_id, owner=owner)
            return None
        return source, subscribers


async def poll_feed(
    db: Database, http: aiohttp.ClientSession, policy: AddressPolicy, source: SourceRecord, *, now: dt.datetime,
    due_only: bool = False, may_pause: bool = True, owner: str | None = None,
    timeout: float = net.FETCH_TIMEOUT, max_bytes: int = net.MAX_BYTES, prefetched: Prefetched | None = None,
) -> list[PollResult]:
    """Claim one URL, fetch it once and book-keep every subscription to it (one result each); none
    when another process is polling it (or, `due_only`, polled it since it was found due). Whatever
    goes wrong is recorded on the URL, never raised. `may_pause`: the caller tells servers (the bot).
    `prefetched`: what `/feed add` fetched of the URL a moment ago (unconditionally), used instead
    of fetching it again."""
    failure = {"source_id": source.id, "now": now, "may_pause": may_pause}
    try:
        claimed = await db.call(_claim, source_id=source.id, owner=owner or lease_owner(), now=now, due_only=due_only)
        if claimed is None:
            return []
        fresh, subscribers = claimed
        conditional = all(feed.primed for feed in subscribers)  # a first poll needs the entries, not a 304
        try:
            if isinstance(prefetched, net.FetchError):
                raise prefetched
            fetched = prefetched or await net.fetch(
                http, policy, fresh.url, etag=fresh.etag if conditional else None,
                last_modified=fresh.last_modified if conditional else None, timeout=timeout, max_bytes=max_bytes,
            )
        except net.FetchError as exc:
            log.info("feed source %s (%s) failed: %s", source.id, source.url, exc)
            return await db.call(record_failure, reason=str(exc), **failure)
        return await db.call(
            record_fetch, source=fresh, subscribers=subscribers, fetched=fetched, now=now, may_pause=may_pause
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
    due_only: bool = False, may_pause: bool = True, timeout: float = net.FETCH_TIMEOUT, max_bytes: int = net.MAX_BYTES,
    concurrency: int = CONCURRENCY, prefetched: dict[str, Prefetched] | None = None,
) -> list[PollResult]:
    """Poll URLs concurrently, at most `concurrency` at a time, each once (each claimed just before
    it is fetched); one result per subscription, in the order the URLs were given (then the
    subscriptions' age). `due_only`: poll only what is still due (the bot's ticks). `prefetched`:
    URL -> what was fetched of it a moment ago (feed discovery), not fetched again."""
    limit = asyncio.Semaphore(concurrency)
    unique = list({source.id: source for source in due}.values())
    owner = lease_owner()

    async def one(source: SourceRecord) -> list[PollResult]:
        async with limit:
            return await poll_feed(
                db, http, policy, source, now=now, due_only=due_only, may_pause=may_pause, owner=owner,
                timeout=timeout, max_bytes=max_bytes, prefetched=(prefetched or {}).get(source.url),
            )

    return [result for results in await asyncio.gather(*(one(source) for source in unique)) for result in results]


# --------------------------------------------------------------------------- announcing (the outbox)


def announcing(db: Database, *, now: dt.datetime) -> list[FeedRecord]:
    """The server subscriptions with announcements waiting that no sender holds."""
    with db.session() as session:
        return feeds.announcing(session, now=now)


def take_announcements(db: Database, *, feed_id: int, now: dt.datetime) -> Announcements | None:
    """Take a subscription's pending announcements with a lease, as cards its server sees; None when
    there are none (another sender has them). Entries of one post share its card; entries that will
    never be announced - the post is gone, the subscription has no channel now - are marked done at once.

    The caller sends each card, then `mark_announced` its entries; whatever it never marks is
    taken again once the lease has run out."""
    with db.session() as session:  # the lease is committed before anything is sent
        feed = feeds.get_feed(session, feed_id=feed_id)
        if feed is None:
            return None
        taken = feeds.take_pending(session, feed_id=feed_id, now=now, until=now + ANNOUNCE_LEASE, limit=MAX_TAKEN)
    if not taken:
        return None
    by_post: dict[int, list[int]] = {}
    images: dict[int, str] = {}
    for entry in taken:
        if entry.post_id is not None and feed.channel_id is not None:
            by_post.setdefault(entry.post_id, []).append(entry.id)
            if entry.image:
                images.setdefault(entry.post_id, entry.image)
    with db.session() as session:
        shown = cards(session, post_ids=list(by_post)[:MAX_ANNOUNCEMENTS], scope=feed.guild_id)
        later = list(by_post)[MAX_ANNOUNCEMENTS:]
        kept = {card.id for card in shown} | set(later)
        feeds.mark_sent(session, entry_ids=[e.id for e in taken if e.post_id not in kept or feed.channel_id is None])
    if not shown and not later:
        return None
    return Announcements(
        feed=feed,
        cards=tuple((card, tuple(by_post[card.id])) for card in shown),
        more=len(later),
        rest=tuple(entry_id for post_id in later for entry_id in by_post[post_id]),
        images={card.id: images[card.id] for card in shown if card.id in images},
    )


def mark_announced(db: Database, *, entry_ids: list[int] | tuple[int, ...]) -> None:
    """These announcements were sent (or given up on): never again."""
    with db.session() as session:
        feeds.mark_sent(session, entry_ids=entry_ids)
