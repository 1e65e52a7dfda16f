"""Health and metrics over real HTTP on 127.0.0.1 (issue #12): /healthz, /readyz, /metrics.

The bot in simcord serves them (METRICS_PORT=0: any free port); the test scrapes them with a real
HTTP client after a few commands and sees the counters move: commands by name and outcome, their
latency histogram, a digest, a feed poll, captured thread messages, the gateway latency of its
shard and the database pool.
"""

from __future__ import annotations

import datetime as dt
import re

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import Settings, create_bot
from bot.client import PostBot
from bot.services import comments
from bot.services import digest as digest_service

from .feed_servers import feed_server  # noqa: F401  (fixture)
from .helpers import World, shown


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
