"""Loading posts from files, directories and feeds into the store, one transaction per file.

One bad file never loses the good ones: each source commits or rolls back on its own, and the
report names every failure with its file, line and reason.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import discord.utils

from bot.db import Database
from bot.ingest.feeds import FeedParseError, looks_like_feed, parse_feed
from bot.ingest.posts import ParsedPost, PostParseError, decode_post_bytes, parse_post
from bot.services.quotes import extract_quotes
from bot.store import LOADED, UNCHANGED, UPDATED, upsert_post

log = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 20
SKIPPED_SUFFIXES = {".db", ".db-wal", ".db-shm", ".sqlite", ".json", ".md"}


class LoadError(Exception):
    """A source that could not be loaded; `line` points into the file when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class SourceResult:
    source: str
    counts: dict[str, int] = field(default_factory=lambda: {LOADED: 0, UPDATED: 0, UNCHANGED: 0})
    error: str | None = None
    line: int | None = None
    warnings: list[str] = field(default_factory=list)
    kind: str = "post"  # post or feed
    post_ids: list[int] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None

    def describe_error(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.error}"


@dataclass
class LoadReport:
    results: list[SourceResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.counts[status] for r in self.results)

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if r.failed]

    @property
    def warnings(self) -> list[str]:
        return [f"{r.source}: {w}" for r in self.results for w in r.warnings]

    def summary(self) -> str:
        return (
            f"{self.count(LOADED)} loaded, {self.count(UPDATED)} updated, "
            f"{self.count(UNCHANGED)} unchanged, {len(self.failed)} failed"
        )


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def expand_sources(sources: Iterable[str]) -> list[str]:
    """Files as given, directories recursively (sorted, hidden and database files skipped), URLs as they are."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if is_url(source) or not path.is_dir():
            expanded.append(source)
            continue
        for child in sorted(path.rglob("*")):
            relative = child.relative_to(path).parts
            if child.is_file() and not any(p.startswith(".") for p in relative) and child.suffix.lower() not in SKIPPED_SUFFIXES:
                expanded.append(str(child))
    return expanded


def read_source(source: str) -> bytes:
    """The bytes of a file or URL, refusing anything too large to be a post or feed."""
    if is_url(source):
        request = urllib.request.Request(source, headers={"User-Agent": "postbot (+feed loader)"})
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
                data = response.read(MAX_SOURCE_BYTES + 1)
        except OSError as exc:
            raise LoadError(f"could not fetch: {exc}") from None
    else:
        path = Path(source)
        if not path.exists():
            raise LoadError("no such file or directory")
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise LoadError(f"larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MB; not a post or feed file")
        data = path.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise LoadError(f"larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MB; not a post or feed file")
    return data


def parse_source(data: bytes) -> tuple[str, list[ParsedPost], list[str]]:
    """Tell a feed from a post file and parse it: (kind, posts, warnings)."""
    try:
        if looks_like_feed(data):
            feed = parse_feed(data)
            return "feed", feed.posts, list(feed.warnings)
        text, warning = decode_post_bytes(data)
        post = parse_post(text)
        if warning:
            post.warnings.insert(0, warning)
        return "post", [post], list(post.warnings)
    except PostParseError as exc:
        raise LoadError(str(exc), exc.line) from None
    except FeedParseError as exc:
        raise LoadError(str(exc)) from None


def store_posts(db: Database, posts: list[ParsedPost], *, origin: str, result: SourceResult) -> None:
    """All posts of one source in one transaction: all stored, or none."""
    now = discord.utils.utcnow()
    with db.session() as session:
        outcomes = [upsert_post(session, parsed=post, origin=origin, now=now) for post in posts]
        changed = [post_id for status, post_id in outcomes if status != UNCHANGED]
        if changed:
            extract_quotes(session, post_ids=changed)
    for status, post_id in outcomes:
        result.counts[status] += 1
        result.post_ids.append(post_id)


def prepare_source(source: str, *, data: bytes | None = None) -> tuple[SourceResult, list[ParsedPost]]:
    """Read and parse one source; a failure is recorded in the result (posts then empty)."""
    result = SourceResult(source=source)
    posts: list[ParsedPost] = []
    try:
        raw = read_source(source) if data is None else data
        result.kind, posts, result.warnings = parse_source(raw)
        if not posts:
            raise LoadError("the feed has no entries")
    except LoadError as exc:
        result.error, result.line = str(exc), exc.line
        posts = []
    except Exception as exc:  # an unexpected error must not stop the other files
        log.exception("loading %s failed", source)
        result.error = f"could not store: {exc.__class__.__name__}: {exc}"
        posts = []
    return result, posts


def store_source(db: Database, result: SourceResult, posts: list[ParsedPost]) -> None:
    """Store one parsed source in its own transaction; a database error fails only this source."""
    try:
        store_posts(db, posts, origin=result.source, result=result)
    except Exception as exc:  # a database error must not stop the other files
        log.exception("loading %s failed", result.source)
        result.error = f"could not store: {exc.__class__.__name__}: {exc}"


def load_source(db: Database, source: str, *, data: bytes | None = None) -> SourceResult:
    """Load one file or URL (or given bytes, e.g. an upload named `source`)."""
    result, posts = prepare_source(source, data=data)
    if not result.failed:
        store_source(db, result, posts)
    return result


BATCH_SOURCES = 200  # parsed sources stored per transaction by load_sources


def store_batch(db: Database, batch: list[tuple[SourceResult, list[ParsedPost]]]) -> None:
    """Store many parsed sources in one transaction, quotes extracted once for all of them.

    Per-file transactions made `load` ~10x slower than the store allows (bench/README.md). Per-source
    isolation is kept: if anything in the batch fails, the whole batch rolls back and every source is
    stored again on its own (`store_source`), so only the bad one fails, exactly as before.
    """
    now = discord.utils.utcnow()
    try:
        with db.session() as session:
            outcomes = [[upsert_post(session, parsed=p, origin=r.source, now=now) for p in posts] for r, posts in batch]
            changed = [post_id for outcome in outcomes for status, post_id in outcome if status != UNCHANGED]
            for i in range(0, len(changed), 500):  # bounded IN lists
                extract_quotes(session, post_ids=changed[i : i + 500])
    except Exception:
        log.info("a batch of %d sources failed; storing them one by one", len(batch))
        for result, posts in batch:
            store_source(db, result, posts)
        return
    for (result, _), outcome in zip(batch, outcomes):
        for status, post_id in outcome:
            result.counts[status] += 1
            result.post_ids.append(post_id)


def load_sources(
    db: Database, sources: Iterable[str], *, progress: Callable[[SourceResult], None] | None = None
) -> LoadReport:
    """Load every source; batches of sources commit together (each source still all-or-nothing).

    Results are reported (and `progress` called) only once their batch committed, so an
    interruption keeps - and reports - what finished.
    """
    db.upgrade()
    report = LoadReport()
    pending: list[SourceResult] = []
    batch: list[tuple[SourceResult, list[ParsedPost]]] = []

    def flush() -> None:
        if batch:
            store_batch(db, batch)
        for result in pending:
            report.results.append(result)
            if progress:
                progress(result)
        pending.clear()
        batch.clear()

    for source in expand_sources(sources):
        result, posts = prepare_source(source)
        pending.append(result)
        if not result.failed:
            batch.append((result, posts))
        if len(batch) >= BATCH_SOURCES:
            flush()
    flush()
    return report
