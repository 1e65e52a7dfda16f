"""The command line after issue #13: folders with other files in them, paging, the digest of an empty
day, `post show`, `comments`, what `treaty load` says it found, and treaty summaries (CLI and /load)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.db import Database

from .helpers import SAMPLE, SAMPLE_TITLE, World, add_post, fixture, shown

runner = CliRunner()

SUMMARY = """# source: https://example.org/kcna
# note: a news report's summary of the treaty, without its article numbers

DPRK-Russia Treaty on Comprehensive Strategic Partnership

According to the treaty, the two sides shall permanently maintain and develop the comprehensive strategic partnership.

In case a direct threat of armed invasion is created against any one of the two sides, the two sides shall consult.
"""
SOURCES = """# Feed files are byte-exact copies.
blogger.xml
  # source: https://github.com/rbren/rss-parser/blob/main/test/input/feedburner.atom
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


def database(tmp_path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    db.upgrade()
    return db


# --------------------------------------------------------------------------- postbot load


def test_a_folder_with_other_files_loads_and_says_what_it_skipped(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "posts").mkdir(parents=True)
    (folder / "feeds").mkdir()
    shutil.copy(SAMPLE, folder / "posts" / SAMPLE.name)
    shutil.copy(fixture("feeds", "rss2_guardian_us_2018.xml"), folder / "feeds" / "guardian.xml")
    (folder / "feeds" / "SOURCES.txt").write_text(SOURCES, encoding="utf-8")
    (folder / "summary.txt").write_text(SUMMARY, encoding="utf-8")
    (folder / "map.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    for run, loaded in ((1, "56 loaded, 0 updated, 0 unchanged"), (2, "0 loaded, 0 updated, 56 unchanged")):
        result = runner.invoke(app, ["load", str(folder)])
        assert result.exit_code == 0, (run, result.output)
        assert f"{loaded}, 0 failed, 3 skipped" in result.output
        assert "skipped: " + str(folder / "feeds" / "SOURCES.txt") + ": not a post file, feed or treaty text (line 1: no date line" in result.output
        assert f"skipped: {folder / 'summary.txt'}: no 'Article N' headings found" in result.output  # the treaty parser's reason
        assert f"skipped: {folder / 'map.png'}: not a post file, feed or treaty text (line " in result.output
        assert "failed:" not in result.output


def test_a_file_named_on_its_own_still_fails_with_the_real_reason(tmp_path):
    (tmp_path / "summary.txt").write_text(SUMMARY, encoding="utf-8")
    result = runner.invoke(app, ["load", "summary.txt"])
    assert result.exit_code == 1
    assert "failed: summary.txt:" in result.output and "no 'Article N' headings found" in result.output
    assert "no date line" not in result.output
    (tmp_path / "notes.txt").write_text("Just some notes\n\nwithout a date line.\n", encoding="utf-8")
    result = runner.invoke(app, ["load", "notes.txt"])
    assert result.exit_code == 1 and "failed: notes.txt:1: no date line" in result.output


async def test_upload_of_a_treaty_summary_gives_the_treaty_reason(simcord_env):
    w = World(simcord_env)
    r = await w.admin.slash(w.channel, "load", file=("summary.txt", SUMMARY.encode()))
    message = shown(r).content
    assert message.startswith("❌ `summary.txt` looks like a **treaty text** but was rejected: ")
    assert "no 'Article N' headings found" in message and "no date line" not in message and "line 1: line 1" not in message


# --------------------------------------------------------------------------- postbot posts


def test_posts_says_what_it_shows_and_how_to_see_more(tmp_path):
    db = database(tmp_path)
    for n in range(25):
        add_post(db, f"Filler {n}", date=dt.date(2023, 1, 1) + dt.timedelta(days=n))
    result = runner.invoke(app, ["posts"])
    assert result.exit_code == 0
    assert "showing 20 of 25, newest first; --offset 20 for more" in result.output
    assert "Filler 24" in result.output and "Filler 4 " not in result.output
    result = runner.invoke(app, ["posts", "--offset", "20"])
    assert "showing 5 of 25 (from the 21st), newest first" in result.output and "for more" not in result.output
    assert "Filler 0" in result.output
    for bad in (["--limit", "-5"], ["--limit", "0"], ["--offset", "-1"]):
        result = runner.invoke(app, ["posts", *bad])
        assert result.exit_code == 2 and "Invalid value" in result.output, bad
    result = runner.invoke(app, ["posts", "--offset", "30"])
    assert "no posts from the 31st on; there are 25" in result.output


# --------------------------------------------------------------------------- postbot digest


def test_digest_of_an_empty_day_says_so_once():
    result = runner.invoke(app, ["digest", "--date", "2020-01-01", "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if "no new posts" in line.lower()] == [
        "No new posts since Wed 01 Jan 2020 00:00 UTC."
    ]


# --------------------------------------------------------------------------- postbot post show, comments


def test_post_show_and_comments(tmp_path):
    assert runner.invoke(app, ["load", str(SAMPLE)]).exit_code == 0
    result = runner.invoke(app, ["post", "show", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == SAMPLE_TITLE and lines[1] == "  2024-06-23 · RT · post #1"
    assert "  3 comments, newest by Anonymous" in lines
    result = runner.invoke(app, ["comments", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Comments on {SAMPLE_TITLE} (3 original, 0 from Discord)")
    assert result.output.count("Anonymous") == 3
    for command in (["post", "show", "99"], ["comments", "99"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1 and "no post #99" in result.output, command
    result = runner.invoke(app, ["post", "show", "1", "--server", "5"])  # a library post: every server sees it
    assert result.exit_code == 0


# --------------------------------------------------------------------------- postbot treaty load


def test_treaty_load_reports_its_own_citations_not_other_treaties_quotes():
    assert runner.invoke(app, ["load", str(SAMPLE)]).exit_code == 0  # cites the Russia–DPRK treaty
    result = runner.invoke(app, ["treaty", "load", str(fixture("treaties", "treaty_north_atlantic_1949.txt")), "--name", "North Atlantic Treaty"])
    assert result.exit_code == 0, result.output
    assert "re-resolved" not in result.output
    assert "  cited in posts: none of its articles yet" in result.output
    assert "references to articles found again in all posts: 2" in result.output


def test_treaty_load_names_the_articles_posts_cite(tmp_path):
    post = tmp_path / "nato.txt"
    post.write_text(
        "Monday, July 8, 2024\n\nAllies meet in Washington\n\nLeaders recalled Article 5 of the North Atlantic Treaty at the summit.\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["load", str(post), str(SAMPLE)]).exit_code == 0
    result = runner.invoke(app, ["treaty", "load", str(fixture("treaties", "treaty_north_atlantic_1949.txt")), "--name", "North Atlantic Treaty"])
    assert "  cited in posts: Article 5 (1 post)" in result.output, result.output
