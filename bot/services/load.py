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


def load_source(db: Database, source: str, *, data: bytes | None = None) -> SourceResult:
    """Load one file or URL (or given bytes, e.g. an upload named `source`)."""
    result = SourceResult(source=source)
    try:
        raw = read_source(source) if data is None else data
        result.kind, posts, result.warnings = parse_source(raw)
        if not posts:
            raise LoadError("the feed has no entries")
        store_posts(db, posts, origin=source, result=result)
    except LoadError as exc:
        result.error, result.line = str(exc), exc.line
    except Exception as exc:  # a database error must not stop the other files
        log.exception("loading %s failed", source)
        result.error = f"could not store: {exc.__class__.__name__}: {exc}"
    return result


def load_sources(
    db: Database, sources: Iterable[str], *, progress: Callable[[SourceResult], None] | None = None
) -> LoadReport:
    """Load every source in turn; each commits on its own, so an interruption keeps what finished."""
    db.upgrade()
    report = LoadReport()
    for source in expand_sources(sources):
        result = load_source(db, source)
        report.results.append(result)
        if progress:
            progress(result)
    return report

