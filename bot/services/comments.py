"""Community comments from Discord: saving, editing and deleting them, threads, consent, forget-me.

Every path into the store (a thread message, `/comment add`, the "Save as comment" menu) is
idempotent by Discord message id, so a message saved twice is one comment. Messages that arrive
fast from the gateway go through `CommentWriter`, which writes them off the event loop in
batches and in arrival order (so an edit or delete never overtakes the message it changes).

Comment text is normalised to what the post file layout can carry (lines stripped, paragraphs
separated by one blank line), so an export loads back to the same comments.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import discord.utils
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError
from bot.models import ORIGIN_DISCORD, Comment, GuildConfig, Post, PostThread
from bot.store import CommentView, PostTitle, post_comments, search_post_titles
from bot.summarize import summarize

log = logging.getLogger(__name__)

MAX_COMMENT_LENGTH = 4000
SUMMARY_LENGTH = 300
AUTO, REQUEST = "auto", "request"
COLLECT_MODES = (AUTO, REQUEST)
BATCH_SIZE = 100


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewComment:
    """A comment to store. `post_id=None` means "the post whose thread `channel_id` is" (collected
    from chat): stored only if that thread is a post's thread and its server collects automatically."""

    author: str
    text: str
    posted_at: dt.datetime
    user_id: int | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None
    post_id: int | None = None


@dataclass(frozen=True)
class CommentEdit:
    message_id: int
    text: str


@dataclass(frozen=True)
class CommentDeletion:
    message_ids: tuple[int, ...]


Change = NewComment | CommentEdit | CommentDeletion


@dataclass(frozen=True)
class SavedComment:
    id: int
    post_id: int
    post_title: str
    created: bool  # False: that message was already a comment


@dataclass(frozen=True)
class RemovedComment:
    id: int
    author: str
    post_title: str


@dataclass(frozen=True)
class ThreadRef:
    post_id: int
    guild_id: int
    channel_id: int
    thread_id: int

    @property
    def url(self) -> str:
        return thread_url(self.guild_id, self.thread_id)


@dataclass(frozen=True)
class DiscussionCard:
    """What the first message of a post's thread shows."""

    post_id: int
    title: str
    date: dt.date
    source: str | None
    link: str | None
    summary: str
    comment_count: int
    collect_mode: str


