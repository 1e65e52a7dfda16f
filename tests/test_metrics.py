"""Health and metrics over real HTTP on 127.0.0.1 (issue #12): /healthz, /readyz, /metrics.

The bot in simcord serves them (METRICS_PORT=0: any free port); the test scrapes them with a real
HTTP client after a few commands and sees the counters move: commands by name and outcome, their
latency histogram, a digest, a feed poll, captured thread messages, the gateway latency of its
shard and the database pool.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import aiohttp
import pytest
import simcord
from prometheus_client.parser import text_string_to_metric_families

from bot import Settings, create_bot
from bot.client import PostBot
from bot.services import comments
from bot.services import digest as digest_service

from .feed_servers import feed_server  # noqa: F401  (fixture)
from .helpers import World, released, shown


@pytest.fixture
def settings(sqlite_url) -> Settings:
    return Settings(database_url=sqlite_url, metrics_port=0, feed_allow_private_hosts="127.0.0.1")


async def scrape(bot: PostBot, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET on the bot's health server, over TCP."""
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{bot.health.port}{path}") as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(page: dict, name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_health_and_readiness_over_http(simcord_env, feed_server):  # noqa: F811
    world = World(simcord_env)
    bot = world.bot
    assert bot.health is not None and bot.health.host == "127.0.0.1" and bot.health.port > 0

    assert await scrape(bot, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
    status, _, body = await scrape(bot, "/readyz")
    assert (status, body) == (200, "ready\n")
    status, content_type, before = await scrape(bot, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    first = samples(before)
    assert value(first, "postbot_commands_total", command="post list", outcome="ok") == 0
    assert value(first, "postbot_gateway_latency_seconds", shard="0") == 0.0  # simcord's heartbeat is instant
    assert ("postbot_gateway_latency_seconds", (("shard", "0"),)) in first
    assert value(first, "postbot_database_pool_connections", state="size") >= 1

    # A few commands: two answered, two told the member what was wrong.
    post_id = world.add_post("A post to talk about", date=simcord_env.now().date())
    assert "A post to talk about" in str(shown(await world.alice.slash(world.channel, "post list")).embeds[0].to_dict())
    await world.alice.slash(world.channel, "post show", post=str(post_id))
    assert "no daily digest" in shown(await world.admin.slash(world.channel, "digest status")).content
    assert "not a time of day" in shown(await world.admin.slash(world.channel, "digest setup", channel=world.channel, time="25:99", timezone="UTC")).content
    assert len(simcord_env.errors) == 2  # the two user errors, seen
    # A digest, a feed poll and thread messages.
    digest_service.set_subscription(
        world.db, guild_id=world.guild.id, channel_id=world.channel.id, time=dt.time(0, 2), timezone="UTC", quiet=True, now=simcord_env.now()
    )
    await simcord_env.advance_time(150)
    await world.admin.slash(world.channel, "feed add", url=feed_server.url("/feed.xml"), channel=world.channel)
    await world.alice.slash(world.channel, "discuss", post=str(post_id))
    thread = comments.post_thread(world.db, post_id=post_id, guild_id=world.guild.id)
    for i in range(3):
        simcord_env.backend.create_message(thread.thread_id, world.bob.id, f"Thread message {i}")
    await simcord_env.settle()

    status, _, after = await scrape(bot, "/metrics")
    page = samples(after)
    assert value(page, "postbot_commands_total", command="post list", outcome="ok") == 1
    assert value(page, "postbot_commands_total", command="post show", outcome="ok") == 1
    assert value(page, "postbot_commands_total", command="digest status", outcome="user_error") == 1  # no digest yet
    assert value(page, "postbot_commands_total", command="digest setup", outcome="user_error") == 1  # not a time
    assert value(page, "postbot_commands_total", command="feed add", outcome="ok") == 1
    assert value(page, "postbot_command_seconds_count", command="post list") == 1
    assert value(page, "postbot_command_seconds_bucket", command="post list", le="+Inf") == 1
    assert value(page, "postbot_digests_total", outcome="sent") == 1
    assert value(page, "postbot_feed_polls_total", outcome="ok") == 1
    assert value(page, "postbot_comments_captured_total") == 3
    assert re.search(r'^postbot_database_pool_connections\{state="in_use"\} \d', after, re.MULTILINE)


async def test_readyz_says_why_not(simcord_env):
    bot = simcord_env.bot
    status, _, body = await scrape(bot, "/readyz")
    assert (status, body) == (200, "ready\n")
    await bot.shards[0].disconnect()
    assert await scrape(bot, "/readyz") == (503, "text/plain; charset=utf-8", "not ready: shard 0 is not connected to Discord\n")
    await bot.shards[0].reconnect()
    await simcord_env.settle()
    assert (await scrape(bot, "/readyz"))[0] == 200
    bot.stopping = True
    assert (await scrape(bot, "/readyz"))[2] == "not ready: shutting down\n"
    bot.stopping = False


async def test_a_bot_not_connected_yet_is_not_ready(sqlite_url):
    bot = create_bot(Settings(database_url=sqlite_url, shard_count=1))
    assert await bot.readiness() == "connecting to Discord"


async def test_no_metrics_server_unless_asked(sqlite_url):
    bot = create_bot(Settings(database_url=sqlite_url))
    assert bot.health is None and bot.settings.metrics_port is None


async def test_failures_skips_and_unchanged_feeds_are_counted_too(simcord_env, feed_server, caplog):  # noqa: F811
    """The other outcomes move as well: a command that crashes, digests skipped (quiet, nothing new) and
    failed (a deleted channel; a bug while sending), feed polls answered "not modified" and failed."""
    from .test_client import Faulty  # noqa: PLC0415  (the test cog with a command that fails like a bug)

    world = World(simcord_env)
    bot = world.bot
    await bot.add_cog(Faulty())
    await bot.tree.sync()
    with caplog.at_level(logging.CRITICAL, logger="bot.client"):
        await world.alice.slash(world.channel, "crash")
    simcord.assert_error(simcord_env, RuntimeError)

    quiet, broken = world.channel, world.guild.create_text_channel("broken")
    for channel_id in (quiet.id, broken.id, 4242):  # 4242: a channel deleted since /digest setup
        digest_service.set_subscription(
            world.db, guild_id=world.guild.id, channel_id=channel_id, time=dt.time(0, 2), timezone="UTC", quiet=True, now=simcord_env.now()
        )
    cog = bot.get_cog("Digest")
    original = cog.deliver

    async def deliver(job):  # a bug while sending one channel's digest
        if job.subscription.channel_id == broken.id:
            raise RuntimeError("the renderer broke")
        return await original(job)

    cog.deliver = deliver
    with caplog.at_level(logging.CRITICAL, logger="cogs.digest"):
        await simcord_env.advance_time(150)  # one attempt each (a failed one is tried again each minute)
    page = samples((await scrape(bot, "/metrics"))[2])
    assert value(page, "postbot_digests_total", outcome="skipped") == 1  # the quiet channel: nothing new
    assert value(page, "postbot_digests_total", outcome="failed") == 2  # the deleted channel, the bug
    assert value(page, "postbot_digests_total", outcome="sent") == 0
    cog.deliver = original
    digest_service.remove_subscriptions(world.db, guild_id=world.guild.id)  # no more retries while the feeds are polled

    feeds = bot.get_cog("Feeds")
    feeds.poll_loop.cancel()  # the test says when a feed tick runs
    await world.admin.slash(world.channel, "feed add", url=feed_server.url("/feed.xml"), channel=world.channel)
    await simcord_env.advance_time(16 * 60)
    await feeds.poll_due()  # unchanged: 304
    feed_server.set_body(b"<html>this is no feed</html>", simcord_env.now())
    await simcord_env.advance_time(16 * 60)
    with caplog.at_level(logging.CRITICAL):
        await feeds.poll_due()

    page = samples((await scrape(bot, "/metrics"))[2])
    assert value(page, "postbot_commands_total", command="crash", outcome="error") == 1
    assert value(page, "postbot_command_seconds_count", command="crash") == 1
    assert value(page, "postbot_feed_polls_total", outcome="ok") == 1  # /feed add
    assert value(page, "postbot_feed_polls_total", outcome="not_modified") == 1
    assert value(page, "postbot_feed_polls_total", outcome="failed") == 1


async def test_before_discord_is_connected_readyz_is_503_and_the_pool_is_the_configured_size(postgres_url):
    """The server is up from `setup_hook` on (before the gateway connects): alive, not ready, saying why;
    the PostgreSQL pool is DATABASE_POOL_SIZE connections, and the gauge shows the ones in use."""
    bot = create_bot(Settings(database_url=postgres_url, shard_count=1, metrics_port=0, database_pool_size=3))
    async with released(bot):
        await bot.start_health_server()
        assert await scrape(bot, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
        assert await scrape(bot, "/readyz") == (503, "text/plain; charset=utf-8", "not ready: connecting to Discord\n")
        with bot.database.engine.connect(), bot.database.engine.connect():  # two use cases running
            page = samples((await scrape(bot, "/metrics"))[2])
        assert value(page, "postbot_database_pool_connections", state="size") == 3
        assert value(page, "postbot_database_pool_connections", state="in_use") == 2
        assert ("postbot_gateway_latency_seconds", ()) not in page  # no shard connected: no latency yet
    assert bot.health is None  # released with the bot
