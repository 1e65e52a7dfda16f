"""Community comments from Discord: saving, editing and deleting them, threads, the collect mode, forget-me.

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
from dataclasses import dataclass, replace

from bot.db import Database
from bot.errors import UserFacingError
from bot.models import LIBRARY
from bot.services.posts import cards
from bot.services.views import CollectMode, CommentRef, PostCard, PostRef, SavedComment, StoredComment, ThreadRef
from bot.store import discussion, posts
from bot.store.discussion import DiscordComment

log = logging.getLogger(__name__)

MAX_COMMENT_LENGTH = 4000
BATCH_SIZE = 100


@dataclass(frozen=True)
class CommentEdit:
    message_id: int
    text: str


@dataclass(frozen=True)
class CommentDeletion:
    message_ids: tuple[int, ...]


Change = DiscordComment | CommentEdit | CommentDeletion


# --------------------------------------------------------------------------- text


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
        raise UserFacingError(f"That comment is {len(text)} characters long; comments can be at most {MAX_COMMENT_LENGTH}.")
    return text


def is_valid_text(text: str) -> bool:
    return bool(text.strip()) and len(text) <= MAX_COMMENT_LENGTH


def collected_text(text: str) -> str:
    """A thread message as a comment: whole when it fits, else cut (at a word) with a note saying so,
    so a long message is never dropped without a trace."""
    if len(text) <= MAX_COMMENT_LENGTH:
        return text
    note = f"\n\n[cut: the message was {len(text):,} characters; comments keep {MAX_COMMENT_LENGTH:,}]"
    keep = text[: MAX_COMMENT_LENGTH - len(note)]
    if " " in keep[-200:]:
        keep = keep.rsplit(" ", 1)[0]
    return keep.rstrip() + note


# --------------------------------------------------------------------------- saving


def save_comment(db: Database, *, comment: DiscordComment, now: dt.datetime) -> SavedComment:
    """Store one comment on `comment.post_id` (from /comment add or the menu), or find it stored already."""
    if comment.post_id is None:
        raise ValueError("save_comment needs a post_id")
    check_text(comment.text)
    with db.session() as session:
        post = posts.post_ref(session, post_id=comment.post_id, scope=comment.guild_id or LIBRARY)
        if post is None:
            raise UserFacingError("That post no longer exists, so the comment was not saved.")
        new_id = discussion.add_comment(session, comment=comment, now=now)
        if new_id is not None:
            return SavedComment(CommentRef(id=new_id, post_id=post.id, author=comment.author, post_title=post.title), created=True)
        return SavedComment(discussion.comment_of_message(session, message_id=comment.message_id), created=False)


def _insert_collected(session, comments: list[DiscordComment], now: dt.datetime) -> None:
    """Store comments given a post (the menu, /comment) or a post's thread (collected from chat)."""
    threads = discussion.collecting_threads(session, thread_ids={c.channel_id for c in comments if c.post_id is None})
    wanted = [(c, c.post_id if c.post_id is not None else threads.get(c.channel_id)) for c in comments]
    wanted = [(c, post_id) for c, post_id in wanted if post_id is not None and is_valid_text(c.text)]
    if wanted:
        existing = posts.existing_posts(session, post_ids=list({p for _, p in wanted}))
        discussion.add_comments(session, comments=[replace(c, post_id=post_id) for c, post_id in wanted if post_id in existing], now=now)


def apply_changes(db: Database, *, changes: list[Change], now: dt.datetime) -> None:
    """Apply gateway changes in arrival order, in one transaction."""
    with db.session() as session:
        pending: list[DiscordComment] = []
        for change in changes:
            if isinstance(change, DiscordComment):
                pending.append(change)
                continue
            if pending:  # write the comments an edit or delete may refer to first
                _insert_collected(session, pending, now)
                pending = []
            if isinstance(change, CommentEdit):
                if is_valid_text(change.text):
                    discussion.edit_comment(session, message_id=change.message_id, text=change.text)
            else:
                discussion.delete_comments(session, message_ids=change.message_ids)
        if pending:
            _insert_collected(session, pending, now)


