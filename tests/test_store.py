"""Store and load service on real text: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.ingest.posts import parse_post, read_post_file
from bot.models import Comment, Post
from bot.services.export import export_posts
from bot.services.loading import load
from bot.settings import Settings, SettingsError
from bot.store.posts import count_posts, get_post, iter_posts, list_posts

from .helpers import NOW, SAMPLE, fixture


def comparable(db):
    """What a user would see of the store: every post and its comments, without ids or load times."""
    with db.session() as session:
        return sorted(
            (
                p.date, p.title, p.headline, p.source, p.author, p.body, p.truncated, tuple(p.labels),
                tuple((c.author, c.text, c.posted_at) for c in p.comments),
            )
            for p in iter_posts(session)
        )


def test_sample_loads_with_its_comments(db):
    report = load(db, now=NOW, sources=[str(SAMPLE)])
    assert report.summary() == "1 loaded, 0 updated, 0 unchanged, 0 failed"
    with db.session() as session:
        [summary] = list_posts(session, scope=None)
        post = get_post(session, scope=None, post_id=summary.id)
    assert post.title == "What Putin’s meeting with Kim Jong-un really means"
    assert post.source == "RT" and post.truncated
    assert [c.author for c in post.comments] == ["Anonymous"] * 3
    assert post.comments[2].text.endswith("burning it all down in the process.")
    assert summary.comment_count == 3


def test_loading_twice_changes_nothing(db):
    load(db, now=NOW, sources=[str(SAMPLE)])
    before = comparable(db)
    report = load(db, now=NOW, sources=[str(SAMPLE)])
    assert report.summary() == "0 loaded, 0 updated, 1 unchanged, 0 failed"
    assert comparable(db) == before


def test_edited_file_updates_in_place_and_keeps_discord_comments(db, tmp_path):
    copy = tmp_path / "post.txt"
    shutil.copy(SAMPLE, copy)
    load(db, now=NOW, sources=[str(copy)])
    with db.session() as session:
        post_id = session.scalar(select(Post.id))
        session.add(Comment(post_id=post_id, author="alice", text="From Discord", origin="discord",
                            discord_message_id=42, position=0, created_at=post_loaded(session, post_id)))
    copy.write_text(SAMPLE.read_text(encoding="utf-8").replace("Is this really", "Is this truly"), encoding="utf-8")

    report = load(db, now=NOW, sources=[str(copy)])

    assert report.summary() == "0 loaded, 1 updated, 0 unchanged, 0 failed"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 1
        post = get_post(session, scope=None, post_id=post_id)
    assert "Is this truly" in post.body
    assert [c.author for c in post.comments] == ["Anonymous"] * 3 + ["alice"]


def post_loaded(session, post_id):
    return session.get(Post, post_id).loaded_at


def test_bad_files_fail_alone_and_are_reported(db, tmp_path):
    good = tmp_path / "a-good.txt"
    shutil.copy(SAMPLE, good)
    (tmp_path / "b-empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "c-nodate.txt").write_text("Just a title\n\nSome body.\n", encoding="utf-8")
    (tmp_path / "d-impossible.txt").write_text("February 30, 2024\n\nTitle\n\nBody.\n", encoding="utf-8")
    (tmp_path / "e-binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    report = load(db, now=NOW, sources=sorted(str(p) for p in tmp_path.glob("?-*.txt")))  # named: each fails

    assert report.summary() == "1 loaded, 0 updated, 0 unchanged, 4 failed"
    errors = {r.source.rsplit("/", 1)[-1]: (r.line, r.error) for r in report.failed}
    assert set(errors) == {"b-empty.txt", "c-nodate.txt", "d-impossible.txt", "e-binary.txt"}
    assert "empty" in errors["b-empty.txt"][1]
    assert errors["c-nodate.txt"][0] == 1 and "date" in errors["c-nodate.txt"][1]
    assert errors["d-impossible.txt"][0] == 1
    assert "binary" in errors["e-binary.txt"][1]
    with db.session() as session:
        assert count_posts(session) == 1

    # Found in a folder, what is no post file at all is skipped with the reason; a broken post still fails.
    report = load(db, now=NOW, sources=[str(tmp_path)])
    assert report.summary() == "0 loaded, 0 updated, 1 unchanged, 1 failed, 3 skipped"
    assert [r.source.rsplit("/", 1)[-1] for r in report.failed] == ["d-impossible.txt"]
    notes = {r.source.rsplit("/", 1)[-1]: r.skipped for r in report.skipped}
    assert set(notes) == {"b-empty.txt", "c-nodate.txt", "e-binary.txt"}
    assert all(note.startswith("not a post file, feed or treaty text (line ") for note in notes.values()), notes


def test_comment_count_mismatch_loads_with_a_warning(db, tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace("3 comments:", "5 comments:")
    path = tmp_path / "post.txt"
    path.write_text(text, encoding="utf-8")
    report = load(db, now=NOW, sources=[str(path)])
    assert report.summary() == "1 loaded, 0 updated, 0 unchanged, 0 failed"
    assert any("5" in w and "3" in w for w in report.warnings)


def test_feed_file_loads_one_post_per_entry(db):
    feed = fixture("feeds", "rss2_guardian_us_2018.xml")
    report = load(db, now=NOW, sources=[str(feed)])
    assert report.summary() == "55 loaded, 0 updated, 0 unchanged, 0 failed"
    assert load(db, now=NOW, sources=[str(feed)]).summary() == "0 loaded, 0 updated, 55 unchanged, 0 failed"


def test_export_then_load_into_an_empty_store_round_trips(db, tmp_path, sqlite_url):
    load(db, now=NOW, sources=[str(SAMPLE), str(fixture("feeds", "blogger_atom_google_testing_blog_2017.xml"))])
    written = export_posts(db, out_dir=tmp_path / "out", fmt="text")
    assert len(written) == 26
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    report = load(fresh, now=NOW, sources=[str(tmp_path / "out")])
    assert report.summary() == "26 loaded, 0 updated, 0 unchanged, 0 failed"
    assert comparable(fresh) == comparable(db)


def test_sample_export_is_the_sample_layout(db, tmp_path):
    load(db, now=NOW, sources=[str(SAMPLE)])
    [path] = export_posts(db, out_dir=tmp_path, fmt="text")
    assert path.name == SAMPLE.name
    assert parse_post(path.read_text(encoding="utf-8")) == dataclasses.replace(read_post_file(SAMPLE), warnings=[])


def test_json_export_carries_comments(db, tmp_path):
    load(db, now=NOW, sources=[str(SAMPLE)])
    [path] = export_posts(db, out_dir=tmp_path, fmt="json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["date"] == "2024-06-23" and len(data["comments"]) == 3


@pytest.mark.parametrize("bad", ["not a url", "mysql://x@y/z"])
def test_settings_reject_bad_database_urls(bad):
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings(database_url=bad)


def test_reloading_an_export_keeps_discord_comments_single(db, tmp_path):
    load(db, now=NOW, sources=[str(SAMPLE)])
    with db.session() as session:
        post_id = session.scalar(select(Post.id))
        loaded_at = post_loaded(session, post_id)
        session.add(Comment(post_id=post_id, author="alice", text="Said in Discord", origin="discord",
                            discord_message_id=7, position=0, posted_at=loaded_at, created_at=loaded_at))
    export_posts(db, out_dir=tmp_path / "out", fmt="text")

    report = load(db, now=NOW, sources=[str(tmp_path / "out")])

    assert report.summary() == "0 loaded, 0 updated, 1 unchanged, 0 failed"
    with db.session() as session:
        post = get_post(session, scope=None, post_id=post_id)
    assert [(c.author, c.origin) for c in post.comments] == [("Anonymous", "post")] * 3 + [("alice", "discord")]


def test_bulk_inserted_rows_are_stored_exactly_as_sqlalchemy_stores_them(db):
    """`insert_rows` hands the driver plain tuples: the stored values (dates, aware datetimes in any
    zone, booleans, NULLs) must be the very ones SQLAlchemy's own insert writes, or ordering and
    windows over them would differ between loaded and collected rows."""
    from sqlalchemy import insert, text

    from bot.store._sql import insert_rows

    plus_nine = dt.timezone(dt.timedelta(hours=9))
    times = [NOW, NOW.astimezone(plus_nine), None, NOW + dt.timedelta(microseconds=1)]
    posts = [
        {"scope": 0, "key": f"k{i}", "date": NOW.date(), "title": "T", "body": "B", "truncated": i % 2 == 0, "labels": "",
         "loaded_from": "f", "content_hash": "h", "loaded_at": when or NOW, "updated_at": NOW}
        for i, when in enumerate(times)
    ]
    with db.session() as session:
        connection = session.connection()
        connection.execute(insert(Post.__table__), posts)
        insert_rows(connection, Post.__table__, [{**p, "key": p["key"] + "-bulk"} for p in posts])
        post_id = connection.execute(select(Post.id)).scalars().first()
        comments = [
            {"post_id": post_id, "scope": 0, "position": i, "author": "A", "text": f"t{i}", "posted_at": when, "origin": "post", "created_at": NOW}
            for i, when in enumerate(times)
        ]
        connection.execute(insert(Comment.__table__), comments)
        insert_rows(connection, Comment.__table__, comments)
        stored_posts = connection.execute(text("SELECT date, truncated, loaded_at, updated_at FROM post ORDER BY id")).all()
        stored_comments = connection.execute(text("SELECT position, text, posted_at, origin, created_at FROM comment ORDER BY id")).all()
    assert len(stored_posts) == len(stored_comments) == 8
    assert stored_posts[:4] == stored_posts[4:]
    assert stored_comments[:4] == stored_comments[4:]


def test_a_bulk_insert_that_breaks_a_constraint_raises_sqlalchemys_error_and_stores_nothing(db):
    """On PostgreSQL `insert_rows` goes by COPY, outside SQLAlchemy's statements: its errors must
    still be SQLAlchemy's (the loader and the retries tell them by class), and roll back."""
    from sqlalchemy.exc import IntegrityError

    from bot.store._sql import insert_rows

    row = {"scope": 0, "key": "same", "date": NOW.date(), "title": "T", "body": "B", "truncated": False, "labels": "",
           "loaded_from": "f", "content_hash": "h", "loaded_at": NOW, "updated_at": NOW}
    with pytest.raises(IntegrityError):
        with db.session() as session:
            insert_rows(session.connection(), Post.__table__, [row, {**row, "title": "Other"}])  # (scope, key) is unique
    with db.session() as session:
        insert_rows(session.connection(), Post.__table__, [row])  # the connection is fine afterwards
        assert session.execute(select(Post.title)).scalars().all() == ["T"]
