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

Many sources (a folder for `postbot load`) are read and parsed in worker processes, which also find
their posts' treaty references, while this process stores batch after batch; new posts are stored
in bulk (`store.posts.upsert_posts`). The outcome is the same as parsing here (bench/README.md).

Reading and telling what a source is lives in `bot.services.sources`; a folder's file that is no
source at all is skipped with a note there.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.names import TreatyName
from bot.ingest.post_writer import slugify
from bot.ingest.posts import ParsedComment, ParsedPost
from bot.models import LIBRARY
from bot.services.sources import PARSE_WORKERS, ParsedSource, Source, expand_sources, parsed_sources
from bot.services.treaties import FoundAhead, InHand, extract_quotes, store_treaty, treaty_names
from bot.services.views import LoadReport, LoadStatus, SourceKind, SourceResult, TreatyLoadResult
from bot.store.discussion import DiscordComment, add_comments
from bot.store.posts import CommentRow, PostRow, count_for_the_planner, discord_signatures, upsert_posts

log = logging.getLogger(__name__)

BATCH_POSTS = 500  # posts stored per transaction; a feed's entries may span several
FULL_COLLECTIONS_NEVER = 1_000_000  # gc threshold of the oldest generation while a load runs alone (see _young_collections_only)
SQLITE_TURN = 0.05  # seconds SQLite's write lock is left free between two batches, for writers waiting on it


# --------------------------------------------------------------------------- storing


def post_key(post: ParsedPost) -> str:
    """A post's identity across edits: its feed entry id, else its date and title."""
    if post.entry_id:
        return f"entry:{post.entry_id}"
    return f"post:{post.date.isoformat()}:{slugify(post.title, max_length=200)}"


def post_row(
    post: ParsedPost, *, comments: list[ParsedComment] | None = None, scope: int = LIBRARY, loaded_from: str = "", digest: str = ""
) -> PostRow:
    """A parsed post as the store takes it; `comments` its own (default: all it has); `digest` its content hash if known."""
    own = post.comments if comments is None else comments
    return PostRow(
        scope=scope,
        loaded_from=loaded_from,
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
        digest=digest,
    )


@dataclass(frozen=True)
class _Options:
    now: dt.datetime
    scope: int | None  # None: as each file says (its "Server:" line), else everything goes there
    treaty_name: str | None = None
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # where the time went, by stage


_Row = tuple[PostRow, list[ParsedComment]]  # a post as the store takes it, and its comments to restore as Discord's


def _rows(item: ParsedSource, start: int, stop: int, options: _Options) -> tuple[_Row, ...]:
    """The source's posts [start, stop) into their scopes. Comments a file marks as written in Discord
    are restored as such when they belong to that scope (or the operator loads the file), else kept as its own."""
    rows = []
    for index in range(start, stop):
        post = item.posts[index]
        scope = options.scope if options.scope is not None else (post.scope or LIBRARY)
        discord = [c for c in post.comments if c.discord and (options.scope is None or c.discord.guild_id == scope)]
        own = [c for c in post.comments if c not in discord]
        digest = item.digests[index] if item.digests and not discord else ""  # hashed as parsed, all comments its own
        rows.append((post_row(post, comments=own, scope=scope, loaded_from=item.result.source, digest=digest), discord))
    return tuple(rows)


@dataclass(frozen=True)
class _Piece:
    """What a batch stores of one source: its posts [start, stop), or its treaty text. Its `rows` are
    made when it joins the batch, while SQLite's write lock is still left free for others (SQLITE_TURN)."""

    item: ParsedSource
    start: int = 0
    stop: int = 0
    rows: tuple[_Row, ...] = ()

    @property
    def treaty(self) -> bool:
        return self.item.treaty is not None

    @property
    def size(self) -> int:
        """How much of the source it settles: its posts, or 1 for the treaty text."""
        return self.stop - self.start + self.treaty

    def items(self) -> list[_Piece]:
        """The piece as items to store one by one: each feed entry alone; a post file or a treaty text whole."""
        if self.stop - self.start <= 1:
            return [self]
        return [_Piece(self.item, i, i + 1, self.rows[i - self.start : i - self.start + 1]) for i in range(self.start, self.stop)]

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


def _store_posts(session: Session, batch: list[_Piece], options: _Options) -> list[list[tuple[LoadStatus, int]]]:
    """The batch's posts (`_Piece.rows`), in one go; returns each piece's (status, post id) per post."""
    outcome = upsert_posts(session, rows=[row for piece in batch for row, _ in piece.rows], now=options.now)
    restored = [discord for piece in batch for _, discord in piece.rows]
    comments: list[DiscordComment] = []
    signatures: dict[int, set[tuple]] = {}  # per post: what is stored, and what the batch restores before
    for (_, post_id), wanted in zip(outcome, restored):
        if wanted:  # a reloaded export: the comments it restores may be stored already
            if post_id not in signatures:
                signatures[post_id] = discord_signatures(session, post_id=post_id)
            stored = signatures[post_id]
            new = [c for c in wanted if (c.author, c.text, c.posted_at) not in stored]
            stored.update((c.author, c.text, c.posted_at) for c in new)
            comments += [
                DiscordComment(
                    author=c.author, text=c.text, posted_at=c.posted_at or options.now, guild_id=c.discord.guild_id,
                    user_id=c.discord.user_id, message_id=c.discord.message_id, post_id=post_id,
                )
                for c in new
            ]
    add_comments(session, comments=comments, now=options.now)
    per_piece, start = [], 0
    for piece in batch:
        stop = start + piece.stop - piece.start
        per_piece.append(outcome[start:stop])
        start = stop
    return per_piece


