"""Watched feeds against a local aiohttp server (feed_servers.py): conditional requests, new and
changed entries, every kind of broken feed, back-off and pausing, the /feed commands, the polling
loop and `postbot feed`. Several servers on one URL: test_feeds_scope.py. Fetching itself (the
address guard, redirects, limits, messages) is tested in test_net.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import discord
import pytest
import simcord
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import UserFacingError
from bot.services import feeds as service
from bot.store.feeds import claim_source, get_source
from bot.store.posts import count_posts, iter_posts

from .feed_servers import LOCAL, cog, feed_server, feed_versions, file_server, http, live_cog, settings  # noqa: F401  (fixtures)
from .helpers import NOW, assert_user_error, shown

GUILD = 1111
CHANNEL = 2222
EXTRA_ENTRY_TITLE = "Trump State of the Union address promised unity but emphasized discord"


def add(db, url, *, guild_id=GUILD, channel_id=CHANNEL, interval=15, now=NOW):
    feed, _created = service.add_feed(db, url=url, guild_id=guild_id, channel_id=channel_id, interval_minutes=interval, now=now)
    return feed


async def poll(db, http, feed_id, *, now, **kw):
    """Poll the subscription's URL; its own result."""
    [feed] = [f for f in service.list_feeds(db) if f.id == feed_id]
    [result] = [r for r in await service.poll_feed(db, http, LOCAL, feed.source, now=now, **kw) if r.feed.id == feed_id]
    return result


# --- service ------------------------------------------------------------------------------


async def test_first_poll_primes_then_conditional_requests_and_only_new_entries_announce(db, http, feed_server):
    _initial, changed, new_title = feed_versions()
    feed = add(db, feed_server.url("/feed.xml"))
    assert [s.id for s in service.due_sources(db, now=NOW)] == [feed.source_id]

    first = await poll(db, http, feed.id, now=NOW)
    assert first.ok and first.to_announce == 0  # the backlog is loaded, not announced
    assert service.take_announcements(db, feed_id=feed.id, now=NOW) is None
    assert first.feed.primed and first.status == "ok: 54 new, 0 updated, 0 unchanged"
    assert first.feed.last_status == "ok: 54 entries" and first.feed.next_poll_at == NOW + dt.timedelta(minutes=15)
    assert service.due_sources(db, now=NOW + dt.timedelta(minutes=14)) == []
    with db.session() as session:
        assert count_posts(session) == 54
    assert feed_server.conditional == 0

    later = NOW + dt.timedelta(minutes=15)
    again = await poll(db, http, feed.id, now=later)
    assert again.ok and again.to_announce == 0 and again.status == again.feed.last_status == service.STATUS_NOT_MODIFIED
    assert (feed_server.conditional, feed_server.not_modified) == (1, 1)

    feed_server.set_body(changed, NOW + dt.timedelta(minutes=20))
    result = await poll(db, http, feed.id, now=later + dt.timedelta(minutes=15))
    assert result.status == "ok: 1 new, 1 updated, 53 unchanged" and result.feed.last_status == "ok: 55 entries"
    assert result.to_announce == 1
    taken = service.take_announcements(db, feed_id=feed.id, now=later)
    [(card, entries)] = taken.cards
    assert card.title == EXTRA_ENTRY_TITLE and card.source == "The Guardian" and card.date == dt.date(2018, 1, 31)
    assert card.link.startswith("https://www.theguardian.com/") and card.summary
    service.mark_announced(db, entry_ids=entries)
    assert (feed_server.conditional, feed_server.not_modified) == (2, 1)  # sent, but the content changed
    with db.session() as session:
        titles = {post.title for post in iter_posts(session)}
        assert count_posts(session) == 55
    assert new_title in titles and new_title.removesuffix(" (updated)") not in titles  # edited in place

    quiet = await poll(db, http, feed.id, now=later + dt.timedelta(minutes=30))
    assert quiet.to_announce == 0 and feed_server.not_modified == 2


