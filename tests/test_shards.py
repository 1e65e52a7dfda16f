"""Shards (issue #12): SHARD_COUNT / SHARD_IDS, which servers a process owns, and what it leaves to the others.

The two-process tests are in tests/test_shard_processes.py; here one bot runs shard 1 of 2 in
simcord (which then delivers only shard 1's events to it) and the services' filters are checked
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot import Settings, create_bot
from bot.client import shard_of
from bot.models import DigestRun
from bot.services import digest as digest_service
from bot.services import feeds as feed_service
from bot.settings import SettingsError

from .helpers import add_post

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
ON_SHARD = {0: (1000 << 22) | 5, 1: (1001 << 22) | 5}  # a server id on each of two shards


@pytest.mark.parametrize(
    ("env", "count", "ids"),
    [({}, None, None), ({"SHARD_COUNT": "4"}, 4, None), ({"SHARD_COUNT": "4", "SHARD_IDS": "0,1"}, 4, (0, 1)),
     ({"SHARD_COUNT": "4", "SHARD_IDS": "1-3"}, 4, (1, 2, 3)), ({"SHARD_COUNT": "2", "SHARD_IDS": "1"}, 2, (1,)),
     ({"SHARD_IDS": "all"}, None, None)],
)
def test_shard_settings(monkeypatch, tmp_path, env, count, ids):
    for name in ("SHARD_COUNT", "SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(tmp_path / "none.env")
    assert (settings.shard_count, settings.shard_ids) == (count, ids)
    bot = create_bot(settings)
    assert (bot.shard_count, bot.shard_ids) == (count, list(ids) if ids else None)


@pytest.mark.parametrize(
    ("env", "message"),
    [({"SHARD_IDS": "0,1"}, "SHARD_IDS needs SHARD_COUNT"), ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, "from 0 to 1"),
     ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0"}, "different numbers"), ({"SHARD_COUNT": "0"}, "at least 1"),
     ({"SHARD_COUNT": "2", "SHARD_IDS": "one"}, "not a list of shard numbers"), ({"DATABASE_POOL_SIZE": "0"}, "at least 1"),
     ({"METRICS_PORT": "70000"}, "is not a port"), ({"LOG_FORMAT": "xml"}, "text or json")],
)
def test_bad_operations_settings_are_one_clear_line(monkeypatch, tmp_path, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(tmp_path / "none.env")


def test_which_servers_a_process_owns(sqlite_url):
    assert [shard_of(ON_SHARD[0], 2), shard_of(ON_SHARD[1], 2)] == [0, 1]
    first = create_bot(Settings(database_url=sqlite_url, shard_count=2, shard_ids=(0,)))
    second = create_bot(Settings(database_url=sqlite_url, shard_count=2, shard_ids=(1,)))
    everything = create_bot(Settings(database_url=sqlite_url))
    assert [first.owns_guild(ON_SHARD[0]), first.owns_guild(ON_SHARD[1]), first.owns_guild(None)] == [True, False, True]
    assert [second.owns_guild(ON_SHARD[0]), second.owns_guild(ON_SHARD[1]), second.owns_guild(None)] == [False, True, False]
    assert all(everything.owns_guild(g) for g in (*ON_SHARD.values(), None))


def test_due_digests_of_other_shards_are_not_claimed(db):
    for guild_id in ON_SHARD.values():
        digest_service.set_subscription(db, guild_id=guild_id, channel_id=guild_id + 1, time=dt.time(0, 10), timezone="UTC", quiet=True, now=T0)
    at = T0 + dt.timedelta(minutes=11)
    [mine] = digest_service.due_jobs(db, now=at, owns=lambda guild_id: shard_of(guild_id, 2) == 1)
    assert mine.subscription.guild_id == ON_SHARD[1]
    [theirs] = digest_service.due_jobs(db, now=at, owns=lambda guild_id: shard_of(guild_id, 2) == 0)  # not claimed before
    assert theirs.subscription.guild_id == ON_SHARD[0]
    assert digest_service.due_jobs(db, now=at) == []  # both claimed, once


def test_a_process_polls_the_urls_its_servers_watch_and_shard_0_the_clis(db):
    add = {"channel_id": None, "interval_minutes": 15, "now": T0}
    shared, _ = feed_service.add_feed(db, url="https://example.org/shared.xml", guild_id=ON_SHARD[0], **add)
    feed_service.add_feed(db, url="https://example.org/shared.xml", guild_id=ON_SHARD[1], **add)
    second_only, _ = feed_service.add_feed(db, url="https://example.org/second.xml", guild_id=ON_SHARD[1], **add)
    library, _ = feed_service.add_feed(db, url="https://example.org/library.xml", guild_id=None, **add)

    def due(shard: int) -> set[str]:
        owns = lambda guild_id: (0 if guild_id is None else shard_of(guild_id, 2)) == shard  # noqa: E731
        return {s.url for s in feed_service.due_sources(db, now=T0, owns=owns)}

    assert due(0) == {shared.url, library.url}
    assert due(1) == {shared.url, second_only.url}
    assert {s.url for s in feed_service.due_sources(db, now=T0)} == {shared.url, second_only.url, library.url}


@pytest.fixture
def settings(sqlite_url) -> Settings:
    return Settings(database_url=sqlite_url, shard_count=2, shard_ids=(1,))


async def test_a_bot_running_shard_1_sends_only_its_servers_digests(simcord_env):
    """One simcord, shard_count=2, the bot runs shard 1: the shard-0 server's digest is left for its process."""
    bot = simcord_env.bot
    servers = {shard: simcord_env.create_guild(name=f"on shard {shard}", shard_id=shard) for shard in (0, 1)}
    channels = {shard: guild.create_text_channel("digest") for shard, guild in servers.items()}
    assert bot.get_guild(servers[1].id) is not None and bot.get_guild(servers[0].id) is None  # shard 0's events go elsewhere
    add_post(bot.database, "News", date=simcord_env.now().date(), now=simcord_env.now())
    for shard, guild in servers.items():
        digest_service.set_subscription(
            bot.database, guild_id=guild.id, channel_id=channels[shard].id, time=dt.time(0, 2), timezone="UTC", quiet=True,
            now=simcord_env.now(),
        )
    await simcord_env.advance_time(150)
    assert channels[1].history()[0].embeds[0].title.startswith("Daily digest")
    assert channels[0].history() == []
    with bot.database.session() as session:
        runs = session.execute(select(DigestRun.guild_id, DigestRun.status)).all()
    assert [tuple(r) for r in runs] == [(servers[1].id, "sent")]  # shard 0's is not even claimed
