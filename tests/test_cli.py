"""The `postbot` command line through typer's runner, against a real SQLite file."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from bot.cli import app

from .helpers import SAMPLE

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Every CLI test gets its own database and working directory (no stray .env)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


def test_load_list_and_export(tmp_path):
    result = runner.invoke(app, ["load", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "1 loaded, 0 updated, 0 unchanged, 0 failed" in result.output

    result = runner.invoke(app, ["posts"])
    assert "What Putin’s meeting with Kim" in result.output and "RT" in result.output

    result = runner.invoke(app, ["export", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0 and "1 posts written" in result.output
    assert (tmp_path / "out" / SAMPLE.name).exists()


def test_failures_are_listed_and_exit_non_zero(tmp_path):
    folder = tmp_path / "posts"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "good.txt")
    # A post file with a broken date fails; a file that is no post at all is skipped (tests/test_cli_reading.py).
    (folder / "bad.txt").write_text("February 30, 2024\n\nA title\n\nbody\n", encoding="utf-8")
    result = runner.invoke(app, ["load", str(folder)])
    assert result.exit_code == 1
    assert "1 loaded, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "bad.txt:1: impossible date" in result.output


def test_db_upgrade_reports_the_revision():
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "revision" in result.output


def test_bad_settings_are_one_clear_line(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    result = runner.invoke(app, ["posts"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: DATABASE_URL='nonsense' is not a database URL")
    assert "Traceback" not in result.output


def test_export_rejects_unknown_format(tmp_path):
    result = runner.invoke(app, ["export", "--format", "xml"])
    assert result.exit_code == 1 and "unknown format 'xml'" in result.output
