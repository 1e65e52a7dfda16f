"""/post show, /post list, /search and /load end to end in simcord's simulated Discord."""

from __future__ import annotations

import datetime as dt

import discord
import pytest
import simcord
from sqlalchemy import delete

from bot.models import Post
from bot.render import EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT
from bot.services.comments import register_thread
from bot.services.views import ThreadRef
from bot.store.posts import count_posts

from .helpers import NOW, SAMPLE, SAMPLE_TITLE, World, add_post, assert_user_error, fixture, shown


def add_posts(db, count: int) -> None:
    """Filler posts, one a day from 2023-01-01; every fifth has a comment about fisheries."""
    for n in range(count):
        add_post(
            db, f"Filler post {n:02d}", date=dt.date(2023, 1, 1) + dt.timedelta(days=n), source="Filler",
            body=f"Filler body {n} about fisheries policy.", comments=(("Ann", f"Fisheries comment {n}."),) if n % 5 == 0 else (),
        )


@pytest.fixture
async def world(simcord_env):
    w = World(simcord_env)
    report = await w.load(SAMPLE)
    assert report.summary().startswith("1 loaded")
    return w


def buttons(message) -> dict[str, bool]:
    """label -> disabled, for the message's buttons."""
    return {c["label"]: bool(c.get("disabled")) for row in message.components for c in row["components"]}


# --------------------------------------------------------------------------- /post show


async def test_post_show_autocompletes_newest_first_with_dates(world):
    add_posts(world.db, 3)
    choices = await world.alice.autocomplete(world.channel, "post show", "post", "")
    assert choices[0]["name"] == f"{SAMPLE_TITLE} (2024-06-23)"
    assert [c["name"] for c in choices[1:]] == [f"Filler post {n:02d} (2023-01-{n + 1:02d})" for n in (2, 1, 0)]
    choices = await world.alice.autocomplete(world.channel, "post show", "post", "putin")
    assert [c["name"] for c in choices] == [f"{SAMPLE_TITLE} (2024-06-23)"]
    assert choices[0]["value"].isdigit()


async def test_post_show(world):
    [choice] = await world.alice.autocomplete(world.channel, "post show", "post", "kim jong")
    r = await world.alice.slash(world.channel, "post show", post=choice["value"])
    assert not r.ephemeral
    [embed] = shown(r).embeds
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == SAMPLE_TITLE
    assert fields["Date"] == "2024-06-23"
    assert fields["Source"] == "RT"
    assert fields["Comments"] == "3, newest by Anonymous"
    assert "Article" in fields["Articles quoted"] and "4" in fields["Articles quoted"]
    assert "/discuss" in fields["Discussion"]
    assert embed.description and len(embed.description) <= 600


async def test_post_show_links_the_thread_of_this_server(world):
    [choice] = await world.alice.autocomplete(world.channel, "post show", "post", "putin")
    post_id = int(choice["value"])
    register_thread(world.db, thread=ThreadRef(post_id=post_id, guild_id=world.guild.id, channel_id=world.channel.id, thread_id=424242), now=NOW)
    register_thread(world.db, thread=ThreadRef(post_id=post_id, guild_id=999, channel_id=1, thread_id=5151), now=NOW)
    r = await world.alice.slash(world.channel, "post show", post=choice["value"])
    fields = {f.name: f.value for f in shown(r).embeds[0].fields}
    assert fields["Discussion"] == "<#424242>"


async def test_post_show_unknown_post(world):
    r = await world.alice.slash(world.channel, "post show", post="no such title at all")
    assert_user_error(world.env, r, "No post matches")


# --------------------------------------------------------------------------- /post list


async def test_post_list_pages_with_buttons(world):
    add_posts(world.db, 24)  # 25 posts: 3 pages
    r = await world.alice.slash(world.channel, "post list")
    message = r.response
    [embed] = message.embeds
    assert embed.description.startswith(f"**{discord.utils.escape_markdown(SAMPLE_TITLE)}**")
    assert embed.description.count("\n\n") == 9  # 10 posts
    assert buttons(message) == {"Previous": True, "1/3": True, "Next": False}

    # Someone else cannot turn the pages.
    refused = await world.bob.click(message, label="Next")
    assert refused.ephemeral and "belong to whoever ran the command" in refused.response.content
    assert "Filler post 14" not in message.message.embeds[0].description

    page = (await world.alice.click(message, label="Next")).response
    assert "Filler post 14" in page.embeds[0].description and "Filler post 15" not in page.embeds[0].description
    page = (await world.alice.click(page, label="Next")).response
    assert page.embeds[0].description.count("\n\n") == 4  # the last 5
    assert "Filler post 00" in page.embeds[0].description
    assert buttons(page) == {"Previous": False, "3/3": True, "Next": True}
    page = (await world.alice.click(page, label="Previous")).response
    assert buttons(page)["Next"] is False

    await world.env.advance_time(181)
    assert set(buttons(page).values()) == {True}


async def test_post_list_one_page_has_no_buttons(world):
    r = await world.alice.slash(world.channel, "post list")
    assert SAMPLE_TITLE.split("’")[0] in r.response.embeds[0].description
    assert r.response.components == []


async def test_post_list_when_empty(simcord_env):
    w = World(simcord_env)
    r = await w.alice.slash(w.channel, "post list")
    assert_user_error(simcord_env, r, "No posts are stored yet")


# --------------------------------------------------------------------------- /search


