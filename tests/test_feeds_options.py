"""What admins set per feed (issue #13), as members then see it: filters (`/feed filter`), a thread
per announced post (`thread:true`), forum channels as destinations (one tagged forum post an entry),
and feed discovery (`/feed add` of a web page watches the feed it names). The threads are the posts'
discussion threads: their messages become comments under the server's discussion mode."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot.ingest.feeds import FeedLink, feed_links
from bot.services import comments
from bot.services.feed_filters import EntryFilter, parse_terms
from bot.services.views import FeedRecord
from bot.store.posts import count_posts

from .feed_servers import sent_to
from .feed_servers import cog, feed_server, feed_with, live_cog, settings  # noqa: F401  (fixtures)
from .helpers import assert_user_error, shown

FEED = "/feed.xml"


async def grow(env, cog, feed_server, *titles, **kwargs) -> None:
    feed_server.set_body(feed_with(*titles, **kwargs), discord.utils.utcnow())
    await env.advance_time(15 * 60 + 1)
    await cog.poll_due()
    await env.settle()


async def saved_comments(world, post_id: int) -> list[str]:
    await world.bot.get_cog("Discussion").writer.flush()
    return [c.text for c in comments.list_comments(world.db, post_id=post_id, scope=world.guild.id)]


def post_of(world, thread_id: int):
    return comments.comment_target(world.db, thread_id=thread_id, message_id=0)


# --- filters ----------------------------------------------------------------------------------


async def test_filters_keep_entries_from_the_channel_but_not_from_the_store(simcord_env, cog, world, feed_server):
    await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=world.channel)
    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == "feed"]
    world.guild.set_command_permissions(command, {world.bob: True})
    denied = await world.bob.slash(world.channel, "feed filter", feed="1", include="summit")
    assert denied.ephemeral and "Manage Server" in shown(denied).content  # checked in code, not only by Discord
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)

    set_ = await world.admin.slash(world.channel, "feed filter", feed="1", include="summit, North Atlantic", exclude="rumour")
    assert set_.ephemeral
    assert "only entries with “summit”, “North Atlantic”; never entries with “rumour”" in shown(set_).content
    with world.db.session() as session:
        before = count_posts(session, scope=world.guild.id)
    titles = ["SUMMIT opens in Vilnius", "Summit rumour mill", "Weather today", "Software summits", "Talks"]
    texts = {"Talks": "The North  Atlantic allies met."}
    await grow(simcord_env, cog, feed_server, *titles, texts=texts)

    [message] = sent_to(simcord_env, world.channel)
    assert [e["title"] for e in message["embeds"]] == ["SUMMIT opens in Vilnius", "Talks"]  # any case; whole words; the text too
    with world.db.session() as session:
        assert count_posts(session, scope=world.guild.id) == before + 5  # filtered entries are stored all the same
    status = await world.bob.slash(world.channel, "feed status", feed="1")
    fields = {f.name: f.value for f in status.response.embeds[0].fields}
    assert fields["Filtered"] == "3 new entries stored, not announced"
    assert fields["Filters"].startswith("Announces only entries with “summit”")

    cleared = await world.admin.slash(world.channel, "feed filter", feed="1")
    assert "None: every new entry is announced." in shown(cleared).content
    await grow(simcord_env, cog, feed_server, "Weather tomorrow", *titles, texts=texts)
    assert [e["title"] for e in sent_to(simcord_env, world.channel)[1]["embeds"]] == ["Weather tomorrow"]


async def test_filter_terms_are_checked(simcord_env, cog, world, feed_server):
    await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED))
    many = await world.admin.slash(world.channel, "feed filter", feed="1", include=", ".join(f"w{n}" for n in range(26)))
    assert_user_error(simcord_env, many, "at most 25 include terms")
    missing = await world.admin.slash(world.channel, "feed filter", feed="9", include="x")
    assert_user_error(simcord_env, missing, "No watched feed")


def test_filter_matching():
    rule = EntryFilter(include=None, exclude=None)
    assert not rule.active and rule.announces("anything", "")
    assert parse_terms(" war ,  ,War,  peace   talks ") == ("war", "peace talks")
    fields = {f: None for f in FeedRecord.__dataclass_fields__}
    feed = FeedRecord(**(fields | {"include_words": "war, peace talks", "exclude_words": "C++"}))
    rule = EntryFilter.of(feed)
    assert rule.announces("War!", "") and rule.announces("x", "the peace\ntalks went on")
    assert not rule.announces("Software", "warfare") and not rule.announces("War in C++", "")


# --- a thread per post ---------------------------------------------------------------------------


async def test_a_thread_per_announced_post_is_its_discussion_thread(simcord_env, cog, world, feed_server):
    news = world.guild.create_role("news", mentionable=True)
    added = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=world.channel, thread=True, role=news)
    assert "each with its discussion thread, mentioning" in shown(added).content
    await grow(simcord_env, cog, feed_server, "Summit opens", "Talks end")

    first, second = sent_to(simcord_env, world.channel)[:2]  # one message a post, each with its thread
    assert [m["embeds"][0]["title"] for m in (first, second)] == ["Summit opens", "Talks end"]
    assert first["content"] == news.mention and not second.get("content")  # one mention a round
    assert all(m["allowed_mentions"] == {"parse": [], "roles": [news.id]} for m in (first, second))
    threads = {t.name: t for t in world.channel.threads}
    assert set(threads) == {"Summit opens", "Talks end"}
    summit = threads["Summit opens"]
    post = post_of(world, summit.id)
    assert post.title == "Summit opens"
    linked = await world.bob.slash(world.channel, "discuss", post=str(post.id))
    assert linked.ephemeral and f"<#{summit.id}>" in linked.response.content

    await world.alice.send(summit, "Nothing will change.")
    assert await saved_comments(world, post.id) == ["Nothing will change."]
    await world.admin.slash(world.channel, "discussion mode", mode="request")
    await world.alice.send(summit, "Not saved: request mode.")
    assert await saved_comments(world, post.id) == ["Nothing will change."]


async def test_threads_need_a_channel_and_the_permission_to_open_them(simcord_env, cog, world, feed_server):
    closed = world.guild.create_text_channel("closed", overwrites={world.guild.me: discord.PermissionOverwrite(create_public_threads=False)})
    await simcord_env.settle()
    refused = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=closed, thread=True)
    assert_user_error(simcord_env, refused, "give me Create Public Threads there")
    nowhere = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), thread=True)
    assert_user_error(simcord_env, nowhere, "Pick a `channel` too")


# --- forum channels ----------------------------------------------------------------------------


async def test_a_forum_gets_one_tagged_post_an_entry_and_each_is_the_posts_thread(simcord_env, cog, world, feed_server):
    forum = world.guild.create_forum_channel("news")
    tags = [{"id": str(9001), "name": "The Guardian", "moderated": False, "emoji_id": None, "emoji_name": None},
            {"id": str(9002), "name": "Other", "moderated": False, "emoji_id": None, "emoji_name": None}]
    simcord_env.backend.edit_channel(forum.id, {"available_tags": tags})
    await simcord_env.settle()
    added = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=forum)
    text = shown(added).content
    assert f"new posts become forum posts in <#{forum.id}>" in text and "Its forum posts are tagged “The Guardian”." in text

    await grow(simcord_env, cog, feed_server, "Summit opens", "Talks end", pictures={"Talks end": "https://i.example.org/t.png"})
    handles = {t.name: t for t in forum.threads}
    assert set(handles) == {"Summit opens", "Talks end"}
    talks = handles["Talks end"]
    assert [tag.name for tag in simcord_env.bot.get_channel(talks.id).applied_tags] == ["The Guardian"]  # as members see it
    [starter] = talks.history(viewer=world.bob)
    assert starter.embeds[0].title == "Talks end" and starter.embeds[0].image.url == "https://i.example.org/t.png"
    assert not starter.components  # no "Discuss" button: the forum post is the discussion
    post = post_of(world, talks.id)
    assert post is not None and post.title == "Talks end"  # registered as the post's discussion thread

    await world.alice.send(talks, "A forum reply.")
    assert await saved_comments(world, post.id) == ["A forum reply."]
    linked = await world.bob.slash(world.channel, "discuss", post=str(post.id))
    assert f"<#{talks.id}>" in linked.response.content


async def test_an_untagged_forum_is_told_which_tag_would_tag_its_posts(simcord_env, cog, world, feed_server):
    forum = world.guild.create_forum_channel("news")
    await simcord_env.settle()
    added = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=forum)
    assert f"Add a tag named “The Guardian” to <#{forum.id}>" in shown(added).content
    await grow(simcord_env, cog, feed_server, "Summit opens")
    [post] = forum.threads
    assert simcord_env.bot.get_channel(post.id).applied_tags == []


# --- feed discovery -----------------------------------------------------------------------------


async def test_a_web_page_leads_to_the_feed_it_names(simcord_env, cog, world, feed_server):
    added = await world.admin.slash(world.channel, "feed add", url=feed_server.url("/news/"), channel=world.channel)
    text = shown(added).content
    page, feed, other = feed_server.url("/news/"), feed_server.url(FEED), feed_server.url("/news/comments.atom")
    assert f"<{page}> is a web page; it names the RSS feed “Our news (RSS)” <{feed}>: I watch that one." in text
    assert f"It names 1 other feed too (<{other}>)" in text
    assert f"Now watching <{feed}> (#1)" in text and "First check: ok: 54 new" in text
    assert feed_server.hits == {"/news/": 1, FEED: 1}
    listed = await world.admin.slash(world.channel, "feed list")
    assert feed in listed.response.embeds[0].description and page not in listed.response.embeds[0].description


async def test_a_feed_address_is_fetched_once_when_added(simcord_env, cog, world, feed_server):
    await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=world.channel)
    assert feed_server.hits == {FEED: 1}  # discovery's fetch is the first poll's


async def test_a_page_without_a_feed_is_refused_and_a_named_private_feed_is_checked(simcord_env, cog, world, feed_server):
    page = await world.admin.slash(world.channel, "feed add", url=feed_server.url("/page.html"))
    assert_user_error(simcord_env, page, "the page names no RSS or Atom feed")
    assert (await world.admin.slash(world.channel, "feed list")).response.content.startswith("This server watches no feeds")

    private = await world.admin.slash(world.channel, "feed add", url=feed_server.url("/private/"))
    text = shown(private).content
    assert "Now watching <http://10.0.0.1/feed.xml>" in text
    assert "The first check failed: 10.0.0.1 is a private network address" in text  # checked like any address given


def test_feed_links_of_a_page():
    html = """<html><head><base href="https://b.example/blog/">
    <link rel="Alternate" type="application/RSS+XML; charset=utf-8" href="feed.rss" title=" Main  feed ">
    <link rel="alternate" type="application/atom+xml" href="https://c.example/atom.xml">
    <link rel="alternate" type="application/rss+xml" href="feed.rss">
    <link rel="alternate" type="text/html" href="/other">
    <link rel="alternate stylesheet" type="application/rss+xml" href="javascript:alert(1)">
    </head></html>"""
    assert feed_links(html, "https://a.example/") == [
        FeedLink(url="https://b.example/blog/feed.rss", kind="RSS", title="Main feed"),
        FeedLink(url="https://c.example/atom.xml", kind="Atom"),
    ]
    assert feed_links(b"<html><body>no feeds</body></html>", "https://a.example/") == []
