"""The thread store's tables. Datetimes are timezone-aware UTC everywhere (`UTCDateTime`); states are StrEnums.

Scope (DESIGN.md §8): every post, comment and quote has a `scope`, LIBRARY (0) for what the
operator loaded, else the id of the one server it belongs to. A server sees scopes LIBRARY and
its own; a Discord comment's scope is the server it was written in.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint, false, true
from sqlmodel import Field, SQLModel



class CommentOrigin(StrEnum):
    """Where a comment came from."""

    POST = "post"  # the post's own thread, loaded from its file or feed
    DISCORD = "discord"  # collected from chat


class CollectMode(StrEnum):
    """Which thread messages a server saves as comments."""

    AUTO = "auto"  # every message in a post's thread
    REQUEST = "request"  # only /comment add and "Save as comment"


class AnnouncementState(StrEnum):
    """Whether a subscription's entry is to be announced, and how far that got."""

    SEEN = "seen"  # known, not to be announced (the backlog a new subscription primes with)
    PENDING = "pending"  # to be announced; a sender takes it with a lease
    SENT = "sent"
    FILTERED = "filtered"  # new, but the subscription's filters keep it from being announced


class DigestStyle(StrEnum):
    """How a digest shows its posts."""

    FULL = "full"  # a card a post (up to max_posts), the rest one line each
    COMPACT = "compact"  # one linked line a post


class DigestStatus(StrEnum):
    """The state of one channel's digest for one local date."""

    CLAIMED = "claimed"
    SENT = "sent"
    EMPTY = "empty"  # no new posts
    PARTIAL = "partial"  # some messages failed
    FAILED = "failed"
    SKIPPED = "skipped"  # the bot was away at the digest time


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back aware datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _when(nullable: bool = False, index: bool = False):
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _snowflake(nullable: bool = True, index: bool = False, unique: bool = False):
    return Field(default=None, sa_column=Column(BigInteger, nullable=nullable, index=index, unique=unique))


def _state(default: StrEnum | None = None):
    """A StrEnum stored as its plain value (VARCHAR(16)), as the first migration made these columns."""
    return Field(default=default, sa_column=Column(String(16), nullable=False))


LIBRARY = 0  # the scope of what the operator loaded: shared by every server (guild ids are never 0)


def _scope():
    return Field(default=LIBRARY, sa_column=Column(BigInteger, nullable=False, default=LIBRARY, server_default="0"))


def _post_fk():
    return Field(sa_column=Column(Integer, ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True))


