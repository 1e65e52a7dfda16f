"""Export: the store back to files in the post file layout (or JSON), one file per post.

A text export loads back unchanged (`load(export(store))` reproduces the store): a server's
post starts with its "Server: <id>" line, and Discord comments follow the post's own as
"<display name> said..." with the server, member and message they come from, and their time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from bot.db import Database
from bot.ingest.post_writer import format_post, slugify
from bot.ingest.posts import DiscordIds, ParsedComment, ParsedPost
from bot.services.views import CommentOrigin, StoredComment, StoredPost
from bot.store.posts import iter_posts

FORMATS = ("text", "json")


def _json_default(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def as_parsed(post: StoredPost) -> ParsedPost:
    """A stored post in parser form, for the text layout; Discord comments follow the original ones."""
    return ParsedPost(
        date=post.date,
        title=post.title,
        headline=post.headline,
        source=post.source,
        body=post.body,
        truncated=post.truncated,
        comments=[
            ParsedComment(author=c.author, text=c.text, posted_at=c.posted_at, position=i, discord=_discord_ids(c))
            for i, c in enumerate(post.comments)
        ],
        author=post.author,
        labels=list(post.labels),
        link=post.link,
        declared_comments=len(post.comments),
        scope=post.scope or None,
    )


def _discord_ids(comment: StoredComment) -> DiscordIds | None:
    """Where a comment from Discord was written, so the export loads back into the same server."""
    if comment.origin != CommentOrigin.DISCORD or not comment.discord_guild_id:
        return None
    return DiscordIds(comment.discord_guild_id, comment.discord_user_id, comment.discord_message_id)


def render_post(post: StoredPost, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(dataclasses.asdict(post), default=_json_default, ensure_ascii=False, indent=2) + "\n"
    return format_post(as_parsed(post))


def export_posts(db: Database, *, out_dir: Path, fmt: str = "text") -> list[Path]:
    """Write every post to `out_dir` as `<date>-<title slug>.txt|json`; returns the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    db.upgrade()
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".json" if fmt == "json" else ".txt"
    written: list[Path] = []
    taken: set[str] = set()
    with db.session() as session:
        for post in iter_posts(session):
            stem = f"{post.date.isoformat()}-{slugify(post.title)}"
            name, n = stem, 2
            while name in taken:
                name, n = f"{stem}-{n}", n + 1
            taken.add(name)
            path = out_dir / f"{name}{suffix}"
            path.write_text(render_post(post, fmt), encoding="utf-8")
            written.append(path)
    return written
