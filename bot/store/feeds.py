"""Watched feeds: the URLs (`FeedSource`, fetched once per poll whatever watches them), each
server's (or the CLI's, guild None) subscription to one (`Feed`), and what each subscription has
seen (`FeedEntry`), so every subscription is told of an entry once whoever loaded it first.

Two leases make that hold across processes: a URL is claimed (`claim_source`) before it is fetched,
so one process polls it; and `FeedEntry` is an outbox, an entry to announce being pending until a
sender that took it with a lease (`take_pending`) has sent it (`mark_sent`). PostgreSQL takes rows
with `FOR UPDATE SKIP LOCKED`; SQLite, whose writers queue one at a time, with a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields

from sqlalchemy import delete, func, or_, select, update
from sqlmodel import Session

from bot.models import AnnouncementState, Feed, FeedEntry, FeedSource, Post
from bot.store._sql import chunks, insert_or_ignore

ENTRY_ROWS = 200  # feed entries per statement


@dataclass(frozen=True)
class SourceRecord:
    """A feed URL and its poll state, shared by every subscription to it."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    last_polled_at: dt.datetime | None
    next_poll_at: dt.datetime | None
    last_status: str | None
    last_error: str | None
    failures: int
    failing_since: dt.datetime | None
    paused: bool
    title: str | None  # the feed's own title, as last fetched


@dataclass(frozen=True)
class FeedRecord:
    """A subscription as shown: its own columns plus its URL's state (url .. paused)."""

    id: int
    guild_id: int | None  # None: added from the CLI; its posts go to the library
    source_id: int
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
    title: str | None
    primed: bool  # first poll done: later entries are announced
    created_at: dt.datetime
    role_id: int | None = None  # the role its announcements mention
    threads: bool = False  # each announced post gets its discussion thread on the announcement
    include_words: str | None = None  # "word, phrase": only entries matching one are announced
    exclude_words: str | None = None  # "word, phrase": entries matching one are not announced
    filtered: int = 0  # new entries its filters kept from being announced

    @property
    def source(self) -> SourceRecord:
        """The URL this subscription polls, as `poll_feeds` takes it."""
        values = {f.name: getattr(self, f.name) for f in fields(SourceRecord) if f.name != "id"}
        return SourceRecord(id=self.source_id, **values)


@dataclass(frozen=True)
class PendingEntry:
    """An entry a sender has taken to announce: it holds it until its lease runs out."""

    id: int
    post_id: int | None  # None: the post was deleted meanwhile
    image: str | None = None  # its picture


@dataclass(frozen=True)
class EntryText:
    """What a subscription's filters look at: a new entry's title and text."""

    post_id: int
    title: str
    body: str


_SOURCE_FIELDS = [f.name for f in fields(SourceRecord)]
_FEED_OWN = (
    "id", "guild_id", "source_id", "channel_id", "interval_minutes", "primed", "created_at", "role_id", "threads",
    "include_words", "exclude_words",
)


def _source(row: FeedSource) -> SourceRecord:
    return SourceRecord(**{name: getattr(row, name) for name in _SOURCE_FIELDS})


def _record(feed: Feed, source: FeedSource, filtered: int = 0) -> FeedRecord:
    values = {name: getattr(source, name) for name in _SOURCE_FIELDS if name != "id"}
    return FeedRecord(**values, **{name: getattr(feed, name) for name in _FEED_OWN}, filtered=filtered)


def _joined():
    return select(Feed, FeedSource).join(FeedSource, FeedSource.id == Feed.source_id)


def _of_guild(query, guild_id: int | None):
    """Exactly this server's subscriptions, or the CLI's for None."""
    return query.where(Feed.guild_id.is_(None)) if guild_id is None else query.where(Feed.guild_id == guild_id)


def _records(session: Session, query) -> list[FeedRecord]:
    rows = session.execute(query).all()
    filtered = _filtered_counts(session, [feed.id for feed, _source in rows])
    return [_record(feed, source, filtered.get(feed.id, 0)) for feed, source in rows]


def _filtered_counts(session: Session, feed_ids: list[int]) -> dict[int, int]:
    """feed id -> how many new entries its filters kept back (an index read: state, feed_id)."""
    counts: dict[int, int] = {}
    for part in chunks(feed_ids):
        query = (
            select(FeedEntry.feed_id, func.count())
            .where(FeedEntry.state == AnnouncementState.FILTERED, FeedEntry.feed_id.in_(part))
            .group_by(FeedEntry.feed_id)
        )
        counts.update((feed_id, count) for feed_id, count in session.execute(query))
    return counts


# --------------------------------------------------------------------------- subscriptions


def get_feed(session: Session, *, feed_id: int) -> FeedRecord | None:
    found = _records(session, _joined().where(Feed.id == feed_id))
    return found[0] if found else None


