"""The loading path stores sources in batches; one failing source must still fail alone."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

import bot.services.loading as loading
import bot.services.sources as sources_module
from bot.ingest.post_writer import format_post
from bot.ingest.posts import ParsedComment, ParsedPost
from bot.services.loading import load
from bot.store.posts import count_posts, list_posts

from .helpers import BODY, NOW


def write_posts(directory, n: int) -> list[str]:
    """n post files, each with a comment; returns their titles."""
    titles = [f"Summit day {i}" for i in range(n)]
    for i, title in enumerate(titles):
        post = ParsedPost(
            date=dt.date(2024, 6, 1) + dt.timedelta(days=i), title=title, headline=None, source="RT", body=BODY,
            truncated=False, comments=[ParsedComment(author="Anonymous", text=f"Comment on day {i}.")], declared_comments=1,
        )
        (directory / f"{i:03d}.txt").write_text(format_post(post), encoding="utf-8")
    return titles


def test_a_failing_source_in_a_batch_fails_alone(db, tmp_path, monkeypatch):
    titles = write_posts(tmp_path, 12)
    real_upsert = loading.upsert_posts

    def upsert(session, *, rows, **kwargs):  # the database refusing one post
        if any(row.title == titles[5] for row in rows):
            raise RuntimeError("disk on fire")
        return real_upsert(session, rows=rows, **kwargs)

    monkeypatch.setattr(loading, "upsert_posts", upsert)
    seen = []
    report = load(db, sources=[str(tmp_path)], now=NOW, progress=seen.append, batch_size=5)
    assert report.summary() == "11 loaded, 0 updated, 0 unchanged, 1 failed"
    assert [r.source for r in report.failed] == [str(tmp_path / "005.txt")]
    assert "disk on fire" in report.failed[0].error
    assert [r.source for r in seen] == [str(tmp_path / f"{i:03d}.txt") for i in range(12)]
    with db.session() as session:
        assert count_posts(session) == 11


def test_batched_load_equals_one_by_one(db, tmp_path):
    write_posts(tmp_path, 7)
    first = load(db, sources=[str(tmp_path)], now=NOW, batch_size=3)
    again = load(db, sources=[str(tmp_path)], now=NOW, batch_size=1)
    assert first.summary() == "7 loaded, 0 updated, 0 unchanged, 0 failed"
    assert again.summary() == "0 loaded, 0 updated, 7 unchanged, 0 failed"
    assert all(len(r.posts) == 1 for r in first.results)


# --- a feed larger than a batch: committed batch by batch, never in one transaction ------------


def write_feed(directory, entries: int):
    from .test_busy_database import big_feed  # noqa: PLC0415

    path = directory / "feed.xml"
    path.write_bytes(big_feed(entries))
    return path


def test_a_long_feed_is_committed_in_batches_of_posts(db, tmp_path, monkeypatch):
    """While entry k is stored, another connection already sees the batches before it; the
    feed is reported once, after its last batch committed."""
    feed = write_feed(tmp_path, 12)
    real_upsert = loading.upsert_posts
    seen_before: dict[str, int] = {}

    def upsert(session, *, rows, **kwargs):
        with db.session() as other:  # what a reader beside the load sees
            seen_before.update(dict.fromkeys((row.title for row in rows), count_posts(other)))
        return real_upsert(session, rows=rows, **kwargs)

    monkeypatch.setattr(loading, "upsert_posts", upsert)
    committed_at_report = []
    report = load(db, sources=[str(feed)], now=NOW, batch_size=5, progress=lambda r: committed_at_report.append(len(r.posts)))
    assert report.summary() == "12 loaded, 0 updated, 0 unchanged, 0 failed"
    assert [seen_before[f"Entry {i}"] for i in (0, 4, 5, 9, 10, 11)] == [0, 0, 5, 5, 10, 10]
    assert committed_at_report == [12]
    with db.session() as session:
        assert count_posts(session) == 12


def test_batches_are_counted_in_posts_across_sources(db, tmp_path, monkeypatch):
    """Post files and a feed's entries fill the same batches: 3 files + a 12-entry feed in batches of 5."""
    write_posts(tmp_path, 3)
    write_feed(tmp_path, 12)  # sorted after the post files: 000.txt 001.txt 002.txt feed.xml
    commits = []
    real_store = loading._store

    def store(session, batch, options):
        commits.append(sum(piece.stop - piece.start for piece in batch))
        return real_store(session, batch, options)

    monkeypatch.setattr(loading, "_store", store)
    report = load(db, sources=[str(tmp_path)], now=NOW, batch_size=5)
    assert report.summary() == "15 loaded, 0 updated, 0 unchanged, 0 failed"
    assert commits == [5, 5, 5]
    assert [len(r.posts) for r in report.results] == [1, 1, 1, 12]


