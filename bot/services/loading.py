"""THE path from sources to the store: read, tell what a source is, parse, store, find quotes.

`postbot load`, `/load`, watched feeds, the demo and the benchmark all call `load`. A source is
a post file, an RSS/Atom feed or a full treaty text, from a path, a URL or bytes in hand (an
upload, a fetched feed). Posts are stored in batches of up to `BATCH_POSTS` that commit
together (per-file transactions made loading ~10x slower than the store allows, bench/README.md),
and never one transaction for a whole huge feed, so the bot beside a long load waits at most a
batch for the database: a feed's entries may span several batches; a post file (its post with
its comments) is all or nothing, and a treaty text is stored in its own transaction. A bad item
never loses the good ones: when anything in a batch fails, the batch rolls back and each of its
items (a post file, a feed entry, a treaty text) is stored again on its own, so only the bad one
fails. Results are reported (and `progress` called) once all of a source is committed, so an
interruption keeps, and reports, what finished.

A file found by walking a folder that is no post file, feed or treaty text at all (a
SOURCES.txt, a picture, a treaty summary without "Article N" headings) is skipped with a note
saying why, not failed: a folder of sources may hold notes beside them. Named on its own (or
uploaded), the same file fails. Either way the reason is the real one: a text that reads as a
treaty (its opening names one) is told what the treaty parser says, not that it lacks a date.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from bot.db import Database
from bot.errors import ParseError, PostbotError, UserFacingError
from bot.ingest.feeds import looks_like_feed, parse_feed
from bot.ingest.post_writer import slugify
from bot.ingest.posts import DATE_LINE, ParsedComment, ParsedPost, decode_post_bytes, parse_post
from bot.ingest.treaties import ParsedTreaty, parse_treaty
from bot.services.treaties import extract_quotes, store_treaty
from bot.services.views import LoadReport, LoadStatus, SourceKind, SourceResult, TreatyLoadResult
from bot.models import LIBRARY
from bot.store.discussion import DiscordComment, add_comments
from bot.store.posts import CommentRow, PostRow, discord_signatures, upsert_post

log = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 20
BATCH_POSTS = 500  # posts stored per transaction; a feed's entries may span several
SQLITE_TURN = 0.05  # seconds SQLite's write lock is left free between two batches, for writers waiting on it
SKIPPED_SUFFIXES = {".db", ".db-wal", ".db-shm", ".sqlite", ".json", ".md"}
NOT_A_SOURCE = "not a post file, feed or treaty text"
_TREATY_WORDS = re.compile(r"\b(treaty|treaties|convention|charter|covenant|pact|protocol|accord|statute|agreement)\b", re.I)
TREATY_OPENING = 6  # lines (after provenance lines) that say whether a text reads as a treaty


class _NotASource(ParseError):
    """Text that is no post file, feed or treaty text; `note` says so when a folder's file is skipped."""

    def __init__(self, message: str, line: int | None, *, note: str, kind: SourceKind | None = None) -> None:
        super().__init__(message, line)
        self.note, self.kind = note, kind


class SourceError(PostbotError):
    """A source that cannot be read at all (missing, too large, unreachable)."""


@dataclass(frozen=True)
class Source:
    """Something to load: a path or URL, or bytes already in hand named `name`."""

    name: str
    data: bytes | None = None
    in_folder: bool = False  # found by walking a folder: no source at all is skipped with a note, not failed


@dataclass
class _Parsed:
    result: SourceResult
    posts: list[ParsedPost] = field(default_factory=list)
    treaty: ParsedTreaty | None = None
    stored: dict[int, tuple[LoadStatus, int]] = field(default_factory=dict)  # post index -> outcome, once committed
    failures: list[tuple[int, str]] = field(default_factory=list)  # (post index, why) of what could not be stored
    unsettled: int = 0  # posts (and a treaty text) neither committed nor failed yet

    def finish(self) -> SourceResult:
        """The result once everything of the source is settled: what was stored, and what failed."""
        result = self.result
        result.posts = [self.stored[index] for index in sorted(self.stored)]
        if self.failures and result.error is None:
            index, reason = self.failures[0]
            if result.kind != SourceKind.FEED:
                result.error = reason
            else:
                entry = f"entry {index + 1} (“{' '.join(self.posts[index].title.split())[:80]}”)"
                many = f"{len(self.failures)} of {len(self.posts)} entries were not stored; the first, " if len(self.failures) > 1 else ""
                result.error = f"{many}{entry}: {reason}"
        return result


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
                expanded.append(Source(str(child), in_folder=True))
    return expanded


def _too_large() -> SourceError:
    return SourceError(f"larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MB, the limit for a post, feed or treaty file")