class CommentWriter:
    """Queues gateway changes and writes them in batches, off the event loop, in arrival order.

    One drain task at a time (started by `put`, ending when the queue is empty) means one
    transaction at a time; while it writes, new changes pile up and go in the next batch, so
    a burst becomes a few transactions of up to `batch_size` changes instead of hundreds.
    """

    def __init__(self, db: Database, *, clock, batch_size: int = BATCH_SIZE) -> None:
        self.db = db
        self.clock = clock  # () -> aware UTC now
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
            await self.db.call(apply_changes, changes=batch, now=self.clock())
            return
        except Exception:
            log.exception("writing %d comment changes failed; retrying one at a time", len(batch))
        for change in batch:  # one bad row must not lose the others
            try:
                await self.db.call(apply_changes, changes=[change], now=self.clock())
            except Exception:
                log.exception("could not write comment change %r", change)


# --------------------------------------------------------------------------- forget-me and removal


def count_member_comments(db: Database, *, guild_id: int, user_id: int) -> int:
    with db.session() as session:
        return discussion.count_member_comments(session, guild_id=guild_id, user_id=user_id)


def forget_member(db: Database, *, guild_id: int, user_id: int) -> int:
    """Delete every Discord comment of a member in a server; returns how many."""
    with db.session() as session:
        return discussion.delete_member_comments(session, guild_id=guild_id, user_id=user_id)


def remove_comment(db: Database, *, comment_id: int, guild_id: int, user_id: int | None = None) -> CommentRef:
    """Remove a comment saved from this server: any (admins, `user_id=None`) or the member's own.

    A post's original comments belong to its file and are not removed here.
    """
    with db.session() as session:
        found = discussion.server_comment(session, comment_id=comment_id, guild_id=guild_id, user_id=user_id)
        if found is None:
            whose = "from this server" if user_id is None else "of yours from this server"
            raise UserFacingError(f"There is no comment #{comment_id} {whose}.")
        discussion.delete_comment(session, comment_id=comment_id)
        return found


def list_comments(db: Database, *, post_id: int, scope: int | None) -> list[StoredComment]:
    """A post's comments the viewer sees: its own in file order, then this server's from Discord in the order they were written."""
    with db.session() as session:
        return posts.post_comments(session, post_id=post_id, scope=scope)


# --------------------------------------------------------------------------- threads


def post_thread(db: Database, *, post_id: int, guild_id: int) -> ThreadRef | None:
    with db.session() as session:
        return discussion.get_thread(session, post_id=post_id, guild_id=guild_id)


def discussion_card(db: Database, *, post_id: int, guild_id: int) -> tuple[PostCard, CollectMode]:
    """The post's card for its new thread, and whether the server saves thread messages (CPU: call via `db.call`)."""
    with db.session() as session:
        found = cards(session, post_ids=[post_id], scope=guild_id)
        mode = discussion.collect_mode(session, guild_id=guild_id)
    if not found:
        raise UserFacingError("That post no longer exists.")
    return found[0], mode


def register_thread(db: Database, *, thread: ThreadRef, now: dt.datetime) -> ThreadRef:
    """Remember a post's new thread; if the server got one meanwhile, that one wins and is returned."""
    with db.session() as session:
        return discussion.add_thread(session, thread=thread, now=now)


def forget_thread(db: Database, *, thread_id: int) -> bool:
    """The thread is gone from Discord: the next /discuss opens a new one. Its comments stay."""
    with db.session() as session:
        return discussion.delete_thread(session, thread_id=thread_id)


def comment_target(db: Database, *, thread_id: int | None, message_id: int) -> PostRef | None:
    """The post a message belongs to: its thread's post, else the post it is a comment on already."""
    with db.session() as session:
        if thread_id is not None and (post := discussion.thread_post(session, thread_id=thread_id)) is not None:
            return post
        existing = discussion.comment_of_message(session, message_id=message_id)
        return posts.post_ref(session, post_id=existing.post_id, scope=None) if existing else None


def set_collect_mode(db: Database, *, guild_id: int, mode: CollectMode | str) -> CollectMode:
    try:
        chosen = CollectMode(mode)
    except ValueError:
        raise UserFacingError(f"Unknown mode {mode!r}; use {' or '.join(CollectMode)}.") from None
    with db.session() as session:
        discussion.set_collect_mode(session, guild_id=guild_id, mode=chosen)
    return chosen
