"""Bulk sends are paced below Discord's global limit (bot/pacing.py); commands are never queued behind them.

Under simcord the pacing runs on its virtual clock, and each message's time (its snowflake) is that
clock's: the test reads the rate off the messages a channel got. BULK_SENDS_PER_SECOND is small here
(5/s) so a dozen digests already take a few seconds.
"""

from __future__ import annotations

import datetime as dt

import discord
import pytest

from bot.pacing import process_rate
from bot.settings import Settings, SettingsError

from .helpers import World, shown

pytestmark = pytest.mark.simcord(settle_timeout=30)

RATE = 5.0
CHANNELS = 12
UTC = dt.timezone.utc
EIGHT = dt.datetime(2026, 1, 1, 8, tzinfo=UTC)  # simcord's epoch is 2026-01-01 00:00 UTC


@pytest.fixture
def settings(request, database_url) -> Settings:
    return Settings(database_url=database_url, bulk_sends_per_second=getattr(request, "param", RATE))


def digest_messages_in(channels) -> list[discord.Message]:
    return [m for c in channels for m in c.history() if m.embeds and m.embeds[0].title.startswith("Daily digest")]


def over_the_rate(times: list[dt.datetime], rate: float) -> list[tuple[dt.datetime, dt.datetime]]:
    """Pairs of messages `rate` apart in sending order that are less than a second apart: more than
    `rate` requests in some one-second window."""
    times = sorted(times)
    n = int(rate)
    return [(a, b) for a, b in zip(times, times[n:]) if (b - a).total_seconds() < 1.0 - 1e-3]


async def subscribe(world: World, channels, time: str) -> None:
    for channel in channels:
        r = await world.admin.slash(channel, "digest setup", channel=channel, time=time, timezone="UTC")
        assert r.ephemeral, shown(r).content


async def test_digests_due_the_same_minute_are_paced_and_a_command_is_not_queued(simcord_env):
    world = World(simcord_env)
    world.add_post("Summit ends", date=simcord_env.now().date())
    channels = [world.guild.create_text_channel(f"digest-{i}") for i in range(CHANNELS)]
    await subscribe(world, channels, "08:00")
    own = world.guild.create_text_channel("later")
    await subscribe(world, [own], "09:00")

    await simcord_env.advance_time((EIGHT - simcord_env.now()).total_seconds() - 1)
    while not digest_messages_in(channels):  # the minute loop's tick after 08:00
        await simcord_env.advance_time(0.05)
    assert len(digest_messages_in(channels)) < CHANNELS

    # While the rest wait for their turn, an admin's /digest now posts at once, ahead of them.
    asked = simcord_env.now()
    r = await world.admin.slash(own, "digest now", channel=own)
    assert "Posted today's digest" in shown(r).content
    [posted] = digest_messages_in([own])
    assert (posted.created_at - asked).total_seconds() < 0.01
    after = [m for m in digest_messages_in(channels) if m.created_at > posted.created_at]
    assert len(after) >= CHANNELS - 3, "the scheduled digests had all gone out before: nothing was queued"

    await simcord_env.advance_time(60)
    times = [m.created_at for m in digest_messages_in(channels)]
    assert len(times) == CHANNELS and all(len(c.history()) == 1 for c in channels)
    assert over_the_rate(times, RATE) == []
    span = (max(times) - min(times)).total_seconds()
    assert (CHANNELS - 1) / RATE - 0.05 <= span <= (CHANNELS - 1) / RATE + 1.0


@pytest.mark.parametrize("settings", [0.005], indirect=True)
async def test_a_digest_waiting_past_its_lease_is_not_sent_once_another_took_it_over(settings, simcord_env):
    """At 1 per 200 s, the third and fourth digests wait past their 5-minute leases; another process
    (here: the service called as one would) takes them over meanwhile. The waiting sender must see
    that before it sends, or the channel gets the digest twice."""
    from bot.services import digest as service

    world = World(simcord_env)
    world.add_post("Summit ends", date=simcord_env.now().date())
    channels = [world.guild.create_text_channel(f"digest-{i}") for i in range(4)]
    await subscribe(world, channels, "08:00")
    await simcord_env.advance_time((EIGHT - simcord_env.now()).total_seconds() + 330)  # two sent, two waiting
    # The senders start together, so which two went first is theirs to race for; how many is not.
    sent = [len(digest_messages_in([c])) for c in channels]
    assert sorted(sent) == [0, 0, 1, 1]
    taken = await world.db.call(service.due_jobs, now=simcord_env.now())  # the other process's tick
    assert sorted(j.subscription.channel_id for j in taken) == sorted(c.id for c, n in zip(channels, sent) if n == 0)
    await simcord_env.advance_time(280)  # 08:10:10: both waiting senders have had their turn
    assert [len(digest_messages_in([c])) for c in channels] == sent  # the taker sends those two
    await simcord_env.advance_time(600)  # the taker never did: once its leases ran out, the bot took them back
    assert [len(digest_messages_in([c])) for c in channels] == [1, 1, 1, 1]


def test_each_process_takes_its_shards_share():
    assert process_rate(Settings()) == 45
    assert process_rate(Settings(shard_count=4)) == 45  # every shard here
    assert process_rate(Settings(shard_count=4, shard_ids=(0, 1))) == 22  # 22.5: two could meet 46 in a second
    assert process_rate(Settings(shard_count=64, shard_ids=(5,))) == 45 / 64
    assert process_rate(Settings(shard_count=2, shard_ids=(1,), bulk_sends_per_second=10)) == 5
    with pytest.raises(SettingsError, match="BULK_SENDS_PER_SECOND"):
        Settings(bulk_sends_per_second=0)


def test_setting_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BULK_SENDS_PER_SECOND", "22.5")
    assert Settings.from_env(tmp_path / "none.env").bulk_sends_per_second == 22.5
    monkeypatch.setenv("BULK_SENDS_PER_SECOND", "fast")
    with pytest.raises(SettingsError, match="BULK_SENDS_PER_SECOND='fast' is not a number"):
        Settings.from_env(tmp_path / "none.env")
