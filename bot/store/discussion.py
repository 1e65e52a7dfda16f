"""Discussion in Discord: comments collected from chat, each post's thread per server, server settings.

A Discord comment is unique by its message id, so every path that stores one (a thread
message, /comment add, the "Save as comment" menu) inserts with ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from bot.models import LIBRARY, CollectMode, Comment, CommentOrigin, GuildConfig, Post, PostThread
from bot.store._sql import chunks, insert_or_ignore
from bot.store.posts import PostRef


@dataclass(frozen=True)
class DiscordComment:
    """A comment written in Discord. Stored on `post_id`; None (a message collected from a thread)
    means "the post whose thread `channel_id` is", which the service resolves before storing."""

    author: str
    text: str
    posted_at: dt.datetime
    user_id: int | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None
    post_id: int | None = None


@dataclass(frozen=True)
class ThreadRef:
    """The Discord thread where a server discusses a post."""

    post_id: int
    guild_id: int
    channel_id: int
    thread_id: int


@dataclass(frozen=True)
class CommentRef:
    id: int
    post_id: int
    author: str
    post_title: str


# --------------------------------------------------------------------------- comments


def _row(c: DiscordComment, now: dt.datetime) -> dict:
    return {
        "post_id": c.post_id,
        "scope": c.guild_id or LIBRARY,  # a Discord comment belongs to the server it was written in
        "position": 0,  # Discord comments are ordered by time, after the post's own
        "author": c.author,
        "text": c.text,
        "posted_at": c.posted_at,
        "origin": CommentOrigin.DISCORD,
        "discord_message_id": c.message_id,
        "discord_user_id": c.user_id,
        "discord_guild_id": c.guild_id,
        "discord_channel_id": c.channel_id,
        "created_at": now,
    }


def add_comment(session: Session, *, comment: DiscordComment, now: dt.datetime) -> int | None:
    """Store one comment; its id, or None when its message is a comment already."""
    statement = insert_or_ignore(session, Comment).values(**_row(comment, now))
    if comment.message_id is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["discord_message_id"])
    return session.execute(statement.returning(Comment.id)).scalar()


def add_comments(session: Session, *, comments: list[DiscordComment], now: dt.datetime) -> None:
    """Store many comments; messages already stored are left as they are."""
    if comments:
        statement = insert_or_ignore(session, Comment).on_conflict_do_nothing(index_elements=["discord_message_id"])
        session.execute(statement, [_row(c, now) for c in comments])


def comment_of_message(session: Session, *, message_id: int) -> CommentRef | None:
    row = session.execute(
        select(Comment.id, Comment.post_id, Comment.author, Post.title)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.discord_message_id == message_id)
    ).first()
    return CommentRef(id=row[0], post_id=row[1], author=row[2], post_title=row[3]) if row else None


def edit_comment(session: Session, *, message_id: int, text: str) -> None:
    session.execute(update(Comment).where(Comment.discord_message_id == message_id).values(text=text))


def delete_comments(session: Session, *, message_ids: Iterable[int]) -> None:
    session.execute(delete(Comment).where(Comment.discord_message_id.in_(list(message_ids))))


def _member(guild_id: int, user_id: int):
    return (Comment.origin == CommentOrigin.DISCORD, Comment.discord_guild_id == guild_id, Comment.discord_user_id == user_id)


def count_member_comments(session: Session, *, guild_id: int, user_id: int) -> int:
    return session.execute(select(func.count()).select_from(Comment).where(*_member(guild_id, user_id))).scalar_one()


def delete_member_comments(session: Session, *, guild_id: int, user_id: int) -> int:
    return session.execute(delete(Comment).where(*_member(guild_id, user_id))).rowcount or 0


def server_comment(session: Session, *, comment_id: int, guild_id: int, user_id: int | None = None) -> CommentRef | None:
    """A Discord comment written in this server (by this member, when given)."""
    query = (
        select(Comment.id, Comment.post_id, Comment.author, Post.title)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id == comment_id, Comment.origin == CommentOrigin.DISCORD, Comment.discord_guild_id == guild_id)
    )
    if user_id is not None:
        query = query.where(Comment.discord_user_id == user_id)
    row = session.execute(query).first()
    return CommentRef(id=row[0], post_id=row[1], author=row[2], post_title=row[3]) if row else None


def delete_comment(session: Session, *, comment_id: int) -> None:
    session.execute(delete(Comment).where(Comment.id == comment_id))


# --------------------------------------------------------------------------- threads


def _thread(row: PostThread) -> ThreadRef:
    return ThreadRef(post_id=row.post_id, guild_id=row.guild_id, channel_id=row.channel_id, thread_id=row.thread_id)


def get_thread(session: Session, *, post_id: int, guild_id: int) -> ThreadRef | None:
    row = session.execute(select(PostThread).where(PostThread.post_id == post_id, PostThread.guild_id == guild_id)).scalar()
    return _thread(row) if row else None


def threads_of(session: Session, *, guild_id: int, post_ids: list[int]) -> dict[int, ThreadRef]:
    """post id -> this server's thread, for the posts that have one."""
    found: dict[int, ThreadRef] = {}
    for chunk in chunks(post_ids):
        rows = session.execute(select(PostThread).where(PostThread.guild_id == guild_id, PostThread.post_id.in_(chunk))).scalars()
        found.update((r.post_id, _thread(r)) for r in rows)
    return found


def add_thread(session: Session, *, thread: ThreadRef, now: dt.datetime) -> ThreadRef:
    """Remember a post's new thread; if the server got one meanwhile, that one wins and is returned."""
    statement = (
        insert_or_ignore(session, PostThread)
        .values(post_id=thread.post_id, guild_id=thread.guild_id, channel_id=thread.channel_id, thread_id=thread.thread_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["post_id", "guild_id"])
    )
    session.execute(statement)
    return get_thread(session, post_id=thread.post_id, guild_id=thread.guild_id)


def delete_thread(session: Session, *, thread_id: int) -> bool:
    return bool(session.execute(delete(PostThread).where(PostThread.thread_id == thread_id)).rowcount)


def thread_post(session: Session, *, thread_id: int) -> PostRef | None:
    """The post a thread discusses, if it is a post's thread."""
    row = session.execute(
        select(Post.id, Post.date, Post.title).join(PostThread, PostThread.post_id == Post.id).where(PostThread.thread_id == thread_id)
    ).first()
    return PostRef(id=row.id, date=row.date, title=row.title) if row else None


def collecting_threads(session: Session, *, thread_ids: Iterable[int]) -> dict[int, int]:
    """thread id -> post id, for those threads whose server saves every message (CollectMode.AUTO)."""
    rows = session.execute(
        select(PostThread.thread_id, PostThread.post_id, GuildConfig.collect_mode)
        .outerjoin(GuildConfig, GuildConfig.guild_id == PostThread.guild_id)
        .where(PostThread.thread_id.in_(list(thread_ids)))
    ).all()
    return {r[0]: r[1] for r in rows if (r[2] or CollectMode.AUTO) == CollectMode.AUTO}


# --------------------------------------------------------------------------- server settings


def collect_mode(session: Session, *, guild_id: int) -> CollectMode:
    config = session.get(GuildConfig, guild_id)
    return CollectMode(config.collect_mode) if config else CollectMode.AUTO


def set_collect_mode(session: Session, *, guild_id: int, mode: CollectMode) -> None:
    config = session.get(GuildConfig, guild_id)
    if config is None:
        session.add(GuildConfig(guild_id=guild_id, collect_mode=mode))
    else:
        config.collect_mode = mode