def thread_url(guild_id: int, thread_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{thread_id}"


# --- text ----------------------------------------------------------------------------------------


def compose_text(content: str, attachment_urls: Iterable[str] = ()) -> str:
    """A message as comment text: its paragraphs, then its attachments as links, one a line."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*(content or "").splitlines(), "", *attachment_urls]:
        line = line.strip()
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def check_text(text: str) -> str:
    """The text if it can be a comment, else a UserFacingError that says why."""
    if not text.strip():
        raise UserFacingError("There is no text to save: the comment is empty.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise UserFacingError(
            f"That comment is {len(text)} characters long; comments can be at most {MAX_COMMENT_LENGTH}."
        )
    return text


def is_valid_text(text: str) -> bool:
    return bool(text.strip()) and len(text) <= MAX_COMMENT_LENGTH


# --- saving ---------------------------------------------------------------------------------------


def _insert(session: Session, table=Comment):
    """INSERT that can say ON CONFLICT DO NOTHING on both backends."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _row(comment: NewComment, post_id: int, now: dt.datetime) -> dict:
    return {
        "post_id": post_id,
        "position": 0,  # Discord comments are ordered by time, after the post's own
        "author": comment.author,
        "text": comment.text,
        "posted_at": comment.posted_at,
        "origin": ORIGIN_DISCORD,
        "discord_message_id": comment.message_id,
        "discord_user_id": comment.user_id,
        "discord_guild_id": comment.guild_id,
        "discord_channel_id": comment.channel_id,
        "created_at": now,
    }


def save_comment(db: Database, *, comment: NewComment) -> SavedComment:
    """Store one comment on `comment.post_id` (from /comment or the menu), or find it stored already."""
    if comment.post_id is None:
        raise ValueError("save_comment needs a post_id")
    check_text(comment.text)
    with db.session() as session:
        title = session.execute(select(Post.title).where(Post.id == comment.post_id)).scalar()
        if title is None:
            raise UserFacingError("That post no longer exists, so the comment was not saved.")
        statement = _insert(session).values(**_row(comment, comment.post_id, discord.utils.utcnow()))
        if comment.message_id is not None:
            statement = statement.on_conflict_do_nothing(index_elements=["discord_message_id"])
        new_id = session.execute(statement.returning(Comment.id)).scalar()
        if new_id is not None:
            return SavedComment(id=new_id, post_id=comment.post_id, post_title=title, created=True)
        existing = session.execute(
            select(Comment.id, Comment.post_id, Post.title)
            .join(Post, Post.id == Comment.post_id)
            .where(Comment.discord_message_id == comment.message_id)
        ).one()
        return SavedComment(id=existing[0], post_id=existing[1], post_title=existing[2], created=False)


def _resolve_collected(session: Session, comments: list[NewComment]) -> dict[int, int]:
    """thread id -> post id, for the threads among `comments` whose server collects automatically."""
    thread_ids = {c.channel_id for c in comments if c.post_id is None and c.channel_id is not None}
    if not thread_ids:
        return {}
    rows = session.execute(
        select(PostThread.thread_id, PostThread.post_id, GuildConfig.collect_mode)
        .outerjoin(GuildConfig, GuildConfig.guild_id == PostThread.guild_id)
        .where(PostThread.thread_id.in_(thread_ids))
    ).all()
    return {r[0]: r[1] for r in rows if (r[2] or AUTO) == AUTO}


def _insert_many(session: Session, comments: list[NewComment], now: dt.datetime) -> None:
    threads = _resolve_collected(session, comments)
    wanted = [(c, c.post_id if c.post_id is not None else threads.get(c.channel_id)) for c in comments]
    wanted = [(c, post_id) for c, post_id in wanted if post_id is not None and is_valid_text(c.text)]
    if not wanted:
        return
    existing = set(session.execute(select(Post.id).where(Post.id.in_({p for _, p in wanted}))).scalars())
    rows = [_row(c, post_id, now) for c, post_id in wanted if post_id in existing]
    if rows:  # a message saved meanwhile (the menu) is left as it is
        session.execute(_insert(session).on_conflict_do_nothing(index_elements=["discord_message_id"]), rows)


def _apply(session: Session, changes: list[Change], now: dt.datetime) -> None:
    pending: list[NewComment] = []
    for change in changes:
        if isinstance(change, NewComment):
            pending.append(change)
            continue
        if pending:  # keep arrival order: write the comments an edit or delete may refer to first
            _insert_many(session, pending, now)
            pending = []
        if isinstance(change, CommentEdit):
            if is_valid_text(change.text):
                session.execute(
                    update(Comment).where(Comment.discord_message_id == change.message_id).values(text=change.text)
                )
        else:
            session.execute(delete(Comment).where(Comment.discord_message_id.in_(change.message_ids)))
    if pending:
        _insert_many(session, pending, now)


def apply_changes(db: Database, *, changes: list[Change]) -> None:
    """Apply gateway changes in order, in one transaction."""
    with db.session() as session:
        _apply(session, changes, discord.utils.utcnow())


class CommentWriter:
    """Queues gateway changes and writes them in batches, off the event loop, in arrival order.

    One drain task at a time (started by `put`, ending when the queue is empty) means one
    transaction at a time; while it writes, new changes pile up and go in the next batch, so
    a burst becomes a few transactions of up to `batch_size` changes instead of hundreds.
    """

    def __init__(self, db: Database, *, batch_size: int = BATCH_SIZE) -> None:
        self.db = db
        self.batch_size = batch_size
        self.pending: deque[Change] = deque()
        self._task: asyncio.Task | None = None
        self._closed = False

    def put(self, change: Change) -> None:
        if self._closed:
            log.warning("comment writer is closed; dropped %r", change)
            return
        self.pending.append(change)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="comment-writer")

    async def flush(self) -> None:
        """Wait until everything queued so far is written (or given up on and logged)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Write what is queued, then accept nothing more (cog unload)."""
        self._closed = True
        await self.flush()

    async def _drain(self) -> None:
        while self.pending:
            batch = [self.pending.popleft() for _ in range(min(self.batch_size, len(self.pending)))]
            await self._write(batch)

    async def _write(self, batch: list[Change]) -> None:
        try:
            await self.db.run(apply_changes, self.db, changes=batch)
            return
        except Exception:
            log.exception("writing %d comment changes failed; retrying one at a time", len(batch))
        for change in batch:  # one bad row must not lose the others
            try:
                await self.db.run(apply_changes, self.db, changes=[change])
            except Exception:
                log.exception("could not write comment change %r", change)


