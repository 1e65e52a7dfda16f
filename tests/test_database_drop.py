"""PostgreSQL goes away while the bot runs (issue #12): commands wait it out, loops survive, readiness says so.

The drop is real: the test's database stops accepting connections and every connection to it is
terminated (as in a restart or a fail-over), then it comes back. PostgreSQL only (SQLite is a file).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bot import Settings
from bot.models import DigestRun
from bot.services import digest as digest_service

from .helpers import World, postgres_admin_url, shown

pytestmark = pytest.mark.simcord(settle_timeout=20)


@pytest.fixture
def settings(postgres_url) -> Settings:
    return Settings(database_url=postgres_url)


def set_connections(url: str, *, allowed: bool) -> None:
    """Let the database take connections again, or refuse them and end every one it has."""
    name = make_url(url).database
    engine = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}'))
        if not allowed:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name})
    engine.dispose()


@pytest.fixture
def outage(postgres_url):
    """`outage.start()` takes the database away; it is back at the end of the test at the latest."""

    class Outage:
        def start(self) -> None:
            set_connections(postgres_url, allowed=False)

        def end(self) -> None:
            set_connections(postgres_url, allowed=True)

        def end_in(self, seconds: float) -> threading.Timer:
            timer = threading.Timer(seconds, self.end)
            timer.start()
            return timer

    outage = Outage()
    yield outage
    outage.end()


async def test_a_command_during_a_short_outage_is_answered_once_the_database_is_back(simcord_env, outage, caplog):
    world = World(simcord_env)
    world.bot.database.retry_delays = (0.25, 0.5, 1.0, 2.0)
    world.add_post("Still here after the restart")
    outage.start()
    timer = outage.end_in(1.0)
    with caplog.at_level(logging.WARNING, logger="bot.db"):
        result = await world.alice.slash(world.channel, "post list")
    timer.join()
    assert "Still here after the restart" in str([e.to_dict() for e in shown(result).embeds])
    retries = [r.getMessage() for r in caplog.records if r.name == "bot.db"]
    assert retries and all("the database did not answer" in m and "again in" in m for m in retries), retries


async def test_a_digest_due_during_an_outage_goes_out_once_it_is_back(simcord_env, outage, caplog):
    world = World(simcord_env)
    bot = world.bot
    bot.database.retry_delays = (0.1,)
    for title in ("One", "Two"):
        world.add_post(title, date=simcord_env.now().date())
    digest_service.set_subscription(
        world.db, guild_id=world.guild.id, channel_id=world.channel.id, time=dt.time(0, 2), timezone="UTC", quiet=True, now=simcord_env.now()
    )
    assert await bot.readiness() is None
    outage.start()
    with caplog.at_level(logging.ERROR, logger="cogs.digest"):
        await simcord_env.advance_time(150)  # 00:02 and 00:03 pass while the database is away
    assert world.channel.history() == []
    assert any("could not compute due digests" in r.getMessage() for r in caplog.records)
    problem = await bot.readiness()
    assert problem is not None and problem.startswith("the database does not answer:"), problem
    assert bot.get_cog("Digest").scheduler.is_running() and bot.get_cog("Feeds").poll_loop.is_running()

    outage.end()
    await simcord_env.advance_time(60)  # the next tick sends it
    [message] = world.channel.history()
    assert message.embeds[0].title.startswith("Daily digest")
    await simcord_env.advance_time(180)
    assert len(world.channel.history()) == 1
    with world.db.session() as session:
        [run] = session.execute(select(DigestRun)).scalars()
    assert (run.status, run.attempts) == ("sent", 1)
    assert await bot.readiness() is None
