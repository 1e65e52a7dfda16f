"""The loading path stores sources in batches; one failing source must still fail alone."""

from __future__ import annotations

import datetime as dt

import bot.services.loading as loading
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
    real_upsert = loading.upsert_post

    def upsert(session, *, row, **kwargs):  # the database refusing one post
        if row.title == titles[5]:
            raise RuntimeError("disk on fire")
        return real_upsert(session, row=row, **kwargs)

    monkeypatch.setattr(loading, "upsert_post", upsert)
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
    real_upsert = loading.upsert_post
    seen_before: dict[str, int] = {}

    def upsert(session, *, row, **kwargs):
        with db.session() as other:  # what a reader beside the load sees
            seen_before[row.title] = count_posts(other)
        return real_upsert(session, row=row, **kwargs)

    monkeypatch.setattr(loading, "upsert_post", upsert)
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
    real_upsert = loading.upsert_post

    def upsert(session, *, row, **kwargs):  # the database refusing one entry
        if row.title == "Entry 7":
            raise RuntimeError("disk on fire")
        return real_upsert(session, row=row, **kwargs)

    monkeypatch.setattr(loading, "upsert_post", upsert)
    report = load(db, sources=[str(feed)], now=NOW, batch_size=5)
    assert report.summary() == "11 loaded, 0 updated, 0 unchanged, 1 failed"
    [result] = report.results
    assert result.error == "entry 8 (“Entry 7”): could not store: RuntimeError: disk on fire"
    assert len(result.posts) == 11
    with db.session() as session:
        assert count_posts(session) == 11
    monkeypatch.setattr(loading, "upsert_post", real_upsert)  # the database is well again: only the missing entry is new
    again = load(db, sources=[str(feed)], now=NOW, batch_size=5)
    assert again.summary() == "1 loaded, 0 updated, 11 unchanged, 0 failed"


def test_a_post_file_stays_all_or_nothing(db, tmp_path, monkeypatch):
    """A post and its comments are stored together: a failure after the post is written leaves none of it."""
    titles = write_posts(tmp_path, 3)
    real_upsert, real_add = loading.upsert_post, loading.add_comments
    written: list[str] = []

    def upsert(session, *, row, **kwargs):
        written.append(row.title)
        return real_upsert(session, row=row, **kwargs)

    def add_comments(session, *, comments, now):  # runs after the post and its own comments are written
        if written[-1] == titles[1]:
            raise RuntimeError("comments refused")
        return real_add(session, comments=comments, now=now)

    monkeypatch.setattr(loading, "upsert_post", upsert)
    monkeypatch.setattr(loading, "add_comments", add_comments)
    report = load(db, sources=[str(tmp_path)], now=NOW, batch_size=2)
    assert report.summary() == "2 loaded, 0 updated, 0 unchanged, 1 failed"
    assert report.failed[0].error == "could not store: RuntimeError: comments refused"
    with db.session() as session:
        assert count_posts(session) == 2
        assert titles[1] not in {p.title for p in list_posts(session, scope=None)}