def shown_name(name: str) -> str:
    """A path as reports and the store name it: bytes that are not UTF-8 become escapes (\\xe9)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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
        try:
            with open(name, "rb") as file:  # never more than the limit: /dev/zero or a FIFO has no size
                data = file.read(MAX_SOURCE_BYTES + 1)
        except FileNotFoundError:
            raise SourceError("no such file or directory") from None
        except OSError as exc:
            raise SourceError(f"could not read it: {exc.strerror or exc}") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise _too_large()
    return data


def _parse(source: Source) -> _Parsed:
    """Read and tell what a source is; a failure is recorded in the result, never raised."""
    parsed = _Parsed(SourceResult(source=shown_name(source.name)))
    result = parsed.result
    try:
        data = read_source(source.name) if source.data is None else source.data
        if looks_like_feed(data):
            result.kind = SourceKind.FEED
            feed = parse_feed(data)
            parsed.posts, result.warnings = feed.posts, list(feed.warnings)
            return parsed
        try:
            text, warning = decode_post_bytes(data)
        except ParseError as binary:
            raise _NotASource(binary.message, binary.line, note=f"{NOT_A_SOURCE} ({binary.located()})") from None
        try:
            post = parse_post(text)
        except ParseError as post_error:
            parsed.treaty = _treaty_or_raise(text, post_error)
            result.kind = SourceKind.TREATY
            return parsed
        result.kind = SourceKind.POST
        parsed.posts, result.warnings = [post], ([warning] if warning else []) + post.warnings
    except _NotASource as exc:
        if source.in_folder:
            result.skipped = exc.note
        else:
            result.kind, result.error, result.line = exc.kind, exc.message, exc.line
    except ParseError as exc:
        result.error, result.line = exc.message, exc.line
    except PostbotError as exc:
        result.error = str(exc)
    except Exception as exc:  # an unexpected error must not stop the other sources
        log.exception("reading %s failed", source.name)
        result.error = f"could not read: {exc.__class__.__name__}: {exc}"
    return parsed


def reads_as_treaty(text: str) -> bool:
    """Whether a text's opening (after its "#" provenance lines) names a treaty, convention, charter...:
    then the treaty parser's reason is the one to give when it cannot be loaded."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return any(_TREATY_WORDS.search(line) for line in lines[:TREATY_OPENING])


def _treaty_or_raise(text: str, post_error: ParseError) -> ParsedTreaty:
    """A text that is not a post may be a full treaty text; else the post parser's reason stands.
    A text that was plainly no post (its first line is wrong) and no treaty text is no source at
    all: the treaty parser's reason when it reads as a treaty, else both parsers'."""
    try:
        return parse_treaty(text)
    except ParseError as treaty_error:
        if post_error.line is not None and post_error.line <= 1 + len(text) - len(text.lstrip("\r\n")):
            if DATE_LINE.match(text.lstrip("\r\n").split("\n", 1)[0].strip()):  # a post file whose date is wrong
                raise ParseError(f"{post_error.message}; not a treaty text either ({treaty_error.located()})", post_error.line) from None
            if reads_as_treaty(text):
                raise _NotASource(treaty_error.message, treaty_error.line, note=treaty_error.message, kind=SourceKind.TREATY) from None
            raise _NotASource(
                f"{post_error.message}; not a treaty text either ({treaty_error.located()})", post_error.line,
                note=f"{NOT_A_SOURCE} ({post_error.located()})",
            ) from None
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


@dataclass(frozen=True)
class _Piece:
    """What a batch stores of one source: its posts [start, stop), or its treaty text."""

    item: _Parsed
    start: int = 0
    stop: int = 0

    @property
    def treaty(self) -> bool:
        return self.item.treaty is not None

    @property
    def size(self) -> int:
        """How much of the source it settles: its posts, or 1 for the treaty text."""
        return self.stop - self.start + self.treaty

    def items(self) -> list[_Piece]:
        """The piece as items to store one by one: each feed entry alone; a post file or a treaty text whole."""
        return [self] if self.stop - self.start <= 1 else [_Piece(self.item, i, i + 1) for i in range(self.start, self.stop)]

    def keep(self, outcome: list[tuple[LoadStatus, int]], treaty: TreatyLoadResult | None) -> None:
        """Its transaction committed."""
        self.item.stored.update(zip(range(self.start, self.stop), outcome))
        if treaty is not None:
            self.item.result.treaty = treaty
        self.item.unsettled -= self.size

    def fail(self, exc: Exception) -> None:
        """It failed on its own."""
        where = self.item.result.source + (f" (entry {self.start + 1})" if self.item.result.kind == SourceKind.FEED else "")
        if isinstance(exc, UserFacingError):
            reason = str(exc)
        else:
            log.error("storing %s failed", where, exc_info=exc)
            reason = f"could not store: {exc.__class__.__name__}: {exc}"
        self.item.failures.append((self.start, reason))
        self.item.unsettled -= self.size