async def test_one_poll_of_a_url_at_a_time_and_a_dead_pollers_lease_runs_out(db, http, feed_server):
    feed = add(db, feed_server.url("/feed.xml"))
    both = await asyncio.gather(*(service.poll_feed(db, http, LOCAL, feed.source, now=NOW, due_only=True) for _ in "ab"))
    assert sorted(len(results) for results in both) == [0, 1] and feed_server.hits["/feed.xml"] == 1

    later = NOW + dt.timedelta(minutes=15)
    with db.session() as session:  # another process claims it, and dies before booking its poll
        lease = {"now": later, "until": later + service.POLL_LEASE, "due_only": True}
        assert claim_source(session, source_id=feed.source_id, owner="elsewhere:1", **lease) is not None
    assert await service.poll_feed(db, http, LOCAL, feed.source, now=later + dt.timedelta(minutes=4)) == []
    assert feed_server.hits["/feed.xml"] == 1  # left alone while its lease holds, due or not
    [taken_over] = await service.poll_feed(db, http, LOCAL, feed.source, now=later + service.POLL_LEASE, due_only=True)
    assert taken_over.ok and taken_over.status == service.STATUS_NOT_MODIFIED and feed_server.hits["/feed.xml"] == 2
    with db.session() as session:  # booked: the lease is given back
        assert claim_source(session, source_id=feed.source_id, owner="elsewhere:1", **lease | {"due_only": False})


async def test_an_announcement_is_taken_by_one_sender_and_again_only_after_its_lease(db, http, feed_server):
    """The outbox: a pending entry is held by one sender at a time; one that died (never marked it
    sent) leaves it to be taken again once the lease has run out; a sent one is never taken again."""
    _initial, changed, _title = feed_versions()
    feed = add(db, feed_server.url("/feed.xml"))
    await poll(db, http, feed.id, now=NOW)
    feed_server.set_body(changed, NOW)
    later = NOW + dt.timedelta(minutes=15)
    assert (await poll(db, http, feed.id, now=later)).to_announce == 1
    assert [f.id for f in service.announcing(db, now=later)] == [feed.id]
    taken = service.take_announcements(db, feed_id=feed.id, now=later)
    assert [card.title for card, _entries in taken.cards] == [EXTRA_ENTRY_TITLE]
    assert service.take_announcements(db, feed_id=feed.id, now=later) is None  # held by the first sender
    assert service.announcing(db, now=later) == []
    expired = later + service.ANNOUNCE_LEASE
    again = service.take_announcements(db, feed_id=feed.id, now=expired)  # the first sender died
    assert again.cards == taken.cards
    service.mark_announced(db, entry_ids=again.cards[0][1])
    assert service.take_announcements(db, feed_id=feed.id, now=expired + dt.timedelta(days=1)) is None
    assert (await poll(db, http, feed.id, now=expired)).to_announce == 0  # seen already, however often polled


async def test_if_modified_since_without_etag(db, http, feed_server):
    feed = add(db, feed_server.url("/lm.xml"))
    await poll(db, http, feed.id, now=NOW)
    result = await poll(db, http, feed.id, now=NOW + dt.timedelta(minutes=15))
    assert result.feed.last_status == service.STATUS_NOT_MODIFIED
    assert (feed_server.conditional, feed_server.not_modified) == (1, 1)


async def test_the_same_entries_are_stored_once_per_scope_and_a_url_fetched_once_for_all(db, http, feed_server):
    one = add(db, feed_server.url("/feed.xml"))
    two = add(db, feed_server.url("/lm.xml"))  # the same entries at another URL, in the same server
    three = add(db, feed_server.url("/lm.xml"), guild_id=GUILD + 1)
    assert two.source_id == three.source_id != one.source_id
    await poll(db, http, one.id, now=NOW)
    results = await service.poll_feed(db, http, LOCAL, two.source, now=NOW)
    assert [(r.feed.id, r.status) for r in results] == [(f.id, "ok: 54 new, 0 updated, 0 unchanged") for f in (two, three)]
    assert feed_server.hits["/lm.xml"] == 1
    with db.session() as session:  # new to each subscription, but stored once in each server
        assert (count_posts(session, scope=GUILD), count_posts(session, scope=GUILD + 1), count_posts(session)) == (54, 54, 108)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing.xml", "HTTP 404 Not Found"),
        ("/page.html", "not a feed: the server sent an HTML page, not RSS/Atom XML"),
        ("/garbage", "not a feed: no RSS/Atom document in the response"),
        ("/slow", "timed out after 1 s"),
        ("/huge", "the response is larger than 10 MB; stopped reading"),
    ],
)
async def test_a_broken_feed_gets_a_clear_reason_and_backs_off(db, http, feed_server, path, reason):
    feed = add(db, feed_server.url(path))
    result = await poll(db, http, feed.id, now=NOW, timeout=1)
    assert not result.ok and not result.paused_now and result.to_announce == 0
    assert result.feed.last_error == reason and result.feed.last_status == service.STATUS_FAILED
    assert result.feed.failures == 1 and result.feed.failing_since == NOW and not result.feed.primed
    assert result.feed.next_poll_at == NOW + dt.timedelta(minutes=30)
    assert feed_server.hits[path] == 1