# --- forget-me and removal -------------------------------------------------------------------


def _member_comments(guild_id: int, user_id: int):
    return (
        Comment.origin == ORIGIN_DISCORD,
        Comment.discord_guild_id == guild_id,
        Comment.discord_user_id == user_id,
    )


def count_member_comments(db: Database, *, guild_id: int, user_id: int) -> int:
    with db.session() as session:
        return session.execute(
            select(func.count()).select_from(Comment).where(*_member_comments(guild_id, user_id))
        ).scalar_one()


def forget_member(db: Database, *, guild_id: int, user_id: int) -> int:
    """Delete every Discord comment of a member in a server; returns how many."""
    with db.session() as session:
        return session.execute(delete(Comment).where(*_member_comments(guild_id, user_id))).rowcount or 0


def remove_comment(db: Database, *, comment_id: int, guild_id: int, user_id: int | None = None) -> RemovedComment:
    """Remove a comment saved from this server: any (admins, `user_id=None`) or the member's own.

    A post's original comments belong to its file and are not removed here.
    """
    with db.session() as session:
        query = (
            select(Comment.id, Comment.author, Post.title)
            .join(Post, Post.id == Comment.post_id)
            .where(Comment.id == comment_id, Comment.origin == ORIGIN_DISCORD, Comment.discord_guild_id == guild_id)
        )
        if user_id is not None:
            query = query.where(Comment.discord_user_id == user_id)
        row = session.execute(query).first()
        if row is None:
            whose = "from this server" if user_id is None else "of yours from this server"
            raise UserFacingError(f"There is no comment #{comment_id} {whose}.")
        session.execute(delete(Comment).where(Comment.id == comment_id))
        return RemovedComment(id=row[0], author=row[1], post_title=row[2])


# --- threads -----------------------------------------------------------------------------------


def _thread_ref(row: PostThread) -> ThreadRef:
    return ThreadRef(post_id=row.post_id, guild_id=row.guild_id, channel_id=row.channel_id, thread_id=row.thread_id)


def get_post_thread(db: Database, *, post_id: int, guild_id: int) -> ThreadRef | None:
    with db.session() as session:
        row = session.execute(
            select(PostThread).where(PostThread.post_id == post_id, PostThread.guild_id == guild_id)
        ).scalar()
        return _thread_ref(row) if row else None


def register_thread(db: Database, *, post_id: int, guild_id: int, channel_id: int, thread_id: int) -> ThreadRef:
    """Remember a post's new thread; if the server got one meanwhile, that one wins and is returned."""
    with db.session() as session:
        statement = (
            _insert(session, PostThread)
            .values(
                post_id=post_id,
                guild_id=guild_id,
                channel_id=channel_id,
                thread_id=thread_id,
                created_at=discord.utils.utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["post_id", "guild_id"])
        )
        session.execute(statement)
        row = session.execute(
            select(PostThread).where(PostThread.post_id == post_id, PostThread.guild_id == guild_id)
        ).scalar_one()
        return _thread_ref(row)


def forget_thread(db: Database, *, thread_id: int) -> bool:
    """The thread is gone from Discord: the next /discuss opens a new one. Its comments stay."""
    with db.session() as session:
        return bool(session.execute(delete(PostThread).where(PostThread.thread_id == thread_id)).rowcount)