_Stored = tuple[list[tuple[LoadStatus, int]], TreatyLoadResult | None]


def _store(session: Session, batch: list[_Piece], options: _Options) -> list[_Stored]:
    """Store the pieces in the session's transaction; quotes are found once for all of them.
    Returns what each piece stored, to keep once the transaction committed."""
    changed: list[int] = []
    ahead: dict[int, FoundAhead] = {}
    in_hand: dict[int, InHand] = {}  # the posts inserted: their texts are not read back for quotes
    stored: list[_Stored] = []
    started = time.perf_counter()
    outcomes = _store_posts(session, batch, options)
    options.seconds["storing posts and their search index"] += time.perf_counter() - started
    for piece, outcome in zip(batch, outcomes):
        item = piece.item
        changed += [post_id for status, post_id in outcome if status != LoadStatus.UNCHANGED]
        for (row, _), (status, post_id) in zip(piece.rows, outcome):
            if status == LoadStatus.LOADED:
                in_hand[post_id] = InHand(scope=row.scope, date=row.date, body=row.body, comments=tuple(c.text for c in row.comments))
            elif status == LoadStatus.UPDATED:
                in_hand.pop(post_id, None)  # inserted earlier in the batch, then edited: read back
        if item.ahead:
            ahead.update((post_id, item.ahead[i]) for i, (_, post_id) in zip(range(piece.start, piece.stop), outcome))
        treaty = None
        if piece.treaty:
            name = options.treaty_name or " ".join(item.treaty.title.split())
            treaty = store_treaty(session, parsed=item.treaty, name=name, now=options.now)
        stored.append((outcome, treaty))
    started = time.perf_counter()
    extract_quotes(session, post_ids=changed, now=options.now, ahead=ahead, in_hand=in_hand)
    options.seconds["finding and storing quotes"] += time.perf_counter() - started
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
        self.unreported: deque[ParsedSource] = deque()
        self.committed_at: float | None = None
        self.names = self._treaty_names()
        self.stored = 0  # posts of this load's batches so far
        self.count_at = self.size  # ... when the planner's statistics are taken next (count_for_the_planner)

    def add(self, item: ParsedSource) -> None:
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
            self.batch.append(_Piece(item, start, stop, _rows(item, start, stop, self.options)))
            self.posts += stop - start
            start = stop
            if self.posts >= self.size:
                self.store()

    def store(self) -> None:
        """Commit the batch, then report every source now settled whose turn it is."""
        if self.batch:
            self._take_turns()
            started = time.perf_counter()
            _store_batch(self.db, self.batch, self.options)
            self.committed_at = time.monotonic()
            self.stored += self.posts
            if self.stored >= self.count_at:  # each time the load has doubled what it stored: a few times in all
                self.count_at = 2 * self.stored
                with self.db.session() as session:
                    count_for_the_planner(session)
            self.options.seconds["storing (in all)"] += time.perf_counter() - started
            self.batch, self.posts = [], 0
            self.names = self._treaty_names()
        while self.unreported and self.unreported[0].unsettled == 0:
            result = self.unreported.popleft().finish()
            self.report.results.append(result)
            if self.progress:
                self.progress(result)

    def _treaty_names(self) -> tuple[TreatyName, ...]:
        """What parse workers find references with: the names the store knows now."""
        with self.db.session() as session:
            return tuple(treaty_names(session))

    def _take_turns(self) -> None:
        """SQLite has one write lock and no queue for it: a writer waiting for it (the bot) retries on
        a timer, so it would rarely catch the moment between two batches. Leave it free a little."""
        if self.committed_at is not None and self.db.dialect == "sqlite":
            left = SQLITE_TURN - (time.monotonic() - self.committed_at)
            if left > 0:
                time.sleep(left)


@contextmanager
def _young_collections_only() -> Iterator[None]:
    """Parsed sources live for a few batches, past Python's young GC generations, so the cyclic GC ran
    a full collection every few thousand posts, each walking the whole heap (3 s of a 20k-file load,
    bench/README.md); the young generations still collect as always. Only where nothing else runs in
    the process (the CLI, the benchmark): the setting is the whole process's."""
    if threading.active_count() > 1:
        yield
        return
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], FULL_COLLECTIONS_NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def load(
    db: Database,
    *,
    sources: Iterable[str | Source],
    now: dt.datetime,
    scope: int | None = None,
    progress: Callable[[SourceResult], None] | None = None,
    treaty_name: str | None = None,
    batch_size: int = BATCH_POSTS,
    workers: int = PARSE_WORKERS,
) -> LoadReport:
    """Load every source (directories recursively); see the module doc for the guarantees.

    `scope`: where the posts go. None (the operator's files) means as each file says: a "Server:"
    line puts a post in that server, else it goes to the library; a server's id puts everything
    there (an upload, a server's feed, `postbot load --server`). `treaty_name` names a treaty text
    among the sources (default: its title line). `batch_size`: posts per transaction. `workers`:
    processes that parse while this one stores, when there are `sources.PARALLEL_FROM` sources or more.
    """
    started = time.perf_counter()
    db.upgrade()
    report = LoadReport()
    options = _Options(now=now, scope=scope, treaty_name=treaty_name)
    batches = _Batches(db, options, size=batch_size, report=report, progress=progress)
    with _young_collections_only():
        for item in parsed_sources(expand_sources(sources), lambda: batches.names, workers=workers, seconds=options.seconds):
            batches.add(item)
        batches.store()
    report.seconds = {**options.seconds, "in all": time.perf_counter() - started}
    return report
