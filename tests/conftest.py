"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set) and the bot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.framework import postgres_admin_url, scratch_postgres
from bot import Settings, create_bot
from bot.db import Database

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SAMPLE = DATA / "2024-06-23-what-putins-meeting-with-kim-jong-un-really-means.txt"
CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def corpus(*parts: str) -> Path:
    """A file of ../shared/corpus, or skip: the corpus sits beside the repository, not in it."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus file {path} not present")
    return path


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("TEST_DATABASE_URL not set")
    with scratch_postgres(admin, "test") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'postbot.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """Each store test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL."""
    return request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_url")


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def settings(sqlite_url) -> Settings:
    return Settings(database_url=sqlite_url)


@pytest.fixture
def simcord_bot(settings):
    """simcord's plugin builds `simcord_env` from this bot."""
    return create_bot(settings)