def test_a_failing_feed_entry_fails_alone(db, tmp_path, monkeypatch):
    feed = write_feed(tmp_path, 12)
    real_upsert = loading.upsert_posts

    def upsert(session, *, rows, **kwargs):  # the database refusing one entry
        if any(row.title == "Entry 7" for row in rows):
            raise RuntimeError("disk on fire")
        return real_upsert(session, rows=rows, **kwargs)

    monkeypatch.setattr(loading, "upsert_posts", upsert)
    report = load(db, sources=[str(feed)], now=NOW, batch_size=5)
    assert report.summary() == "11 loaded, 0 updated, 0 unchanged, 1 failed"
    [result] = report.results
    assert result.error == "entry 8 (“Entry 7”): could not store: RuntimeError: disk on fire"
    assert len(result.posts) == 11
    with db.session() as session:
        assert count_posts(session) == 11
    monkeypatch.setattr(loading, "upsert_posts", real_upsert)  # the database is well again: only the missing entry is new
    again = load(db, sources=[str(feed)], now=NOW, batch_size=5)
    assert again.summary() == "1 loaded, 0 updated, 11 unchanged, 0 failed"


def test_a_post_file_stays_all_or_nothing(db, tmp_path, monkeypatch):
    """A post and its comments are stored together: a failure after the post is written leaves none of it."""
    titles = write_posts(tmp_path, 3)
    real_upsert, real_add = loading.upsert_posts, loading.add_comments
    written: list[list[str]] = []

    def upsert(session, *, rows, **kwargs):
        written.append([row.title for row in rows])
        return real_upsert(session, rows=rows, **kwargs)

    def add_comments(session, *, comments, now):  # runs after the posts and their own comments are written
        if titles[1] in written[-1]:
            raise RuntimeError("comments refused")
        return real_add(session, comments=comments, now=now)

    monkeypatch.setattr(loading, "upsert_posts", upsert)
    monkeypatch.setattr(loading, "add_comments", add_comments)
    report = load(db, sources=[str(tmp_path)], now=NOW, batch_size=2)
    assert report.summary() == "2 loaded, 0 updated, 0 unchanged, 1 failed"
    assert report.failed[0].error == "could not store: RuntimeError: comments refused"
    with db.session() as session:
        assert count_posts(session) == 2
        assert titles[1] not in {p.title for p in list_posts(session, scope=None)}


# --- parse workers (#14): many sources are parsed in other processes while this one stores ----------


def write_quoting_posts(directory, n: int) -> None:
    """n post files quoting treaties; the first names a treaty no catalog knows and its acronym,
    which the later ones use alone (parsed ahead, before that treaty was stored)."""
    bodies = ["Article 7 of the Harbour Cooperation Agreement (HCA) says: “Harbours stay open.”"]
    bodies += [f"Article {8 + i % 3} of the HCA is about pilots. Article 5 of the North Atlantic Treaty states that “an armed attack”"
               for i in range(1, n)]
    for i, body in enumerate(bodies):
        post = ParsedPost(
            date=dt.date(2024, 6, 1) + dt.timedelta(days=i), title=f"Ports day {i}", headline=None, source="RT", body=body,
            truncated=False, comments=[ParsedComment(author="Anonymous", text=f"Article {i % 4 + 1} of the HCA, day {i}.")],
            declared_comments=1,
        )
        (directory / f"{i:03d}.txt").write_text(format_post(post), encoding="utf-8")


def stored_quotes(database) -> list[tuple]:
    from sqlalchemy import select  # noqa: PLC0415

    from bot.models import Post, Quote, Treaty  # noqa: PLC0415

    with database.session() as session:
        rows = session.execute(
            select(Post.title, Quote.comment_id.is_(None), Quote.number, Treaty.name, Quote.text)
            .join(Post, Post.id == Quote.post_id).join(Treaty, Treaty.id == Quote.treaty_id, isouter=True)
            .order_by(Post.title, Quote.comment_id.is_(None), Quote.offset)
        )
        return [tuple(r) for r in rows]


def stored_hashes(database) -> list[tuple]:
    from sqlalchemy import select  # noqa: PLC0415

    from bot.models import Post  # noqa: PLC0415

    with database.session() as session:
        return [tuple(r) for r in session.execute(select(Post.title, Post.content_hash).order_by(Post.title))]


