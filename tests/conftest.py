"""Fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set) and the bot.

Each PostgreSQL test gets its own database, copied from a template migrated once per run
(CREATE DATABASE ... TEMPLATE), so a test pays for a copy, not for the migrations.
"""

from __future__ import annotations

import pytest

from bot import Settings, create_bot
from bot.db import Database

from .helpers import SAMPLE, World, fixture, one_shard, postgres_admin_url, released, scratch_postgres  # noqa: F401  (SAMPLE, fixture: until every test imports helpers)


@pytest.fixture(scope="session")
def postgres_template():
    """A PostgreSQL database at the newest schema, to copy; None without TEST_DATABASE_URL."""
    admin = postgres_admin_url()
    if admin is None:
        yield None
        return
    with scratch_postgres(admin, "template") as url:
        database = Database(url)
        database.upgrade()
        database.dispose()
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def postgres_url(postgres_template):
    """A PostgreSQL database at the newest schema for one test, dropped afterwards."""
    if postgres_template is None:
        pytest.skip("TEST_DATABASE_URL not set")
    with scratch_postgres(postgres_admin_url(), "test", template=postgres_template) as url:
        yield url


@pytest.fixture
def empty_postgres_url():
    """An empty PostgreSQL database (no schema) for one test: for the migrations themselves."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("TEST_DATABASE_URL not set")
    with scratch_postgres(admin, "empty") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'postbot.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """Each store test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


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
async def simcord_bot(settings):
    """simcord's plugin builds `simcord_env` from this bot (one shard unless the settings say more:
    simcord needs the count that discord.py would otherwise ask Discord for)."""
    async with released(create_bot(one_shard(settings))) as bot:
        yield bot


@pytest.fixture
def world(simcord_env) -> World:
    """One server with its members around the bot (tests.helpers.World); a test module whose
    world needs more (posts, treaties, a digest) defines its own `world`."""
    return World(simcord_env)
