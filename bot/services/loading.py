"""THE path from sources to the store: read, tell what a source is, parse, store, find quotes.

`postbot load`, `/load`, watched feeds, the demo and the benchmark all call `load`. A source is
a post file, an RSS/Atom feed or a full treaty text, from a path, a URL or bytes in hand (an
upload, a fetched feed). Each source is all or nothing, and a bad one never loses the good
ones: sources are stored in batches that commit together (per-file transactions made loading
~10x slower than the store allows, bench/README.md); when anything in a batch fails, the batch
rolls back and each of its sources is stored again on its own, so only the bad one fails.
Results are reported (and `progress` called) once their batch committed, so an interruption
keeps, and reports, what finished.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from bot.db import Database
from bot.errors import ParseError, PostbotError, UserFacingError
from bot.ingest.feeds import looks_like_feed, parse_feed
from bot.ingest.post_writer import slugify
from bot.ingest.posts import ParsedComment, ParsedPost, decode_post_bytes, parse_post
from bot.ingest.treaties import ParsedTreaty, parse_treaty
from bot.services.treaties import extract_quotes, store_treaty
from bot.services.views import LoadReport, LoadStatus, SourceKind, SourceResult
from bot.models import LIBRARY
from bot.store.discussion import DiscordComment, add_comments
from bot.store.posts import CommentRow, PostRow, discord_signatures, upsert_post

log = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 20
BATCH_SOURCES = 200  # parsed sources stored per transaction
SKIPPED_SUFFIXES = {".db", ".db-wal", ".db-shm", ".sqlite", ".json", ".md"}


class SourceError(PostbotError):
    """A source that cannot be read at all (missing, too large, unreachable)."""


@dataclass(frozen=True)
class Source:
    """Something to load: a path or URL, or bytes already in hand named `name`."""

    name: str
    data: bytes | None = None


@dataclass
class _Parsed:
    result: SourceResult
    posts: list[ParsedPost] = field(default_factory=list)
    treaty: ParsedTreaty | None = None


# --------------------------------------------------------------------------- reading and parsing


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def expand_sources(sources: Iterable[str | Source]) -> list[Source]:
    """Files as given, directories recursively (sorted, hidden and database files skipped), URLs as they are."""
    expanded: list[Source] = []
    for source in sources:
        if isinstance(source, Source):
            expanded.append(source)
            continue
        path = Path(source)
        if is_url(source) or not path.is_dir():
            expanded.append(Source(source))
            continue
        for child in sorted(path.rglob("*")):
            relative = child.relative_to(path).parts
            if child.is_file() and not any(p.startswith(".") for p in relative) and child.suffix.lower() not in SKIPPED_SUFFIXES:
                expanded.append(Source(str(child)))
    return expanded


def _too_large() -> SourceError:
    return SourceError(f"larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MB; not a post, feed or treaty file")


def read_source(name: str) -> bytes:
    """The bytes of a file or URL, refusing anything too large to be a post or feed."""
    if is_url(name):
        request = urllib.request.Request(name, headers={"User-Agent": "postbot (+feed loader)"})
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
                data = response.read(MAX_SOURCE_BYTES + 1)
        except OSError as exc:
            raise SourceError(f"could not fetch: {exc}") from None
    else:
        path = Path(name)
        if not path.exists():
            raise SourceError("no such file or directory")
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise _too_large()
        data = path.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise _too_large()
    return data


def _parse(source: Source) -> _Parsed:
    """Read and tell what a source is; a failure is recorded in the result, never raised."""
    parsed = _Parsed(SourceResult(source=source.name))
    result = parsed.result
    try:
        data = read_source(source.name) if source.data is None else source.data
        if looks_like_feed(data):
            result.kind = SourceKind.FEED
            feed = parse_feed(data)
            parsed.posts, result.warnings = feed.posts, list(feed.warnings)
            return parsed
        text, warning = decode_post_bytes(data)
        try:
            post = parse_post(text)
        except ParseError as post_error:
            parsed.treaty = _treaty_or_raise(text, post_error)
            result.kind = SourceKind.TREATY
            return parsed
        result.kind = SourceKind.POST
        parsed.posts, result.warnings = [post], ([warning] if warning else []) + post.warnings
    except ParseError as exc:
        result.error, result.line = exc.message, exc.line
    except PostbotError as exc:
        result.error = str(exc)
    except Exception as exc:  # an unexpected error must not stop the other sources
        log.exception("reading %s failed", source.name)
        result.error = f"could not read: {exc.__class__.__name__}: {exc}"
    return parsed


def _treaty_or_raise(text: str, post_error: ParseError) -> ParsedTreaty:
    """A text that is not a post may be a full treaty text; else the post parser's reason stands,
    with the treaty parser's too when the text was plainly no post (its first line is wrong)."""
    try:
        return parse_treaty(text)
    except ParseError as treaty_error:
        if post_error.line is not None and post_error.line <= 1 + len(text) - len(text.lstrip("\r\n")):
            raise ParseError(f"{post_error.message}; not a treaty text either ({treaty_error.located()})", post_error.line) from None
        raise post_error from None


