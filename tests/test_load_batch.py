"""load_sources stores sources in batches; one failing source must still fail alone."""

from __future__ import annotations

import bot.services.load as load_module
from bot.ingest.posts import format_post
from bot.services.load import load_sources
from bot.store import count_posts

from bench.generate import generate_posts


def write_posts(directory, n: int) -> list:
    posts = list(generate_posts(n, seed=3))
    for i, post in enumerate(posts):
        (directory / f"{i:03d}.txt").write_text(format_post(post), encoding="utf-8")
    return posts


def test_a_failing_source_in_a_batch_fails_alone(db, tmp_path, monkeypatch):
    posts = write_posts(tmp_path, 12)
    bad_title = posts[5].title
    real_upsert = load_module.upsert_post

    def upsert(session, *, parsed, origin, now):
        if parsed.title == bad_title:
            raise RuntimeError("disk on fire")
        return real_upsert(session, parsed=parsed, origin=origin, now=now)

    monkeypatch.setattr(load_module, "upsert_post", upsert)
    monkeypatch.setattr(load_module, "BATCH_SOURCES", 5)
    seen = []
    report = load_sources(db, [str(tmp_path)], progress=seen.append)
    assert report.summary() == "11 loaded, 0 updated, 0 unchanged, 1 failed"
    assert [r.source for r in report.failed] == [str(tmp_path / "005.txt")]
    assert "disk on fire" in report.failed[0].error
    assert [r.source for r in seen] == [str(tmp_path / f"{i:03d}.txt") for i in range(12)]
    with db.session() as session:
        assert count_posts(session) == 11


def test_batched_load_equals_one_by_one(db, tmp_path, monkeypatch):
    write_posts(tmp_path, 7)
    monkeypatch.setattr(load_module, "BATCH_SOURCES", 3)
    first = load_sources(db, [str(tmp_path)])
    again = load_sources(db, [str(tmp_path)])
    assert first.summary() == "7 loaded, 0 updated, 0 unchanged, 0 failed"
    assert again.summary() == "0 loaded, 0 updated, 7 unchanged, 0 failed"
    assert all(len(r.post_ids) == 1 for r in first.results)
