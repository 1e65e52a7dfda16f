"""Export: the store back to files in the post file layout (or JSON), one file per post.

A text export loads back unchanged (`load(export(store))` reproduces the store): a server's
post starts with its "Server: <id>" line, and Discord comments follow the post's own as
"<display name> said..." with the server, member and message they come from, and their time.

`/export` is one server's export, as a zip of the same files `postbot export` writes: the
server's own posts with all their comments, and the library's posts its members commented on,
with the post's own comments and this server's - never another server's. Library posts nobody
here commented on are left out: they are the operator's, shared by every server, and can be
many; a library post this server discussed is in, since its comments mean nothing without it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.db import Database
from bot.errors import UserFacingError
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


def _named(posts: Iterator[StoredPost], fmt: str) -> Iterator[tuple[str, StoredPost]]:
    """Each post with its file name, `<date>-<title slug>.txt|json`, made unique with -2, -3, ..."""
    suffix = ".json" if fmt == "json" else ".txt"
    taken: set[str] = set()
    for post in posts:
        stem = f"{post.date.isoformat()}-{slugify(post.title)}"
        name, n = stem, 2
        while name in taken:
            name, n = f"{stem}-{n}", n + 1
        taken.add(name)
        yield f"{name}{suffix}", post


def export_posts(db: Database, *, out_dir: Path, fmt: str = "text") -> list[Path]:
    """Write every post to `out_dir` as `<date>-<title slug>.txt|json`; returns the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    db.upgrade()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with db.session() as session:
        for name, post in _named(iter_posts(session), fmt):
            path = out_dir / name
            path.write_text(render_post(post, fmt), encoding="utf-8")
            written.append(path)
    return written


@dataclass(frozen=True)
class Archive:
    """One server's export as a zip, and what is in it."""

    filename: str
    data: bytes
    posts: int  # its own
    library_posts: int  # the library's it commented on
    comments: int  # written in this server


def export_archive(db: Database, *, server: int, fmt: str = "text", now: dt.datetime, max_bytes: int) -> Archive:
    """A server's posts and comments (see the module doc) as a zip of `postbot export`'s files; a
    UserFacingError when there is nothing to export or the zip outgrows `max_bytes`."""
    if fmt not in FORMATS:
        raise UserFacingError(f"Unknown format {fmt!r}; use {' or '.join(FORMATS)}.")
    buffer = io.BytesIO()
    own = library = written_here = 0
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, db.session() as session:
        for name, post in _named(iter_posts(session, server=server), fmt):
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), render_post(post, fmt))
            own, library = own + (post.scope == server), library + (post.scope != server)
            written_here += sum(c.origin == CommentOrigin.DISCORD and c.discord_guild_id == server for c in post.comments)
            if buffer.tell() > max_bytes:
                raise UserFacingError(
                    f"This server's export is larger than {max_bytes // (1024 * 1024)} MB, more than I can attach here; "
                    "the bot's operator can run `postbot export`."
                )
    if not own and not library:
        raise UserFacingError("There is nothing to export yet: this server has no posts of its own and no comments on the library's.")
    filename = f"postbot-export-{server}-{now.date().isoformat()}-{fmt}.zip"
    return Archive(filename=filename, data=buffer.getvalue(), posts=own, library_posts=library, comments=written_here)