# --------------------------------------------------------------------------- storing


def post_key(post: ParsedPost) -> str:
    """A post's identity across edits: its feed entry id, else its date and title."""
    if post.entry_id:
        return f"entry:{post.entry_id}"
    return f"post:{post.date.isoformat()}:{slugify(post.title, max_length=200)}"


def post_row(post: ParsedPost, *, comments: list[ParsedComment] | None = None) -> PostRow:
    """A parsed post as the store takes it; `comments` its own (default: all it has)."""
    own = post.comments if comments is None else comments
    return PostRow(
        key=post_key(post),
        date=post.date,
        title=post.title,
        headline=post.headline,
        source=post.source,
        author=post.author,
        body=post.body,
        truncated=post.truncated,
        labels=tuple(post.labels),
        link=post.link,
        comments=tuple(CommentRow(author=c.author, text=c.text, posted_at=c.posted_at) for c in own),
    )


@dataclass(frozen=True)
class _Options:
    now: dt.datetime
    scope: int | None  # None: as each file says (its "Server:" line), else everything goes there
    treaty_name: str | None = None


def _store_post(session: Session, post: ParsedPost, *, loaded_from: str, options: _Options) -> tuple[LoadStatus, int]:
    """One post into its scope; comments a file marks as written in Discord are restored as such
    when they belong to that scope (or the operator loads the file), else kept as its own."""
    scope = options.scope if options.scope is not None else (post.scope or LIBRARY)
    restored = [c for c in post.comments if c.discord and (options.scope is None or c.discord.guild_id == scope)]
    own = [c for c in post.comments if c not in restored]
    status, post_id = upsert_post(session, row=post_row(post, comments=own), loaded_from=loaded_from, scope=scope, now=options.now)
    if restored:  # a reloaded export: the comments it restores may be stored already
        stored = discord_signatures(session, post_id=post_id)
        restored = [c for c in restored if (c.author, c.text, c.posted_at) not in stored]
    comments = [
        DiscordComment(
            author=c.author, text=c.text, posted_at=c.posted_at or options.now, guild_id=c.discord.guild_id,
            user_id=c.discord.user_id, message_id=c.discord.message_id, post_id=post_id,
        )
        for c in restored
    ]
    add_comments(session, comments=comments, now=options.now)
    return status, post_id


def _store(session: Session, batch: list[_Parsed], options: _Options) -> None:
    """Store parsed sources in the session's transaction; quotes are found once for all of them."""
    changed: list[int] = []
    for item in batch:
        outcome = [_store_post(session, p, loaded_from=item.result.source, options=options) for p in item.posts]
        item.result.posts = outcome
        changed += [post_id for status, post_id in outcome if status != LoadStatus.UNCHANGED]
        if item.treaty is not None:
            name = options.treaty_name or " ".join(item.treaty.title.split())
            item.result.treaty = store_treaty(session, parsed=item.treaty, name=name, now=options.now)
    extract_quotes(session, post_ids=changed, now=options.now)


def _store_batch(db: Database, batch: list[_Parsed], options: _Options) -> None:
    try:
        with db.session() as session:
            _store(session, batch, options)
        return
    except Exception as exc:
        for item in batch:
            item.result.posts, item.result.treaty = [], None
        if len(batch) == 1:
            _record_store_error(batch[0], exc)
            return
        log.info("a batch of %d sources failed; storing them one by one", len(batch))
    for item in batch:
        _store_batch(db, [item], options)


def _record_store_error(item: _Parsed, exc: Exception) -> None:
    if isinstance(exc, UserFacingError):
        item.result.error = str(exc)
        return
    log.error("storing %s failed", item.result.source, exc_info=exc)
    item.result.error = f"could not store: {exc.__class__.__name__}: {exc}"


def load(
    db: Database,
    *,
    sources: Iterable[str | Source],
    now: dt.datetime,
    scope: int | None = None,
    progress: Callable[[SourceResult], None] | None = None,
    treaty_name: str | None = None,
    batch_size: int = BATCH_SOURCES,
) -> LoadReport:
    """Load every source (directories recursively); see the module doc for the guarantees.

    `scope`: where the posts go. None (the operator's files) means as each file says: a "Server:"
    line puts a post in that server, else it goes to the library; a server's id puts everything
    there (an upload, a server's feed, `postbot load --server`). `treaty_name` names a treaty text
    among the sources (default: its title line).
    """
    db.upgrade()
    options = _Options(now=now, scope=scope, treaty_name=treaty_name)
    report = LoadReport()
    pending: list[_Parsed] = []

    def flush() -> None:
        storable = [p for p in pending if not p.result.failed]
        if storable:
            _store_batch(db, storable, options)
        for item in pending:
            report.results.append(item.result)
            if progress:
                progress(item.result)
        pending.clear()

    for source in expand_sources(sources):
        parsed = _parse(source)
        if parsed.treaty is not None:
            flush()  # a treaty text finds every post's quotes again: after what came before it
        pending.append(parsed)
        if parsed.treaty is not None or sum(not p.result.failed for p in pending) >= batch_size:
            flush()
    flush()
    return report
