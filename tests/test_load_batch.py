"""The loading path stores sources in batches; one failing source must still fail alone."""

from __future__ import annotations

import datetime as dt

import bot.services.loading as loading
from bot.ingest.post_writer import format_post
from bot.ingest.posts import ParsedComment, ParsedPost
from bot.services.loading import load
from bot.store.posts import count_posts

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
