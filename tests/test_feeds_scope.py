"""Feeds across servers (DESIGN.md §8, issue #9): a URL is fetched once per poll for everyone who
watches it, every server is told of each entry new to it once - whoever stored it first - and a
server's feed brings posts only that server sees, while the CLI's feeds fill the library."""

from __future__ import annotations

import discord

from bot.services.feeds import STATUS_NOT_MODIFIED

from .feed_servers import cog, feed_server, feed_with, file_server, live_cog, operator, settings  # noqa: F401  (fixtures)
from .helpers import World, assert_user_error, shown

FEED = "/feed.xml"


async def two_watching(env, feed_server) -> tuple[World, World]:
    """Two unrelated servers announcing the same feed URL in their #general."""
    worlds = World(env, name="one"), World(env, name="two")
    for world in worlds:
        added = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=world.channel)
        assert "First check: ok: 54 new, 0 updated, 0 unchanged." in shown(added).content  # each primes its own
    return worlds


def announced(world: World) -> list[str]:
    """The titles announced in the server's channel, as a member sees them."""
    return [m.embeds[0].title for m in world.channel.history(viewer=world.bob) if m.embeds]


async def tick(env, cog, feed_server) -> list:
    """One poll of everything due, a quarter of an hour on; the feed URL is fetched exactly once."""
    before = feed_server.hits.get(FEED, 0)
    await env.advance_time(15 * 60 + 1)
    results = await cog.poll_due()
    await env.settle()
    assert feed_server.hits[FEED] == before + 1
    return results


async def test_both_servers_are_told_of_each_new_entry_once_whoever_loaded_it_first(
    simcord_env, cog, feed_server, operator
):
    one, two = await two_watching(simcord_env, feed_server)
    url = feed_server.url(FEED)
    assert feed_server.hits[FEED] == 2  # each first check needs the entries: never a 304
    titles: list[str] = []

    def grows(title: str) -> None:
        titles.insert(0, title)
        feed_server.set_body(feed_with(*titles), discord.utils.utcnow())

    grows("Summit opens in Vilnius")
    await tick(simcord_env, cog, feed_server)
    assert announced(one) == announced(two) == ["Summit opens in Vilnius"]

    grows("Ministers agree on a statement")  # the operator polls it first, with a CLI feed of its own
    await operator("feed", "add", url)
    polled = await operator("feed", "poll", url)
    assert polled.count("ok: 1 new, 0 updated, 55 unchanged") == 2 and "ok: 56 new, 0 updated, 0 unchanged" in polled
    results = await tick(simcord_env, cog, feed_server)  # the CLI kept the ETag: a 304, and the news from the outbox
    assert {r.status for r in results} == {STATUS_NOT_MODIFIED}
    assert announced(one) == announced(two) == ["Summit opens in Vilnius", "Ministers agree on a statement"]

    grows("Observers call it a breakthrough")  # the operator loads it into the library first
    assert "1 loaded" in await operator("load", url)
    results = await tick(simcord_env, cog, feed_server)
    assert announced(one) == announced(two) == [
        "Summit opens in Vilnius", "Ministers agree on a statement", "Observers call it a breakthrough",
    ]
    statuses = {r.feed.guild_id: r.status for r in results}  # the CLI's feed records it too, announcing nowhere
    assert statuses == dict.fromkeys((one.guild.id, two.guild.id, None), "ok: 1 new, 0 updated, 56 unchanged")
    assert {r.feed.guild_id: r.to_announce for r in results} == {one.guild.id: 1, two.guild.id: 1, None: 0}

    await tick(simcord_env, cog, feed_server)  # nothing new: a 304 for everyone, nobody told again
    assert len(announced(one)) == len(announced(two)) == 3


async def test_a_cli_poll_between_two_ticks_neither_swallows_nor_doubles_announcements(
    simcord_env, cog, feed_server, operator
):
    """`postbot feed poll` books a poll like the bot's: a server's new entries wait in the outbox for
    the bot's next tick, which tells each server once and needs no full fetch of the URL again."""
    one, two = await two_watching(simcord_env, feed_server)
    titles: list[str] = []

    def grows(title: str) -> None:
        titles.append(title)
        feed_server.set_body(feed_with(*reversed(titles)), discord.utils.utcnow())

    grows("Summit opens in Vilnius")  # the bot polls first
    await tick(simcord_env, cog, feed_server)
    assert announced(one) == announced(two) == titles

    grows("Ministers agree on a statement")  # the operator polls first, between two ticks
    polled = await operator("feed", "poll", "--all")
    assert polled.count("ok: 1 new, 0 updated, 55 unchanged") == 2, polled
    assert announced(one) == announced(two) == titles[:1]  # the CLI tells no server itself
    again = await operator("feed", "poll", "--all")
    assert again.count(STATUS_NOT_MODIFIED) == 2, again  # its ETag was kept
    results = await tick(simcord_env, cog, feed_server)
    assert [r.status for r in results] == [STATUS_NOT_MODIFIED] * 2
    assert announced(one) == announced(two) == titles  # told once, by the bot

    grows("Observers call it a breakthrough")  # the bot first, then the operator: nothing to add
    await tick(simcord_env, cog, feed_server)
    assert (await operator("feed", "poll", "--all")).count(STATUS_NOT_MODIFIED) == 2
    await tick(simcord_env, cog, feed_server)
    assert announced(one) == announced(two) == titles


async def test_a_servers_feed_brings_that_servers_posts_and_the_clis_the_librarys(
    simcord_env, cog, feed_server, file_server, operator
):
    one, two = World(simcord_env, name="one"), World(simcord_env, name="two")
    await one.admin.slash(one.channel, "feed add", url=feed_server.url(FEED))
    listed = await one.alice.slash(one.channel, "post list")
    assert listed.response.embeds[0].footer.text.startswith("Page 1 of 6")  # its 54 entries
    nothing = await two.alice.slash(two.channel, "post list")
    assert_user_error(simcord_env, nothing, "No posts are stored yet")

    await operator("feed", "add", f"{file_server}/blogger_atom_google_testing_blog_2017.xml")
    assert "ok: 25 new, 0 updated, 0 unchanged" in await operator("feed", "poll", "2")
    seen = (await two.alice.slash(two.channel, "post list")).response.embeds[0]
    assert seen.footer.text.startswith("Page 1 of 3") and "The Guardian" not in seen.description  # the library only
    everything = (await one.alice.slash(one.channel, "post list")).response.embeds[0]
    assert everything.footer.text.startswith("Page 1 of 8")  # its own 54 and the library's 25


async def test_removing_one_servers_subscription_leaves_the_others_working(simcord_env, cog, feed_server):
    one, two = await two_watching(simcord_env, feed_server)
    removed = await one.admin.slash(one.channel, "feed remove", feed=feed_server.url(FEED))
    assert "Stopped watching" in removed.response.content
    assert "watches no feeds" in (await one.admin.slash(one.channel, "feed list")).response.content
    assert feed_server.url(FEED) in (await two.admin.slash(two.channel, "feed list")).response.embeds[0].description

    feed_server.set_body(feed_with("Summit opens in Vilnius"), discord.utils.utcnow())
    [result] = await tick(simcord_env, cog, feed_server)
    assert result.feed.guild_id == two.guild.id and result.status == "ok: 1 new, 0 updated, 54 unchanged"
    assert announced(two) == ["Summit opens in Vilnius"] and announced(one) == []

    await two.admin.slash(two.channel, "feed remove", feed=feed_server.url(FEED))  # the last one: the URL goes too
    await simcord_env.advance_time(15 * 60 + 1)
    assert await cog.poll_due() == []