async def test_search_is_paginated_with_snippets(world):
    add_posts(world.db, 30)
    r = await world.alice.slash(world.channel, "search", query="fisheries")
    message = shown(r)
    [embed] = message.embeds
    assert embed.title == "Search: fisheries"
    assert "**fisheries**" in embed.description.lower() or "**Fisheries**" in embed.description
    assert len(embed.description) <= EMBED_DESCRIPTION_LIMIT and len(embed) <= EMBED_TOTAL_LIMIT
    labels = buttons(message)
    assert labels == {"Previous": True, "1/5": True, "Next": False}  # the best 25 of 36 hits, 5 a page
    refused = await world.bob.click(message, label="Next")
    assert refused.ephemeral
    texts = [embed.description]
    page = (await world.alice.click(message, label="Next")).response
    assert page.embeds[0].description.startswith("**6.**")
    while not buttons(page)["Next"]:
        texts.append(page.embeds[0].description)
        page = (await world.alice.click(page, label="Next")).response
    texts.append(page.embeds[0].description)
    assert len(texts) == 5
    everything = "\n".join(texts)
    assert "📰 Filler post" in everything and "💬 comment by Ann on *Filler post" in everything


async def test_a_search_page_shows_what_is_left_of_its_matches(world):
    """A page's snippets are made when it is first shown: matches deleted since are left out."""
    add_posts(world.db, 30)
    message = shown(await world.alice.slash(world.channel, "search", query="fisheries"))
    with world.db.session() as session:
        session.execute(delete(Post).where(Post.title.like("Filler post%")))  # their comments go by cascade
    page = (await world.alice.click(message, label="Next")).response
    assert buttons(page) == {"Previous": False, "2/5": True, "Next": False}
    assert page.embeds[0].description == "The matches on this page have been removed since the search."
    assert page.embeds[0].footer.text.startswith("25 best matches")


async def test_search_finds_comments_and_hostile_text_is_safe(world):
    r = await world.alice.slash(world.channel, "search", query="'; DROP TABLE post; -- Kim")
    message = shown(r)
    assert "Kim" in message.embeds[0].description
    assert count_posts_now(world) == 1
    r = await world.alice.slash(world.channel, "search", query="NEAR( \"unbalanced col:xyzzy")
    message = shown(r)
    assert message.content.startswith("Nothing matches") and r.ephemeral  # like every other not-found


async def test_search_without_words(world):
    r = await world.alice.slash(world.channel, "search", query='"*"')
    assert_user_error(world.env, r, "at least one word")


def count_posts_now(world) -> int:
    with world.db.session() as session:
        return count_posts(session)


# --------------------------------------------------------------------------- /load


async def test_load_a_post_file(world):
    data = SAMPLE.read_bytes().replace(b"really means", b"really means, again")
    r = await world.admin.slash(world.channel, "load", file=("again.txt", data))
    message = shown(r)
    assert r.ephemeral
    assert "is a **post file**: 1 loaded, 0 updated, 0 unchanged" in message.content
    assert count_posts_now(world) == 2
    r = await world.admin.slash(world.channel, "load", file=("again.txt", data))
    message = shown(r)
    assert "0 loaded, 0 updated, 1 unchanged" in message.content


async def test_load_a_feed_file(world):
    path = fixture("feeds", "rss2_guardian_us_2018.xml")
    r = await world.admin.slash(world.channel, "load", file=(path.name, path.read_bytes()))
    message = shown(r)
    assert "is a **feed**:" in message.content
    loaded = int(message.content.split(":")[1].split()[0])
    assert loaded > 0 and count_posts_now(world) == 1 + loaded


async def test_load_a_treaty_text(world):
    path = fixture("treaties", "treaty_north_atlantic_1949.txt")
    r = await world.admin.slash(world.channel, "load", file=(path.name, path.read_bytes()), name="North Atlantic Treaty")
    message = shown(r)
    assert "is a **treaty text**: North Atlantic Treaty loaded with 14 articles" in message.content
    r = await world.alice.slash(world.channel, "search", query="armed attack")
    message = shown(r)
    assert "📜 Article 5 of North Atlantic Treaty" in message.embeds[0].description


@pytest.mark.parametrize(
    "filename, data",
    [
        ("garbage.bin", bytes(range(256)) * 4),
        ("notes.txt", b"Just some notes\n\nwithout a date line or anything.\n"),
        ("broken.xml", b"<rss><channel><title>x</title>"),
    ],
)
async def test_load_rejects_garbage(world, filename, data):
    r = await world.admin.slash(world.channel, "load", file=(filename, data))
    message = shown(r)
    assert message.content.startswith("❌")
    assert filename in message.content
    assert count_posts_now(world) == 1


async def test_load_needs_manage_server(world):
    data = SAMPLE.read_bytes()
    with pytest.raises(Exception, match="default-member-permissions"):
        await world.bob.slash(world.channel, "load", file=("post.txt", data))
    # Even where a server lets everyone see the command, the check still refuses.
    [command] = [c for c in await world.env.bot.tree.fetch_commands() if c.name == "load"]
    world.guild.set_command_permissions(command, {world.bob: True})
    r = await world.bob.slash(world.channel, "load", file=("post.txt", data.replace(b"Kim", b"Kimm")))
    assert r.ephemeral and "Manage Server" in r.response.content
    simcord.assert_error(world.env, discord.app_commands.MissingPermissions)
    assert count_posts_now(world) == 1