def find_feed(session: Session, *, guild_id: int | None, ref: str) -> FeedRecord | None:
    """A subscription by id or URL, within the server when `guild_id` is given; for the operator
    (None) any server's, preferring the CLI's own when a URL is watched several times."""
    ref = ref.strip()
    query = _joined() if guild_id is None else _joined().where(Feed.guild_id == guild_id)
    query = query.where(Feed.id == int(ref)) if ref.isdigit() else query.where(FeedSource.url == ref)
    found = _records(session, query.order_by(Feed.guild_id.is_not(None), Feed.id).limit(1))
    return found[0] if found else None


def watched_url(session: Session, *, guild_id: int | None, url: str) -> FeedRecord | None:
    """This server's (or the CLI's, for None) subscription to exactly this URL."""
    found = _records(session, _of_guild(_joined().where(FeedSource.url == url), guild_id))
    return found[0] if found else None


def count_feeds(session: Session, *, guild_id: int | None) -> int:
    return session.execute(_of_guild(select(func.count()).select_from(Feed), guild_id)).scalar_one()


def add_feed(session: Session, *, guild_id: int | None, source_id: int, now: dt.datetime, **values) -> FeedRecord:
    feed = Feed(guild_id=guild_id, source_id=source_id, created_at=now, **values)
    session.add(feed)
    session.flush()
    return get_feed(session, feed_id=feed.id)


def update_feed(session: Session, *, feed_id: int, **values) -> FeedRecord | None:
    """Change a subscription's own columns; None when it was removed meanwhile."""
    if values and session.execute(update(Feed).where(Feed.id == feed_id).values(**values)).rowcount == 0:
        return None
    return get_feed(session, feed_id=feed_id)


def delete_feed(session: Session, *, feed_id: int) -> None:
    session.execute(delete(FeedEntry).where(FeedEntry.feed_id == feed_id))
    session.execute(delete(Feed).where(Feed.id == feed_id))


def feeds(session: Session, *, guild_id: int | None = None) -> list[FeedRecord]:
    """A server's subscriptions (every one when None) in the order they were added."""
    query = _joined().order_by(Feed.id)
    return _records(session, query if guild_id is None else query.where(Feed.guild_id == guild_id))


def subscriptions(session: Session, *, source_id: int) -> list[FeedRecord]:
    """Everything that watches one URL, oldest first."""
    return _records(session, _joined().where(Feed.source_id == source_id).order_by(Feed.id))


# --------------------------------------------------------------------------- sources


def get_source(session: Session, *, source_id: int) -> SourceRecord | None:
    row = session.get(FeedSource, source_id)
    return _source(row) if row else None


def source_of_url(session: Session, *, url: str, now: dt.datetime) -> SourceRecord:
    """The URL's source, created when new (two servers adding it at once get the same one)."""
    statement = insert_or_ignore(session, FeedSource).values(url=url, created_at=now, failures=0, paused=False)
    session.execute(statement.on_conflict_do_nothing(index_elements=["url"]))
    return _source(session.execute(select(FeedSource).where(FeedSource.url == url)).scalar_one())


def update_source(session: Session, *, source_id: int, **values) -> SourceRecord | None:
    """Change a URL's poll state; None when it was removed meanwhile."""
    if session.execute(update(FeedSource).where(FeedSource.id == source_id).values(**values)).rowcount == 0:
        return None
    return get_source(session, source_id=source_id)


def delete_source_if_unwatched(session: Session, *, source_id: int) -> bool:
    """Drop a URL nothing subscribes to any more; True when it went."""
    if session.execute(select(Feed.id).where(Feed.source_id == source_id).limit(1)).first() is not None:
        return False
    return bool(session.execute(delete(FeedSource).where(FeedSource.id == source_id)).rowcount)


def _due(now: dt.datetime) -> list:
    return [FeedSource.paused.is_(False), or_(FeedSource.next_poll_at.is_(None), FeedSource.next_poll_at <= now)]


def due_sources(session: Session, *, now: dt.datetime) -> list[SourceRecord]:
    """URLs to fetch now: not paused, and never polled or past their next poll time."""
    query = select(FeedSource).where(*_due(now)).order_by(FeedSource.next_poll_at, FeedSource.id)
    return [_source(s) for s in session.execute(query).scalars()]


def _locking(session: Session, query):
    """Rows another transaction is taking are skipped on PostgreSQL; SQLite has one writer at a time."""
    return query.with_for_update(skip_locked=True) if session.get_bind().dialect.name == "postgresql" else query