def test_posts_parsed_in_workers_are_stored_as_parsed_here(tmp_path, monkeypatch):
    from bot.db import Database  # noqa: PLC0415

    sources = tmp_path / "posts"
    sources.mkdir()
    write_quoting_posts(sources, 40)
    monkeypatch.setattr(sources_module, "PARALLEL_FROM", 10)
    monkeypatch.setattr(sources_module, "PARSE_CHUNK", 3)
    here, there = Database(f"sqlite:///{tmp_path / 'here.db'}"), Database(f"sqlite:///{tmp_path / 'there.db'}")
    alone = load(here, sources=[str(sources)], now=NOW, workers=0, batch_size=7)
    parallel = load(there, sources=[str(sources)], now=NOW, workers=2, batch_size=7)
    assert "waiting for parsers" in parallel.seconds and "waiting for parsers" not in alone.seconds  # workers did parse
    assert parallel.summary() == alone.summary() == "40 loaded, 0 updated, 0 unchanged, 0 failed"
    assert [r.source for r in parallel.results] == [r.source for r in alone.results]
    quotes = stored_quotes(there)
    assert quotes == stored_quotes(here)
    assert stored_hashes(there) == stored_hashes(here)  # a worker hashes a post's content as this process would
    assert ("Ports day 39", True, 8, "Harbour Cooperation Agreement", None) in quotes  # its acronym, known since day 0
    assert ("Ports day 39", True, 5, "North Atlantic Treaty", "an armed attack") in quotes
    again = load(there, sources=[str(sources)], now=NOW, workers=2)
    assert again.summary() == "0 loaded, 0 updated, 40 unchanged, 0 failed"
    here.dispose(), there.dispose()


def test_a_load_alone_in_its_process_runs_no_full_collections_and_restores_the_gc(db, tmp_path):
    write_posts(tmp_path, 3)
    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    report = load(db, sources=[str(tmp_path)], now=NOW, progress=lambda result: during.append(gc.get_threshold()))
    assert report.summary() == "3 loaded, 0 updated, 0 unchanged, 0 failed"
    assert [t[2] for t in during] == [loading.FULL_COLLECTIONS_NEVER] * 3
    assert gc.get_threshold() == before


def _dies_on_file_7(sources, names=None):
    import os  # noqa: PLC0415

    if names is not None and any(source.name.endswith("007.txt") for source in sources):
        os._exit(1)  # a worker's task (it has the names), killed as by the kernel
    return _real_parse_chunk(sources, names)


_real_parse_chunk = sources_module._parse_chunk
_dies_on_file_7.__module__, _dies_on_file_7.__qualname__ = sources_module.__name__, "_parse_chunk"  # what the pool sends by name


def test_a_dead_parse_worker_loses_nothing(db, tmp_path, monkeypatch, caplog):
    titles = write_posts(tmp_path, 30)
    monkeypatch.setattr(sources_module, "PARALLEL_FROM", 10)
    monkeypatch.setattr(sources_module, "PARSE_CHUNK", 2)
    monkeypatch.setattr(sources_module, "_parse_chunk", _dies_on_file_7)  # the forked workers run this module as it is now
    report = load(db, sources=[str(tmp_path)], now=NOW, workers=2)
    assert "a parse worker died; parsing the remaining sources in this process" in caplog.messages
    assert report.summary() == "30 loaded, 0 updated, 0 unchanged, 0 failed"
    with db.session() as session:
        assert {p.title for p in list_posts(session, scope=None, limit=50)} == set(titles)


def test_an_export_twice_in_one_batch_restores_its_discord_comments_once(db, tmp_path):
    from sqlalchemy import func, select  # noqa: PLC0415

    from bot.ingest.posts import DiscordIds  # noqa: PLC0415
    from bot.models import Comment  # noqa: PLC0415

    said = ParsedComment(author="Mina", text="Seen from Busan.", posted_at=dt.datetime(2024, 6, 2, 9, 30, tzinfo=dt.timezone.utc),
                         discord=DiscordIds(guild_id=42, user_id=7))  # no message id: nothing else tells the copies apart
    post = ParsedPost(date=dt.date(2024, 6, 1), title="Ports", headline=None, source="RT", body=BODY, truncated=False,
                      comments=[ParsedComment(author="Anonymous", text="First."), said], declared_comments=2)
    for name in ("a.txt", "b.txt"):  # the same export saved twice in one folder
        (tmp_path / name).write_text(format_post(post), encoding="utf-8")
    report = load(db, sources=[str(tmp_path)], now=NOW)
    assert report.summary() == "1 loaded, 0 updated, 1 unchanged, 0 failed"
    with db.session() as session:
        origins = session.execute(select(Comment.origin, func.count()).group_by(Comment.origin).order_by(Comment.origin)).all()
    assert [tuple(r) for r in origins] == [("discord", 1), ("post", 1)]