_Stored = tuple[list[tuple[LoadStatus, int]], TreatyLoadResult | None]


def _store(session: Session, batch: list[_Piece], options: _Options) -> list[_Stored]:
    """Store the pieces in the session's transaction; quotes are found once for all of them.
    Returns what each piece stored, to keep once the transaction committed."""
    changed: list[int] = []
    stored: list[_Stored] = []
    for piece in batch:
        item = piece.item
        outcome = [_store_post(session, p, loaded_from=item.result.source, options=options) for p in item.posts[piece.start : piece.stop]]
        changed += [post_id for status, post_id in outcome if status != LoadStatus.UNCHANGED]
        treaty = None
        if piece.treaty:
            name = options.treaty_name or " ".join(item.treaty.title.split())
            treaty = store_treaty(session, parsed=item.treaty, name=name, now=options.now)
        stored.append((outcome, treaty))
    extract_quotes(session, post_ids=changed, now=options.now)
    return stored


def _store_batch(db: Database, batch: list[_Piece], options: _Options) -> None:
    """One transaction; when it fails, each of its items is stored again on its own, so only the bad one fails."""
    try:
        with db.session() as session:
            stored = _store(session, batch, options)
    except Exception as exc:
        items = [one for piece in batch for one in piece.items()]
        if len(items) == 1:
            items[0].fail(exc)
            return
        log.info("a batch of %d items failed; storing them one by one", len(items))
        for one in items:
            _store_batch(db, [one], options)
        return
    for piece, (outcome, treaty) in zip(batch, stored):
        piece.keep(outcome, treaty)


class _Batches:
    """Pieces waiting for their transaction, and sources waiting to be reported (in source order)."""

    def __init__(self, db: Database, options: _Options, *, size: int, report: LoadReport, progress: Callable[[SourceResult], None] | None):
        self.db, self.options, self.size, self.report, self.progress = db, options, max(1, size), report, progress
        self.batch: list[_Piece] = []
        self.posts = 0  # in the batch
        self.unreported: deque[_Parsed] = deque()
        self.committed_at: float | None = None

    def add(self, item: _Parsed) -> None:
        self.unreported.append(item)
        if item.result.failed or item.result.skipped:
            return
        if item.treaty is not None:
            self.store()  # a treaty text finds every post's quotes again: after what came before it, on its own
            item.unsettled = 1
            self.batch.append(_Piece(item))
            self.store()
            return
        item.unsettled = len(item.posts)
        start = 0
        while start < len(item.posts):
            stop = min(len(item.posts), start + self.size - self.posts)
            self.batch.append(_Piece(item, start, stop))
            self.posts += stop - start
            start = stop
            if self.posts >= self.size:
                self.store()

    def store(self) -> None:
        """Commit the batch, then report every source now settled whose turn it is."""
        if self.batch:
            self._take_turns()
            _store_batch(self.db, self.batch, self.options)
            self.committed_at = time.monotonic()
            self.batch, self.posts = [], 0
        while self.unreported and self.unreported[0].unsettled == 0:
            result = self.unreported.popleft().finish()
            self.report.results.append(result)
            if self.progress:
                self.progress(result)

    def _take_turns(self) -> None:
        """SQLite has one write lock and no queue for it: a writer waiting for it (the bot) retries on
        a timer, so it would rarely catch the moment between two batches. Leave it free a little."""
        if self.committed_at is not None and self.db.dialect == "sqlite":
            left = SQLITE_TURN - (time.monotonic() - self.committed_at)
            if left > 0:
                time.sleep(left)


def load(
    db: Database,
    *,
    sources: Iterable[str | Source],
    now: dt.datetime,
    scope: int | None = None,
    progress: Callable[[SourceResult], None] | None = None,
    treaty_name: str | None = None,
    batch_size: int = BATCH_POSTS,
) -> LoadReport:
    """Load every source (directories recursively); see the module doc for the guarantees.

    `scope`: where the posts go. None (the operator's files) means as each file says: a "Server:"
    line puts a post in that server, else it goes to the library; a server's id puts everything
    there (an upload, a server's feed, `postbot load --server`). `treaty_name` names a treaty text
    among the sources (default: its title line). `batch_size`: posts per transaction.
    """
    db.upgrade()
    report = LoadReport()
    batches = _Batches(db, _Options(now=now, scope=scope, treaty_name=treaty_name), size=batch_size, report=report, progress=progress)
    for source in expand_sources(sources):
        batches.add(_parse(source))
    batches.store()
    return report