def claim_source(
    session: Session, *, source_id: int, owner: str, now: dt.datetime, until: dt.datetime, due_only: bool
) -> SourceRecord | None:
    """Lease a URL to poll it, unless another process holds it (or, with `due_only`, it is no longer
    due: polled meanwhile). None when it is not this caller's to poll."""
    free = or_(FeedSource.lease_until.is_(None), FeedSource.lease_until <= now)
    conditions = [FeedSource.id == source_id, free, *(_due(now) if due_only else ())]
    chosen = _locking(session, select(FeedSource.id).where(*conditions))
    statement = (
        update(FeedSource)
        .where(FeedSource.id.in_(chosen), *conditions)
        .values(lease_until=until, leased_by=owner)
        .returning(*FeedSource.__table__.columns)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).first()
    return _source(row) if row is not None else None


def release_source(session: Session, *, source_id: int, owner: str) -> None:
    """Give a lease back (a poll that found nothing to do)."""
    statement = update(FeedSource).where(FeedSource.id == source_id, FeedSource.leased_by == owner)
    session.execute(statement.values(lease_until=None, leased_by=None).execution_options(synchronize_session=False))


# --------------------------------------------------------------------------- entries seen


def seen_entries(session: Session, *, feed_id: int, keys: Iterable[str]) -> set[str]:
    """Which of these entry keys the subscription has seen already."""
    seen: set[str] = set()
    for part in chunks(sorted(set(keys))):
        query = select(FeedEntry.entry_key).where(FeedEntry.feed_id == feed_id, FeedEntry.entry_key.in_(part))
        seen.update(session.execute(query).scalars())
    return seen


def record_entries(
    session: Session, *, feed_id: int, entries: list[tuple[str, int, str | None]], now: dt.datetime,
    state: AnnouncementState = AnnouncementState.SEEN,
) -> set[str]:
    """Record (entry key, post id, picture) as seen, as pending announcements or as filtered; returns
    the keys this call recorded: an entry recorded already (two polls racing) is left as it is, never
    an error."""
    recorded: set[str] = set()
    rows = [
        {"feed_id": feed_id, "entry_key": key, "post_id": post_id, "image": image, "created_at": now, "state": state}
        for key, post_id, image in entries
    ]
    for start in range(0, len(rows), ENTRY_ROWS):
        statement = (
            insert_or_ignore(session, FeedEntry)
            .values(rows[start : start + ENTRY_ROWS])
            .on_conflict_do_nothing(index_elements=["feed_id", "entry_key"])
            .returning(FeedEntry.entry_key)
        )
        recorded.update(session.execute(statement).scalars())
    return recorded


def entry_texts(session: Session, *, post_ids: Iterable[int]) -> dict[int, EntryText]:
    """post id -> the title and text a subscription's filters look at."""
    found: dict[int, EntryText] = {}
    for part in chunks(sorted(set(post_ids))):
        for row in session.execute(select(Post.id, Post.title, Post.body).where(Post.id.in_(part))):
            found[row.id] = EntryText(post_id=row.id, title=row.title, body=row.body)
    return found


# --------------------------------------------------------------------------- the outbox


def _takeable(now: dt.datetime) -> list:
    return [FeedEntry.state == AnnouncementState.PENDING, or_(FeedEntry.lease_until.is_(None), FeedEntry.lease_until <= now)]


def announcing(session: Session, *, now: dt.datetime) -> list[FeedRecord]:
    """The servers' subscriptions with announcements waiting that no sender holds, oldest first."""
    waiting = select(FeedEntry.feed_id).where(*_takeable(now)).distinct()
    return _records(session, _joined().where(Feed.id.in_(waiting), Feed.guild_id.is_not(None)).order_by(Feed.id))


def take_pending(
    session: Session, *, feed_id: int, now: dt.datetime, until: dt.datetime, limit: int
) -> list[PendingEntry]:
    """Lease up to `limit` of a subscription's pending entries, in the order they were recorded;
    what another sender holds is left to it."""
    conditions = [FeedEntry.feed_id == feed_id, *_takeable(now)]
    chosen = _locking(session, select(FeedEntry.id).where(*conditions).order_by(FeedEntry.id).limit(limit))
    statement = (
        update(FeedEntry)
        .where(FeedEntry.id.in_(chosen), *conditions)
        .values(lease_until=until)
        .returning(FeedEntry.id, FeedEntry.post_id, FeedEntry.image)
        .execution_options(synchronize_session=False)
    )
    taken = (PendingEntry(id=row.id, post_id=row.post_id, image=row.image) for row in session.execute(statement))
    return sorted(taken, key=lambda e: e.id)


def mark_sent(session: Session, *, entry_ids: Iterable[int]) -> None:
    """These announcements went out (or never will): they are done."""
    for part in chunks(sorted(set(entry_ids))):
        statement = update(FeedEntry).where(FeedEntry.id.in_(part)).values(state=AnnouncementState.SENT, lease_until=None)
        session.execute(statement.execution_options(synchronize_session=False))
