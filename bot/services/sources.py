"""Reading sources and telling what each is (a post file, an RSS/Atom feed, a full treaty text):
here, or for many sources in worker processes while the loader stores (`bot.services.loading`).

A file found by walking a folder that is no post file, feed or treaty text at all (a
SOURCES.txt, a picture, a treaty summary without "Article N" headings) is skipped with a note
saying why, not failed: a folder of sources may hold notes beside them. Named on its own (or
uploaded), the same file fails. Either way the reason is the real one: a text that reads as a
treaty (its opening names one) is told what the treaty parser says, not that it lacks a date.

Workers also find their posts' treaty references (with the names the store knew when the task
was sent); the loader finds again those whose names it has learnt since, so the outcome is the
same as parsing here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ParseError, PostbotError
from bot.ingest.feeds import looks_like_feed, parse_feed
from bot.ingest.names import TreatyName
from bot.ingest.posts import DATE_LINE, ParsedPost, decode_post_bytes, parse_post
from bot.ingest.treaties import ParsedTreaty, parse_treaty
from bot.services.treaties import FoundAhead, find_ahead
from bot.services.views import LoadStatus, SourceKind, SourceResult
from bot.store.posts import content_hash

log = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 20
PARSE_WORKERS = max(1, (os.cpu_count() or 1) - 1)  # processes parsing while this one stores (on 2 cores 1 beat 2: storing is CPU work too)
PARALLEL_FROM = 200  # sources; fewer are parsed in this process (starting the workers takes about a second)
PARSE_CHUNK = 20  # sources per task of a worker
PARSE_AHEAD = 50  # tasks in flight (two batches of posts): the workers go on while a batch is stored
SKIPPED_SUFFIXES = (".db", ".db-wal", ".db-shm", ".sqlite", ".json", ".md")
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
class ParsedSource:
    """A source as read, and (filled in by the loader) how storing it went."""

    result: SourceResult
    posts: list[ParsedPost] = field(default_factory=list)
    treaty: ParsedTreaty | None = None
    ahead: list[FoundAhead] = field(default_factory=list)  # per post, when a parse worker found its references
    digests: list[str] = field(default_factory=list)  # per post, its content hash as parsed, from a parse worker
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
        found = []
        for root, folders, files in os.walk(path):  # names as listed, no stat per file (rglob's: 0.5 s of 20k files)
            folders[:] = [name for name in folders if not name.startswith(".")]
            found += [os.path.join(root, name) for name in files if not name.startswith(".") and not name.lower().endswith(SKIPPED_SUFFIXES)]
        expanded += [Source(name, in_folder=True) for name in sorted(found, key=lambda name: name.split(os.sep))]
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


def parse_source(source: Source) -> ParsedSource:
    """Read and tell what a source is; a failure is recorded in the result, never raised."""
    parsed = ParsedSource(SourceResult(source=shown_name(source.name)))
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


def _parse_chunk(sources: list[Source], names: tuple[TreatyName, ...] | None = None) -> tuple[list[ParsedSource], float]:
    """Read and parse the sources; with `names` (a parse worker's task) also find their posts'
    references with those treaty names and hash their content, work the storing process is spared.
    Returns them with the CPU seconds it took."""
    started = time.process_time()
    items = [parse_source(source) for source in sources]
    if names is not None:
        for item in items:
            item.ahead = [find_ahead(p.body, [c.text for c in p.comments], names) for p in item.posts]
            item.digests = [content_hash(p) for p in item.posts]
    return items, time.process_time() - started


def parsed_sources(sources: list[Source], names: Callable[[], tuple[TreatyName, ...]], *, workers: int, seconds: dict[str, float]) -> Iterator[ParsedSource]:
    """The sources read and parsed, in order: for many sources, in `workers` processes while this one
    stores (a window of chunks in flight bounds the memory); else, or when a worker dies, here.
    `names`: the treaty names the store knows now, for the workers to find references with.

    Workers are forked, so they start at once and run whatever script called `load`, but only from
    a process running no other thread (the CLI, the benchmark): forking one with threads (the bot,
    whose few uploads are parsed here anyway) can deadlock the child."""
    pieces = iter([sources[i : i + PARSE_CHUNK] for i in range(0, len(sources), PARSE_CHUNK)])
    pool = None
    if workers >= 1 and len(sources) >= PARALLEL_FROM and threading.active_count() == 1:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    in_flight: deque[tuple[list[Source], Future | None]] = deque()

    def submit() -> None:
        if (chunk := next(pieces, None)) is not None:
            in_flight.append((chunk, pool.submit(_parse_chunk, chunk, names()) if pool else None))

    try:
        for _ in range(PARSE_AHEAD if pool else 1):
            submit()
        while in_flight:
            chunk, future = in_flight.popleft()
            started = time.perf_counter()
            try:
                if future is None:
                    items, cpu = _parse_chunk(chunk)
                else:
                    items, cpu = future.result()
                    seconds["waiting for parsers"] += time.perf_counter() - started
            except BrokenProcessPool:  # a worker was killed (out of memory?): the rest is parsed here
                log.warning("a parse worker died; parsing the remaining sources in this process", exc_info=True)
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                in_flight = deque((c, None) for c, _ in in_flight)
                items, cpu = _parse_chunk(chunk)
            seconds["read and parse"] += cpu
            submit()
            yield from items
    finally:
        if pool:
            pool.shutdown(wait=False, cancel_futures=True)