async def test_a_feed_without_entries_is_polled_fine(db, http, feed_server):
    feed = add(db, feed_server.url("/empty.xml"))
    result = await poll(db, http, feed.id, now=NOW)
    assert result.ok and result.status == result.feed.last_status == "ok: the feed has no entries" and result.feed.primed
    assert result.feed.failures == 0 and result.to_announce == 0


async def test_one_broken_feed_never_stops_another(db, http, feed_server):
    broken = [add(db, feed_server.url(p)) for p in ("/garbage", "/slow", "/missing")]
    good = add(db, feed_server.url("/feed.xml"))
    results = await service.poll_feeds(db, http, LOCAL, service.due_sources(db, now=NOW), now=NOW, timeout=0.5)
    assert [r.ok for r in results] == [False, False, False, True]
    assert [r.feed.id for r in results] == [f.id for f in (*broken, good)]
    with db.session() as session:
        assert count_posts(session) == 54


async def test_an_unexpected_error_is_recorded_on_that_feed(db, http, feed_server, monkeypatch):
    feed = add(db, feed_server.url("/feed.xml"))

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "load", explode)
    result = await poll(db, http, feed.id, now=NOW)
    assert not result.ok and result.feed.last_error == "internal error: RuntimeError"


def test_backoff_is_exponential_capped_and_a_day_of_failures_pauses(db):
    feed = add(db, "https://example.org/feed.xml")
    assert [service.backoff(15, n) for n in (1, 2, 3, 5, 10)] == [
        dt.timedelta(minutes=m) for m in (30, 60, 120, 360, 360)
    ]
    assert service.backoff(1440, 3) == dt.timedelta(days=1)  # never more often than the interval
    now = NOW
    while True:
        [result] = service.record_failure(db, source_id=feed.source_id, reason="HTTP 500 Internal Server Error", now=now)
        if result.paused_now:
            break
        assert not result.feed.paused
        now = result.feed.next_poll_at
    assert now - NOW >= service.PAUSE_AFTER and result.feed.paused and result.feed.next_poll_at is None
    assert service.due_sources(db, now=now + dt.timedelta(days=30)) == []
    resumed, created = service.add_feed(db, url=feed.url, guild_id=GUILD, channel_id=None, interval_minutes=60, now=now)
    assert not created and not resumed.paused and resumed.failures == 0 and resumed.interval_minutes == 60
    assert [s.id for s in service.due_sources(db, now=now)] == [feed.source_id]


def test_feed_crud(db):
    a = add(db, " https://example.org/a.xml ")
    assert a.url == "https://example.org/a.xml"
    b = add(db, "https://example.org/b.xml")
    assert add(db, "https://example.org/a.xml", guild_id=None).source_id == a.source_id  # the CLI's own, one URL
    assert [f.url for f in service.list_feeds(db, guild_id=GUILD)] == ["https://example.org/a.xml", "https://example.org/b.xml"]
    assert len(service.list_feeds(db)) == 3
    _again, created = service.add_feed(db, url=a.url, guild_id=GUILD, channel_id=None, interval_minutes=30, now=NOW)
    assert not created and len(service.list_feeds(db, guild_id=GUILD)) == 2
    assert service.get_feed(db, guild_id=GUILD, ref=str(a.id)).channel_id is None
    assert service.remove_feed(db, guild_id=GUILD, ref="https://example.org/b.xml").url.endswith("b.xml")
    service.remove_feed(db, guild_id=GUILD, ref=a.url)  # the CLI still watches a: its URL stays, b's went
    with db.session() as session:
        assert get_source(session, source_id=b.source_id) is None and get_source(session, source_id=a.source_id)
    assert [f.guild_id for f in service.list_feeds(db)] == [None]
    a = add(db, a.url)
    with pytest.raises(UserFacingError, match="No watched feed"):
        service.remove_feed(db, guild_id=GUILD + 1, ref=str(a.id))  # another server's feed
    for bad in ("ftp://example.org/x", "example.org/feed", "https://", "javascript:alert(1)"):
        with pytest.raises(UserFacingError, match="not a feed address"):
            add(db, bad)
    for n in range(service.MAX_FEEDS_PER_GUILD - 1):
        add(db, f"https://example.org/{n}.xml")
    with pytest.raises(UserFacingError, match="already watches 25 feeds"):
        add(db, "https://example.org/one-too-many.xml")


