"""Scenario 1, load: the `postbot load` service on N generated post files, against a plain insert.

Figure: posts/s end to end of exactly what `postbot load DIR` runs (`bot.services.loading`:
`expand_sources`, then `load`: read, parse, store, extract quotes, commit) into an empty,
migrated database, against the floor (target: end to end <= TARGET_RATIO x the floor, #14). The stages
are the loader's own account (`LoadReport.seconds`), printed and in the note: read + parse (CPU time in
the parse worker processes, overlapping the storing; and how long this process waited for them), store
posts with their search index (`_store_posts`: the index is kept inside the same inserts, by FTS5
triggers or the generated tsvector column, so it cannot be timed apart here; the baseline's README note
says how much it is), quotes (`extract_quotes`, with the references the workers found), the rest of
storing (commits) and other (batching, the pauses SQLite's writers get between batches). Baseline: the same
already-parsed posts and comments inserted with the driver's plain ``executemany`` in one
transaction (sqlite3 for SQLite, psycopg for PostgreSQL) into the same schema - the floor a
store could reach without per-file isolation, quotes or an ORM.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

from bench.framework import Context, Row, console, fmt_count, scratch_postgres
from bench.generate import generate_posts, write_post_files

TARGET_RATE = {"sqlite": 2000.0, "postgresql": 1200.0}  # posts/s (issue #14)
TARGET_RATIO = 1.3


def run(ctx: Context) -> list[Row]:
    n = ctx.size(20_000, 300)
    directory = write_post_files(n, ctx.seed)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="postbot-bench-load-") as tmp:
        rows += measure(ctx, n, directory, f"sqlite:///{Path(tmp) / 'load.db'}", "sqlite")
    if ctx.postgres_admin_url:
        n_pg = ctx.size(n, 100)  # quick: small, CI runs it on every push
        with scratch_postgres(ctx.postgres_admin_url, "load") as url:
            rows += measure(ctx, n_pg, write_post_files(n_pg, ctx.seed), url, "postgresql")
    return rows


def measure(ctx: Context, n: int, directory: Path, url: str, backend: str) -> list[Row]:
    import bot.services.loading as loading
    from bot.services.sources import PARSE_WORKERS, expand_sources
    from bot.db import Database
    from bot.services.views import LoadStatus

    console.print(f"  load: {n:,} files into {backend} ...")
    database = Database(url)
    database.upgrade()  # migrations are not part of the figure
    started = time.perf_counter()
    sources = expand_sources([str(directory)])  # as `postbot load DIR` does
    report = loading.load(database, sources=sources, now=dt.datetime.now(dt.timezone.utc))
    total = time.perf_counter() - started
    comments = _count(database)
    database.dispose()
    if report.failed:
        raise RuntimeError(f"load reported failures: {report.failed[0].located()}")
    loaded = report.count(LoadStatus.LOADED)
    if loaded != n:
        raise RuntimeError(f"expected {n} posts loaded, got {report.summary()}")

    # The loader's own account (LoadReport.seconds): reading and parsing is CPU time in the parse
    # workers (it overlaps storing); the rest is this process's wall time.
    stages = report.seconds
    storing = stages["storing (in all)"]
    posts, quotes = stages["storing posts and their search index"], stages["finding and storing quotes"]
    other = total - storing
    per_stage = (f"read + parse {stages['read and parse']:.1f} s CPU in {PARSE_WORKERS} workers (waited for them "
                 f"{stages.get('waiting for parsers', 0.0):.1f} s), store posts + search index {posts:.1f} s, quotes {quotes:.1f} s, "
                 f"commits and the rest of storing {storing - posts - quotes:.1f} s, other {other:.1f} s")
    baseline = baseline_insert(n, ctx.seed, backend, ctx.postgres_admin_url)
    size = f"{fmt_count(n)} posts / {fmt_count(comments)} comments"
    rate = n / total
    ratio = total / baseline
    return [
        Row(
            "load",
            f"load, {backend}",
            size,
            rate,
            "posts/s",
            f">= {TARGET_RATE[backend]:,.0f} posts/s",
            rate >= TARGET_RATE[backend],
            note=f"{total:.1f} s total, {storing:.1f} s storing; {per_stage}",
            extra={"seconds": total, "store_seconds": storing, "stages": dict(stages)},
        ),
        Row(
            "load",
            f"load end to end vs floor, {backend}",
            size,
            total,
            "s",
            f"<= {TARGET_RATIO:g}x baseline",
            ratio <= TARGET_RATIO,
            baseline=f"executemany {baseline:.2f} s",
            ratio=ratio,
            extra={"baseline_seconds": baseline},
        ),
    ]


def _count(database) -> int:
    from sqlalchemy import func, select

    from bot.models import Comment

    with database.session() as session:
        return session.execute(select(func.count()).select_from(Comment)).scalar_one()


def _rows(n: int, seed: int) -> tuple[list[tuple], list[tuple]]:
    """Post and comment rows ready for executemany, ids assigned (prepared before the clock starts)."""
    from bot.services.loading import post_row
    from bot.store.posts import content_hash

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    posts, comments = [], []
    for post_id, p in enumerate(generate_posts(n, seed), start=1):
        row = post_row(p)
        posts.append(
            (post_id, row.key, p.date.isoformat(), p.title, p.headline, p.source, p.author, p.body, p.truncated,
             ", ".join(p.labels), p.link, "bench", content_hash(row), now, now)
        )
        for i, c in enumerate(p.comments):
            posted = c.posted_at.astimezone(dt.timezone.utc).replace(tzinfo=None) if c.posted_at else None
            comments.append((post_id, i, c.author, c.text, posted, "post", now))
    return posts, comments


POST_SQL = (
    "INSERT INTO post (id, key, date, title, headline, source, author, body, truncated, labels, link, loaded_from, "
    "content_hash, loaded_at, updated_at) VALUES ({})"
)
COMMENT_SQL = "INSERT INTO comment (post_id, position, author, text, posted_at, origin, created_at) VALUES ({})"


def baseline_insert(n: int, seed: int, backend: str, admin: str | None) -> float:
    """Seconds to insert the same rows with the driver's executemany in one transaction."""
    from bot.db import Database

    posts, comments = _rows(n, seed)
    if backend == "sqlite":
        import sqlite3

        with tempfile.TemporaryDirectory(prefix="postbot-bench-base-") as tmp:
            path = Path(tmp) / "baseline.db"
            database = Database(f"sqlite:///{path}")
            database.upgrade()
            database.dispose()
            connection = sqlite3.connect(path, isolation_level=None)
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            started = time.perf_counter()
            connection.execute("BEGIN")
            connection.executemany(POST_SQL.format(", ".join("?" * 15)), posts)
            connection.executemany(COMMENT_SQL.format(", ".join("?" * 7)), comments)
            connection.execute("COMMIT")
            seconds = time.perf_counter() - started
            connection.close()
            return seconds
    import psycopg
    from sqlalchemy.engine import make_url

    with scratch_postgres(admin, "base") as scratch:
        database = Database(scratch)
        database.upgrade()
        database.dispose()
        plain = make_url(scratch).set(drivername="postgresql").render_as_string(hide_password=False)
        aware = dt.timezone.utc
        posts = [(*p[:2], dt.date.fromisoformat(p[2]), *p[3:13], p[13].replace(tzinfo=aware), p[14].replace(tzinfo=aware)) for p in posts]
        comments = [(*c[:4], c[4] and c[4].replace(tzinfo=aware), c[5], c[6].replace(tzinfo=aware)) for c in comments]
        with psycopg.connect(plain) as connection:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.executemany(POST_SQL.format(", ".join(["%s"] * 15)), posts)
                cursor.executemany(COMMENT_SQL.format(", ".join(["%s"] * 7)), comments)
            connection.commit()
            return time.perf_counter() - started