def thread_post(db: Database, *, thread_id: int) -> PostTitle | None:
    """The post a thread discusses, if it is a post's thread."""
    with db.session() as session:
        row = session.execute(
            select(Post.id, Post.date, Post.title).join(PostThread, PostThread.post_id == Post.id).where(PostThread.thread_id == thread_id)
        ).first()
        return PostTitle(id=row[0], date=row[1], title=row[2]) if row else None


def thread_links(db: Database, *, guild_id: int, post_ids: Iterable[int]) -> dict[int, str]:
    """post id -> URL of its thread in this server, for the posts that have one (used by the digest)."""
    ids = set(post_ids)
    if not ids:
        return {}
    with db.session() as session:
        rows = session.execute(
            select(PostThread.post_id, PostThread.thread_id).where(PostThread.guild_id == guild_id, PostThread.post_id.in_(ids))
        ).all()
        return {post_id: thread_url(guild_id, thread_id) for post_id, thread_id in rows}


def comment_post(db: Database, *, message_id: int) -> PostTitle | None:
    """The post a Discord message is already a comment on, if any."""
    with db.session() as session:
        row = session.execute(
            select(Post.id, Post.date, Post.title).join(Comment, Comment.post_id == Post.id).where(Comment.discord_message_id == message_id)
        ).first()
        return PostTitle(id=row[0], date=row[1], title=row[2]) if row else None


def list_comments(db: Database, *, post_id: int) -> list[CommentView]:
    """A post's comments: its own in file order, then Discord's in the order they were written."""
    with db.session() as session:
        return post_comments(session, post_id=post_id)


# --- server setting -----------------------------------------------------------------------------


def get_collect_mode(db: Database, *, guild_id: int) -> str:
    with db.session() as session:
        config = session.get(GuildConfig, guild_id)
        return config.collect_mode if config else AUTO


def set_collect_mode(db: Database, *, guild_id: int, mode: str) -> str:
    if mode not in COLLECT_MODES:
        raise UserFacingError(f"Unknown mode {mode!r}; use {' or '.join(COLLECT_MODES)}.")
    with db.session() as session:
        config = session.get(GuildConfig, guild_id)
        if config is None:
            session.add(GuildConfig(guild_id=guild_id, collect_mode=mode))
        else:
            config.collect_mode = mode
        return mode


# --- posts -------------------------------------------------------------------------------------


def post_choices(db: Database, *, current: str, limit: int = 25) -> list[PostTitle]:
    with db.session() as session:
        return search_post_titles(session, current=current, limit=limit)


def resolve_post(db: Database, *, value: str) -> PostTitle:
    """A `post` option: the id autocomplete put there, else the newest post whose title matches."""
    value = value.strip()
    with db.session() as session:
        if value.isdigit():
            row = session.execute(select(Post.id, Post.date, Post.title).where(Post.id == int(value))).first()
            if row is not None:
                return PostTitle(id=row[0], date=row[1], title=row[2])
        found = search_post_titles(session, current=value, limit=1) if value else []
    if not found and value.isdigit():
        raise UserFacingError(f"Post #{value} no longer exists; it may have been removed.")
    if not found:
        raise UserFacingError(f"No post matches {value!r}. Pick one from the suggestions while typing.")
    return found[0]


def discussion_card(db: Database, *, post_id: int, guild_id: int) -> DiscussionCard:
    """The post's summary card for its thread (summarising is CPU work: call this via `db.run`)."""
    with db.session() as session:
        post = session.get(Post, post_id)
        if post is None:
            raise UserFacingError("That post no longer exists.")
        count = session.execute(select(func.count()).select_from(Comment).where(Comment.post_id == post_id)).scalar_one()
        config = session.get(GuildConfig, guild_id)
        title, date, source, link, body = post.title, post.date, post.source, post.link, post.body
    summary = summarize(body) if body.strip() else ""
    if len(summary) > SUMMARY_LENGTH:
        summary = summary[: SUMMARY_LENGTH - 1].rsplit(" ", 1)[0] + "…"
    return DiscussionCard(
        post_id=post_id,
        title=title,
        date=date,
        source=source,
        link=link,
        summary=summary,
        comment_count=count,
        collect_mode=config.collect_mode if config else AUTO,
    )