class Post(SQLModel, table=True):
    """A dated article. `key` is its identity across edits within its scope; `content_hash` tells whether it changed."""

    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_post_scope_key"),
        Index("ix_post_scope_date", "scope", "date", "id"),
        # Both columns: with scope alone beside it, SQLite's planner took the scope index for
        # "same content the scope sees already" and loading became quadratic.
        Index("ix_post_content_hash", "content_hash", "scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: int = _scope()
    key: str = Field(sa_column=Column(Text, nullable=False))
    date: dt.date = Field(index=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    headline: str | None = Field(default=None, sa_column=Column(Text))
    source: str | None = Field(default=None, sa_column=Column(Text))
    author: str | None = Field(default=None, sa_column=Column(Text))
    body: str = Field(sa_column=Column(Text, nullable=False))
    truncated: bool = False
    labels: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    link: str | None = Field(default=None, sa_column=Column(Text))
    loaded_from: str = Field(sa_column=Column(Text, nullable=False))  # the file path or feed URL
    content_hash: str = Field(max_length=64)
    loaded_at: dt.datetime = _when(index=True)
    updated_at: dt.datetime = _when()


class Comment(SQLModel, table=True):
    """A comment in a post's thread: from the post itself, or collected from Discord."""

    __table_args__ = (
        Index("ix_comment_post_position", "post_id", "origin", "position"),
        Index("ix_comment_created_scope", "created_at", "scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = _post_fk()
    scope: int = _scope()  # its post's, or for a Discord comment the server it was written in
    position: int = 0
    author: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    posted_at: dt.datetime | None = _when(nullable=True)
    origin: CommentOrigin = _state(CommentOrigin.POST)
    discord_message_id: int | None = _snowflake(unique=True)
    discord_user_id: int | None = _snowflake(index=True)
    discord_guild_id: int | None = _snowflake(index=True)
    discord_channel_id: int | None = _snowflake()
    created_at: dt.datetime = _when()


class Treaty(SQLModel, table=True):
    """A treaty: known by name from the catalog or a quote, or loaded with its full text."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    title: str | None = Field(default=None, sa_column=Column(Text))
    preamble: str | None = Field(default=None, sa_column=Column(Text))
    provenance: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    has_text: bool = False  # True once the full text was loaded
    created_at: dt.datetime = _when()


class TreatyAlias(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    treaty_id: int = Field(sa_column=Column(Integer, ForeignKey("treaty.id", ondelete="CASCADE"), nullable=False, index=True))
    alias: str = Field(sa_column=Column(Text, nullable=False, unique=True))


class Article(SQLModel, table=True):
    """An article of a loaded treaty text."""

    __table_args__ = (UniqueConstraint("treaty_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    treaty_id: int = Field(sa_column=Column(Integer, ForeignKey("treaty.id", ondelete="CASCADE"), nullable=False, index=True))
    number: int
    label: str = Field(max_length=16)
    chapter: str | None = Field(default=None, sa_column=Column(Text))
    text: str = Field(sa_column=Column(Text, nullable=False))
    # "Article 5 — North Atlantic Treaty (NATO)": searched beside the text (migration 0007)
    heading: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))


class Quote(SQLModel, table=True):
    """A post (or one of its comments) citing an article, with the words it quotes if any."""

    __table_args__ = (
        Index("ix_quote_article", "treaty_id", "number", "post_date", "post_id", "scope"),
        Index("ix_quote_treaty_date", "treaty_id", "post_date", "scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = _post_fk()
    scope: int = _scope()  # its post's, copied so "who cites it here" is an index read
    comment_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("comment.id", ondelete="CASCADE"), nullable=True, index=True)
    )
    treaty_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("treaty.id", ondelete="SET NULL"), nullable=True)
    )
    number: int
    paragraph: str | None = Field(default=None, sa_column=Column(String(16)))  # "4" for 2(4), "bis" for 8 bis
    text: str | None = Field(default=None, sa_column=Column(Text))
    offset: int = 0
    post_date: dt.date  # the post's, copied so "newest citing posts" is an index read


class BotState(SQLModel, table=True):
    """Small facts the bot remembers between runs, e.g. the hash of the last synced command tree."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class GuildConfig(SQLModel, table=True):
    """Per-server choices."""

    guild_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    collect_mode: CollectMode = _state(CollectMode.AUTO)
    # Answer article references in post threads (/discussion quotes; migration 0007).
    chat_quotes: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True, server_default=true()))


class ChatAnswer(SQLModel, table=True):
    """A chat message the bot answered with article cards: each is answered once (restarts, duplicates)."""

    message_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    guild_id: int = _snowflake(nullable=False)
    answered_at: dt.datetime = _when(index=True)


class PostThread(SQLModel, table=True):
    """The Discord thread where a server discusses a post: one per post per server."""

    __table_args__ = (UniqueConstraint("post_id", "guild_id"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = _post_fk()
    guild_id: int = _snowflake(nullable=False)
    channel_id: int = _snowflake(nullable=False)
    thread_id: int = _snowflake(nullable=False, unique=True)
    created_at: dt.datetime = _when()


class DigestSubscription(SQLModel, table=True):
    """A channel's daily digest: local time and IANA timezone."""

    __table_args__ = (UniqueConstraint("guild_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _snowflake(nullable=False, index=True)
    channel_id: int = _snowflake(nullable=False)
    time: str = Field(max_length=5)  # "HH:MM", local
    timezone: str = Field(max_length=64)
    quiet: bool = True  # empty days post nothing
    created_at: dt.datetime = _when()
    max_posts: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # None: the style's default
    style: str = Field(default="full", sa_column=Column(String(16), nullable=False, server_default="full"))  # DigestStyle
    role_id: int | None = _snowflake()  # the role each digest mentions (and no one else)


class DigestRun(SQLModel, table=True):
    """One digest of one channel for one local date. The unique row is the exactly-once claim."""

    __table_args__ = (UniqueConstraint("channel_id", "local_date"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = _snowflake(nullable=False, index=True)
    channel_id: int = _snowflake(nullable=False)
    local_date: dt.date
    status: DigestStatus = _state()
    reason: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    post_count: int = 0
    since: dt.datetime | None = _when(nullable=True)  # posts loaded after this were new
    until: dt.datetime | None = _when(nullable=True)
    claimed_at: dt.datetime = _when()
    finished_at: dt.datetime | None = _when(nullable=True)
    lease_until: dt.datetime | None = _when(nullable=True)  # a claim not finished by then may be taken over
    # Of this run's messages, how many went out: a taken-over run sends only the rest.
    messages_sent: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class FeedSource(SQLModel, table=True):
    """A feed URL: fetched once per poll however many servers watch it (conditional GET state, back-off)."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, sa_column=Column(Text))
    last_polled_at: dt.datetime | None = _when(nullable=True)
    next_poll_at: dt.datetime | None = _when(nullable=True, index=True)
    last_status: str | None = Field(default=None, sa_column=Column(Text))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    failures: int = 0
    failing_since: dt.datetime | None = _when(nullable=True)
    paused: bool = False
    created_at: dt.datetime = _when()
    lease_until: dt.datetime | None = _when(nullable=True)  # a process polling it now; others leave it
    leased_by: str | None = Field(default=None, sa_column=Column(Text))
    title: str | None = Field(default=None, sa_column=Column(Text))  # the feed's own title, as last fetched


class Feed(SQLModel, table=True):
    """A server's (or, with guild None, the operator's) subscription to a feed URL."""

    __table_args__ = (UniqueConstraint("guild_id", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int | None = _snowflake(index=True)  # None: added from the CLI; its posts go to the library
    source_id: int = Field(
        sa_column=Column(Integer, ForeignKey("feedsource.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    channel_id: int | None = _snowflake()
    interval_minutes: int = 15
    primed: bool = False  # first poll done: later entries are announced
    created_at: dt.datetime = _when()
    role_id: int | None = _snowflake()  # the role each announcement mentions (and no one else)
    threads: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False, server_default=false()))
    include_words: str | None = Field(default=None, sa_column=Column(Text))  # "word, phrase": announce only matches
    exclude_words: str | None = Field(default=None, sa_column=Column(Text))  # "word, phrase": never announce matches


class FeedEntry(SQLModel, table=True):
    """An entry a subscription has seen: each is announced once per subscription (the outbox)."""

    __table_args__ = (UniqueConstraint("feed_id", "entry_key"), Index("ix_feedentry_pending", "state", "feed_id"))

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(sa_column=Column(Integer, ForeignKey("feed.id", ondelete="CASCADE"), nullable=False))
    entry_key: str = Field(sa_column=Column(Text, nullable=False))  # the post key of the entry
    post_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("post.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: dt.datetime = _when()
    state: AnnouncementState = _state(AnnouncementState.SEEN)
    lease_until: dt.datetime | None = _when(nullable=True)  # a sender has it until then
    image: str | None = Field(default=None, sa_column=Column(Text))  # the entry's picture, shown on its card
