"""Reading posts: the post card (/post show, /discuss, feed announcements, digests), /post list,
and resolving a `post` option (the CLI's `posts` and `post show` use the same).

Decisions where the issues leave room:
- /post list pages are fetched one at a time, so a store of 100k posts is never read at once;
  the page count comes from one COUNT over the post table.
- A `post` option holds the id autocomplete put there; typed text (not picked from the list)
  picks the post titled exactly so, else the one post whose title contains every word; when
  several do, none is picked silently: `AmbiguousPost` names them.
- Every use case takes the viewer's `scope` (a server's id, LIBRARY for a direct message, None
  for the operator) and answers with what that viewer sees (DESIGN.md §8).
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.tails import drop_tails
from bot.services.views import PostCard, PostPage, PostRef
from bot.store import discussion, posts, treaties
from bot.summarize import summarize

log = logging.getLogger(__name__)

PAGE_SIZE = 10
CHOICES = 25
CANDIDATES = 5  # posts an ambiguous `post` option names


class AmbiguousPost(UserFacingError):
    """Typed text that several posts match: the member picks one (`candidates`, newest first)."""

    def __init__(self, value: str, candidates: list[PostRef]) -> None:
        super().__init__(f"Several posts match {value!r}; pick one from the suggestions while typing.")
        self.value, self.candidates = value, candidates


def cards(session: Session, *, post_ids: list[int], scope: int | None) -> list[PostCard]:
    """The cards of these posts as the viewer sees them (its comments, its thread), in the order given.

    Posts gone meanwhile, and posts the viewer does not see, are left out. Summarising is CPU work:
    run the use case that calls this through `Database.call`.
    """
    found = posts.get_posts(session, post_ids=post_ids, scope=scope)
    ids = [i for i in post_ids if i in found]
    stats = posts.comment_stats(session, post_ids=ids, scope=scope)
    cited = treaties.quoted_articles(session, post_ids=ids)
    threads = discussion.threads_of(session, guild_id=scope, post_ids=ids) if scope else {}
    out = []
    for post_id in ids:
        post = found[post_id]
        by_treaty: dict[str, list[int]] = {}
        for treaty, number in cited.get(post_id, ()):
            by_treaty.setdefault(treaty, []).append(number)
        stat = stats.get(post_id)
        out.append(
            PostCard(
                id=post.id,
                title=post.title,
                date=post.date,
                source=post.source,
                headline=post.headline,
                link=post.link,
                summary=summarize(drop_tails(post.body)) if post.body.strip() else "",  # no "Continue reading..."
                articles=tuple((treaty, tuple(numbers)) for treaty, numbers in by_treaty.items()),
                comment_count=stat.count if stat else 0,
                newest_commenter=stat.newest_author if stat else None,
                thread=threads.get(post_id),
            )
        )
    return out


def show_post(db: Database, *, post_id: int, scope: int | None) -> PostCard:
    """What /post show tells of a post the viewer sees."""
    with db.session() as session:
        found = cards(session, post_ids=[post_id], scope=scope)
    if not found:
        raise UserFacingError("That post no longer exists.")
    return found[0]


def post_page(db: Database, *, page: int, scope: int | None, page_size: int = PAGE_SIZE) -> PostPage:
    """Page `page` (0-based) of the posts the viewer sees, newest first."""
    with db.session() as session:
        pages = -(-posts.count_posts(session, scope=scope) // page_size)
        listed = posts.list_posts(session, scope=scope, limit=page_size, offset=page * page_size)
    return PostPage(posts=tuple(listed), page=page, pages=pages)


def post_choices(db: Database, *, scope: int | None, current: str = "", limit: int = CHOICES) -> list[PostRef]:
    """Posts the viewer sees whose title contains what was typed, newest first: every `post` option's autocomplete."""
    with db.session() as session:
        return posts.find_posts(session, scope=scope, title=current, limit=limit)


def resolve_post(db: Database, *, value: str, scope: int | None) -> PostRef:
    """A `post` option: the id autocomplete put there, else the post the viewer sees titled exactly
    `value`, else the only one whose title contains its words; several: AmbiguousPost.

    A post of another server is "no longer exists" here, as if it had never been."""
    value = value.strip()
    with db.session() as session:
        if value.isdigit() and (found := posts.post_ref(session, post_id=int(value), scope=scope)) is not None:
            return found
        matches = posts.posts_titled(session, scope=scope, title=value, limit=CANDIDATES + 1) if value else []
        if not matches and value:
            matches = posts.find_posts(session, scope=scope, title=value, limit=CANDIDATES + 1)
    if len(matches) > 1:
        raise AmbiguousPost(value, matches[:CANDIDATES])
    if matches:
        return matches[0]
    if value.isdigit():
        raise UserFacingError(f"Post #{value} no longer exists; it may have been removed.")
    raise UserFacingError(f"No post matches {value!r}. Pick one from the suggestions while typing.")


def thread_post(db: Database, *, thread_id: int) -> PostRef | None:
    """The post a discussion thread belongs to (None: the channel is no post's thread)."""
    with db.session() as session:
        return discussion.thread_post(session, thread_id=thread_id)