def quoting_comments(database) -> list[tuple[str, int, str]]:
    """(post title, article number, text of the comment it is quoted in) of every quote in a comment."""
    from sqlalchemy import select  # noqa: PLC0415

    from bot.models import Comment, Post, Quote  # noqa: PLC0415

    with database.session() as session:
        rows = session.execute(
            select(Post.title, Quote.number, Comment.text).join(Post, Post.id == Quote.post_id)
            .join(Comment, Comment.id == Quote.comment_id).order_by(Post.title, Quote.number)
        )
        return [tuple(r) for r in rows]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_quote_in_a_comment_belongs_to_that_comment(db, tmp_path, monkeypatch, workers):
    """The loader knows the texts it just inserted and reads back only the ids of the comments that
    cite an article: each quote must still point at the comment it was found in, also past comments
    that cite nothing and comments restored from Discord (a server's, so never quoted), and for a
    post edited within the batch."""
    from bot.ingest.posts import DiscordIds  # noqa: PLC0415

    monkeypatch.setattr(sources_module, "PARALLEL_FROM", 4)
    monkeypatch.setattr(sources_module, "PARSE_CHUNK", 2)
    discord = DiscordIds(guild_id=42, user_id=7, message_id=900)
    for i in range(6):
        comments = [
            ParsedComment(author="Anonymous", text=f"Nothing cited here, day {i}."),
            ParsedComment(author="Mina", text=f"Article {i + 1} of the North Atlantic Treaty, said in Discord.", discord=discord,
                          posted_at=dt.datetime(2024, 6, 2, tzinfo=dt.timezone.utc)),
            ParsedComment(author="Anonymous", text=f"Article {i + 2} of the North Atlantic Treaty, day {i}."),
        ]
        post = ParsedPost(date=dt.date(2024, 6, 1) + dt.timedelta(days=i), title=f"Ports day {i}", headline=None, source="RT",
                          body=BODY, truncated=False, comments=comments, declared_comments=3)
        (tmp_path / f"{i:03d}.txt").write_text(format_post(post), encoding="utf-8")
    edited = ParsedPost(date=dt.date(2024, 6, 1), title="Ports day 0", headline=None, source="RT", body=BODY, truncated=False,
                        comments=[ParsedComment(author="Anonymous", text="Article 9 of the North Atlantic Treaty, edited.")],
                        declared_comments=1)
    (tmp_path / "006.txt").write_text(format_post(edited), encoding="utf-8")  # the same post as 000.txt, edited, same batch
    report = load(db, sources=[str(tmp_path)], now=NOW, workers=workers)
    assert report.summary() == "6 loaded, 1 updated, 0 unchanged, 0 failed"
    quoted = quoting_comments(db)
    assert ("Ports day 0", 9, "Article 9 of the North Atlantic Treaty, edited.") in quoted
    for i in range(1, 6):
        assert (f"Ports day {i}", i + 2, f"Article {i + 2} of the North Atlantic Treaty, day {i}.") in quoted
    assert len(quoted) == 6 and all(text.startswith(f"Article {number} ") for _, number, text in quoted)


def test_a_load_that_fills_a_postgresql_store_keeps_its_planner_counting(postgres_url, tmp_path):
    """PostgreSQL plans by the statistics ANALYZE last took (autovacuum's runs are a minute apart at
    best): a store that a load filled from empty was planned as empty, and each batch's lookup of its
    keys read every post of the scope (bench/README.md). The loader has them taken as the store grows."""
    from sqlalchemy import text

    from bot.db import Database

    write_posts(tmp_path, 120)
    db = Database(postgres_url)
    try:
        load(db, sources=[str(tmp_path)], now=NOW, batch_size=10, workers=0)
        with db.session() as session:
            planned = {
                name: session.execute(text("SELECT reltuples FROM pg_class WHERE relname = :name"), {"name": name}).scalar()
                for name in ("post", "comment")
            }
            keys = session.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = 'post' AND attname = 'key'")).scalar()
    finally:
        db.dispose()
    assert planned["post"] >= 60 and planned["comment"] >= 60  # counted at least when the load had stored half of them
    assert keys == 1