# --- Discord ------------------------------------------------------------------------------


def announcements(env, channel) -> list:
    return [r for r in env.http_requests if r.method == "POST" and r.path == f"/channels/{channel.id}/messages"]


@pytest.mark.parametrize("settings", ["false"], indirect=True)
@pytest.mark.parametrize(
    ("host", "said"), [("127.0.0.1", r"127\.0\.0\.1 is"), ("localhost", r"localhost resolves to (127\.0\.0\.1|::1),")],
    ids=["literal", "name"],
)
async def test_by_default_the_bot_refuses_feeds_on_private_addresses(simcord_env, cog, world, feed_server, host, said):
    """The bot's own session and policy come from its settings; public-only unless told otherwise."""
    url = feed_server.url("/feed.xml").replace("127.0.0.1", host)
    added = await world.admin.slash(world.channel, "feed add", url=url, channel=world.channel)
    text = shown(added).content
    assert "Now watching" in text and "The first check failed: " in text
    assert re.search(said + r" a private network address \(loopback\); postbot only fetches public feeds", text), text
    assert feed_server.hits == {}  # refused before anything reached the server


async def test_feed_commands(simcord_env, cog, world, feed_server):
    channel, admin, member = world.channel, world.admin, world.bob
    url = feed_server.url("/feed.xml")
    with pytest.raises(Exception, match="default-member-permissions"):  # /feed is for Manage Server by default
        await member.slash(channel, "feed list")
    # A server may show /feed to members: then list and status work, add and remove still refuse.
    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == "feed"]
    world.guild.set_command_permissions(command, {member: True})

    denied = await member.slash(channel, "feed add", url=url)
    assert denied.ephemeral and "Manage Server" in denied.response.content
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)

    added = await admin.slash(channel, "feed add", url=url, channel=channel, interval_minutes=30)
    text = shown(added).content
    assert added.ephemeral and "Now watching" in text and "every 30 minutes" in text and "ok: 54 new" in text
    assert announcements(simcord_env, channel) == []  # the backlog is not announced

    broken = await admin.slash(channel, "feed add", url=feed_server.url("/garbage"))  # a web page leads to its feed: test_feeds_options.py
    assert "first check failed: not a feed: no RSS/Atom document in the response" in shown(broken).content

    listed = await member.slash(channel, "feed list")
    description = listed.response.embeds[0].description
    assert url in description and feed_server.url("/garbage") in description and channel.mention in description

    status = await member.slash(channel, "feed status")
    first, second = status.response.embeds
    assert "ok: 54 entries" in first.description
    assert "failing" in second.description
    [reason] = [f.value for f in second.fields if f.name == "Reason"]
    assert reason == "not a feed: no RSS/Atom document in the response"

    choices = await member.autocomplete(channel, "feed status", "feed", "garb")
    assert [c["name"] for c in choices] == [f"#2 {feed_server.url('/garbage')}"]

    one = await member.slash(channel, "feed status", feed="2")
    assert len(one.response.embeds) == 1

    denied = await member.slash(channel, "feed remove", feed="2")
    assert "Manage Server" in denied.response.content
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)
    removed = await admin.slash(channel, "feed remove", feed="2")
    assert removed.ephemeral and "Stopped watching" in removed.response.content
    missing = await admin.slash(channel, "feed remove", feed="2")
    assert_user_error(simcord_env, missing, "No watched feed")

    bad = await admin.slash(channel, "feed add", url="not a url")
    assert_user_error(simcord_env, bad, "not a feed address")


async def test_polling_announces_each_new_entry_once_without_mentions(simcord_env, cog, world, feed_server):
    channel, admin = world.channel, world.admin
    await admin.slash(channel, "feed add", url=feed_server.url("/feed.xml"), channel=channel)
    other = await admin.slash(channel, "feed add", url=feed_server.url("/garbage"))
    assert other.response is not None

    assert await cog.poll_due() == []  # nothing due yet
    _initial, changed, _title = feed_versions()
    feed_server.set_body(changed, NOW)
    await simcord_env.advance_time(15 * 60 + 1)
    results = await cog.poll_due()
    assert len(results) == 1  # the garbage feed backs off to 30 minutes
    await simcord_env.settle()

    [sent] = announcements(simcord_env, channel)
    assert sent.json["allowed_mentions"] == {"parse": []}
    [embed] = sent.json["embeds"]
    assert embed["title"] == EXTRA_ENTRY_TITLE  # the one post card, linked to the entry
    assert embed["url"].startswith("https://www.theguardian.com/") and embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields == {"Date": "2018-01-31", "Source": "The Guardian", "Comments": "0"}  # no Discussion field
    assert channel.last_message.embeds[0].title == EXTRA_ENTRY_TITLE

    await simcord_env.advance_time(15 * 60 + 1)
    results = await cog.poll_due()
    assert [r.feed.last_status for r in results] == [service.STATUS_FAILED, service.STATUS_NOT_MODIFIED]
    await simcord_env.settle()
    assert len(announcements(simcord_env, channel)) == 1


async def test_a_feed_failing_for_a_day_is_paused_and_its_server_told(simcord_env, cog, world, feed_server):
    channel, admin = world.channel, world.admin
    await admin.slash(channel, "feed add", url=feed_server.url("/missing.xml"), channel=channel)
    for _ in range(12):
        await simcord_env.advance_time(6 * 3600 + 1)
        await cog.poll_due()
    await simcord_env.settle()
    [told] = announcements(simcord_env, channel)
    assert "I paused the feed" in told.json["content"] and "HTTP 404" in told.json["content"]
    assert told.json["allowed_mentions"] == {"parse": []}
    status = await admin.slash(channel, "feed status")
    assert "paused" in status.response.embeds[0].description


async def test_the_polling_loop_fires_by_itself(simcord_env, live_cog, world, feed_server):
    db = world.db
    url = feed_server.url("/feed.xml")
    feed = await db.call(add, url=url, guild_id=world.guild.id, channel_id=world.channel.id, now=discord.utils.utcnow())
    await simcord_env.advance_time(61)
    [polled] = await db.call(service.list_feeds, guild_id=world.guild.id)
    assert polled.id == feed.id and polled.primed and polled.last_polled_at is not None
    assert feed_server.hits["/feed.xml"] == 1


# --- CLI ----------------------------------------------------------------------------------


def test_cli_feed_add_list_poll_remove(file_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    url = f"{file_server}/blogger_atom_google_testing_blog_2017.xml"

    added = runner.invoke(app, ["feed", "add", url, "--interval", "60"])
    assert added.exit_code == 0, added.output
    assert f"watching feed 1: {url} (every 60 minutes)" in added.output
    assert runner.invoke(app, ["feed", "add", f"{file_server}/missing.xml"]).exit_code == 0
    assert "not a feed address" in runner.invoke(app, ["feed", "add", "nope"]).output

    polled = runner.invoke(app, ["feed", "poll"])
    assert polled.exit_code == 1  # one feed failed
    assert f"feed 1 {url}: ok: 25 new, 0 updated, 0 unchanged" in polled.output
    assert "feed 2" in polled.output and "failed: HTTP 404 File not found" in polled.output
    assert "No feed is due" in runner.invoke(app, ["feed", "poll"]).output

    again = runner.invoke(app, ["feed", "poll", "1"])  # Last-Modified -> 304
    assert again.exit_code == 0 and "not modified" in again.output

    listed = runner.invoke(app, ["feed", "list"])
    assert "2 feeds" in listed.output and "HTTP" in listed.output and "failed" in listed.output

    removed = runner.invoke(app, ["feed", "remove", url])
    assert removed.exit_code == 0 and "stopped watching feed 1" in removed.output
    assert runner.invoke(app, ["feed", "remove", url]).exit_code == 1
    assert "25 posts" in runner.invoke(app, ["posts"]).output
