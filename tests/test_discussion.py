"""Discussion threads: /discuss, collecting thread messages, /comment, the menu, /comments, export.

simcord tests drive the real bot; the service tests run on the `db` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt

import discord
import pytest
from simcord.enums import MessageType
from sqlalchemy import delete, func, select

from bot import Settings, create_bot
from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.posts import parse_post
from bot.models import CollectMode, Comment, CommentOrigin, Post, PostThread
from bot.render import post_label
from bot.render.posts import SUMMARY_LIMIT, comment_pages, post_card_embed
from bot.services import comments as svc
from bot.services.export import export_posts
from bot.services.loading import load
from bot.services.posts import resolve_post, show_post
from bot.services.views import PostRef, StoredComment, ThreadRef
from bot.store import discussion
from bot.store.posts import find_posts, get_post, iter_posts

from .helpers import SAMPLE, World, add_post, assert_user_error

NOW = dt.datetime(2024, 6, 24, 12, 0, tzinfo=dt.timezone.utc)


def stored(db: Database, post_id: int) -> list[tuple[str, str, str]]:
    with db.session() as session:
        return [(c.origin, c.author, c.text) for c in get_post(session, scope=None, post_id=post_id).comments]


def discord_texts(db: Database, post_id: int) -> list[str]:
    return [text for origin, _author, text in stored(db, post_id) if origin == CommentOrigin.DISCORD]


# --- simcord: the bot in a server ----------------------------------------------------------------


@pytest.fixture
def settings(request, sqlite_url):
    """`@pytest.mark.parametrize("settings", [False], indirect=True)` turns the message content intent off."""
    return Settings(database_url=sqlite_url, message_content_intent=getattr(request, "param", True))


@pytest.fixture
def world(simcord_env) -> World:
    """The shared world, with two posts: `post` (with one comment of its own) and the newer `other`."""
    w = World(simcord_env)
    w.post = w.add_post("What Putin’s meeting with Kim really means", comments=(("Anonymous", "First!"),))
    w.other = w.add_post("NATO summit in Washington", date=dt.date(2024, 6, 24))
    return w


async def open_thread(w, post_id: int | None = None):
    result = await w.alice.slash(w.channel, "discuss", post=str(post_id or w.post))
    [thread] = [t for t in w.channel.threads if t.id == result.response.id]
    return result, thread


async def settle(w) -> None:
    await w.bot.get_cog("Discussion").writer.flush()


async def test_discuss_opens_a_thread_with_the_summary_card(world):
    w = world
    result, thread = await open_thread(w)
    card = result.response.embeds[0]
    assert not result.ephemeral
    assert card.title == "What Putin’s meeting with Kim really means"
    fields = {f.name: f.value for f in card.fields}
    assert fields.keys() >= {"Date", "Source", "Comments"} and "Discussion" not in fields  # the one post card
    assert fields["Date"] == "2024-06-23" and fields["Comments"] == "1, newest by Anonymous"
    assert "saved as comments" in card.footer.text
    assert thread.name == "What Putin’s meeting with Kim really means"
    with w.db.session() as session:
        [row] = session.execute(select(PostThread)).scalars().all()
        assert (row.post_id, row.thread_id, row.guild_id) == (w.post, thread.id, w.guild.id)

    again = await w.bob.slash(w.channel, "discuss", post=str(w.post))
    assert again.ephemeral and f"<#{thread.id}>" in again.response.content
    assert "discord.com/channels" not in again.response.content  # a mention, not a URL
    assert len(w.channel.threads) == 1
    assert show_post(w.db, post_id=w.post, scope=w.guild.id).thread.thread_id == thread.id
    assert show_post(w.db, post_id=w.other, scope=w.guild.id).thread is None


async def test_a_deleted_thread_is_replaced_on_the_next_discuss(world):
    w = world
    _, thread = await open_thread(w)
    await w.env.bot.get_channel(thread.id).delete()
    await w.env.settle()
    assert svc.post_thread(w.db, post_id=w.post, guild_id=w.guild.id) is None
    result, replacement = await open_thread(w)
    assert not result.ephemeral and replacement.id != thread.id


async def test_thread_name_fits_and_card_says_request_mode(world):
    w = world
    long_post = w.add_post("A very long title " * 12, date=dt.date(2024, 6, 25))
    await w.admin.slash(w.channel, "discussion mode", mode="request")
    result, thread = await open_thread(w, long_post)
    assert len(thread.name) <= 100 and thread.name.endswith("…")
    assert "only on request" in result.response.embeds[0].footer.text


async def test_members_post_edit_and_delete_in_the_thread(world):
    w = world
    _, thread = await open_thread(w)
    first = await w.alice.send(thread, "I think   the summit\n\n\n\nchanged nothing.  ")
    await w.bob.send(thread, "Article 5 is the point.", attachments=[("map.png", b"\x89PNG")])
    await settle(w)
    [(author_a, text_a), (author_b, text_b)] = [(a, t) for o, a, t in stored(w.db, w.post) if o == CommentOrigin.DISCORD]
    assert (author_a, text_a) == ("Alice A.", "I think   the summit\n\nchanged nothing.")
    assert author_b == w.bob.name and text_b.startswith("Article 5 is the point.\n\nhttp") and "map.png" in text_b
    assert stored(w.db, w.post)[0] == ("post", "Anonymous", "First!")

    await w.alice.edit(first, "On reflection, it changed a lot.")
    await settle(w)
    assert discord_texts(w.db, w.post)[0] == "On reflection, it changed a lot."

    await w.alice.delete(first)
    await settle(w)
    assert discord_texts(w.db, w.post) == [text_b]


async def test_edits_and_deletes_of_uncached_messages(world):
    w = world
    _, thread = await open_thread(w)
    message = await w.alice.send(thread, "original")
    await settle(w)
    w.env.bot._connection._messages.clear()  # the cache forgot it: raw events still work
    await w.alice.edit(message, "edited")
    await settle(w)
    assert discord_texts(w.db, w.post) == ["edited"]
    await w.alice.delete(message)
    await settle(w)
    assert discord_texts(w.db, w.post) == []


async def test_bots_system_messages_and_other_threads_are_ignored(world):
    w = world
    _, thread = await open_thread(w)
    robot = w.guild.add_member(w.env.create_user("robot", bot=True))
    beep = await robot.send(thread, "beep")
    w.guild.create_system_message(thread, MessageType.PINS_ADD, author=w.alice, referenced_message=beep)
    # A thread that is not a post's thread (the bot opens it, as a user cannot).
    plain = await w.env.bot.get_channel(w.channel.id).create_thread(
        name="off-topic", type=discord.ChannelType.public_thread
    )
    [off_topic] = [t for t in w.channel.threads if t.id == plain.id]
    await w.alice.send(off_topic, "not about any post")
    await w.alice.send(w.channel, "not in a thread")
    await settle(w)
    assert discord_texts(w.db, w.post) == []
    with w.db.session() as session:
        assert session.execute(select(func.count()).select_from(Comment).where(Comment.origin == CommentOrigin.DISCORD)).scalar_one() == 0


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_intent_off_collects_nothing_but_commands_work(world):
    w = world
    result, thread = await open_thread(w)
    assert "only on request" in result.response.embeds[0].footer.text
    message = await w.alice.send(thread, "a thought")
    await settle(w)
    assert discord_texts(w.db, w.post) == []
    menu = await w.bob.context_menu(thread, "Save as comment", message)
    assert menu.ephemeral and "Saved as comment" in menu.response.content
    added = await w.bob.slash(w.channel, "comment add", post=str(w.post), text="from the command")
    assert "Saved as comment" in added.response.content
    assert [(a, t) for o, a, t in stored(w.db, w.post) if o == CommentOrigin.DISCORD] == [
        ("Alice A.", "a thought"),
        (w.bob.name, "from the command"),
    ]


async def test_request_mode_collects_only_on_request(world):
    w = world
    await w.admin.slash(w.channel, "discussion mode", mode="request")
    _, thread = await open_thread(w)
    message = await w.alice.send(thread, "keep this one")
    await w.alice.send(thread, "but not this one")
    await settle(w)
    assert discord_texts(w.db, w.post) == []
    await w.bob.context_menu(thread, "Save as comment", message)
    assert discord_texts(w.db, w.post) == ["keep this one"]
    await w.alice.edit(message, "keep this one, edited")  # edits still follow a saved message
    await settle(w)
    assert discord_texts(w.db, w.post) == ["keep this one, edited"]


async def test_discussion_mode_needs_manage_server(world):
    from simcord import SetupError

    with pytest.raises(SetupError):
        await world.alice.slash(world.channel, "discussion mode", mode="request")


async def test_comment_add_and_its_errors(world):
    w = world
    result = await w.alice.slash(w.channel, "comment add", post=str(w.other), text="Well said.")
    assert result.ephemeral and "Saved as comment" in result.response.content
    assert stored(w.db, w.other) == [(CommentOrigin.DISCORD, "Alice A.", "Well said.")]

    too_long = await w.alice.slash(w.channel, "comment add", post=str(w.other), text="x" * 4001)
    assert_user_error(w.env, too_long, "at most 4000")
    blank = await w.alice.slash(w.channel, "comment add", post=str(w.other), text="   ")
    assert_user_error(w.env, blank, "empty")
    unknown = await w.alice.slash(w.channel, "comment add", post="no such title", text="hi")
    assert_user_error(w.env, unknown, "No post matches")
    by_title = await w.alice.slash(w.channel, "comment add", post="nato summit", text="By title.")
    assert "NATO summit" in by_title.response.content


async def test_comment_on_a_post_that_was_deleted(world):
    w = world
    doomed = w.add_post("Soon gone", date=dt.date(2024, 6, 26))
    await w.alice.slash(w.channel, "comment add", post=str(doomed), text="first")  # resolves the id
    with w.db.session() as session:
        session.execute(delete(Post).where(Post.id == doomed))
    result = await w.alice.slash(w.channel, "comment add", post=str(doomed), text="second")
    assert_user_error(w.env, result, f"Post #{doomed} no longer exists")
    with pytest.raises(UserFacingError, match="no longer exists"):
        svc.save_comment(w.db, comment=svc.DiscordComment(author="a", text="t", posted_at=NOW, post_id=doomed), now=NOW)


async def test_autocomplete_offers_titles_newest_first_with_dates(world):
    w = world
    choices = await w.alice.autocomplete(w.channel, "comments", "post", "")
    assert [c["name"] for c in choices] == [
        "NATO summit in Washington (2024-06-24)",
        "What Putin’s meeting with Kim really means (2024-06-23)",
    ]
    assert [c["value"] for c in choices] == [str(w.other), str(w.post)]
    assert [c["name"] for c in await w.alice.autocomplete(w.channel, "discuss", "post", "putin")] == [
        "What Putin’s meeting with Kim really means (2024-06-23)"
    ]


async def test_menu_in_a_post_thread_after_collecting_is_one_comment(world):
    w = world
    _, thread = await open_thread(w)
    message = await w.alice.send(thread, "Said once.")
    menu = await w.bob.context_menu(thread, "Save as comment", message)  # may race the writer
    await settle(w)
    again = await w.bob.context_menu(thread, "Save as comment", message)
    assert menu.ephemeral and again.ephemeral
    assert "already comment" in again.response.content
    assert discord_texts(w.db, w.post) == ["Said once."]


async def test_menu_outside_a_post_thread_asks_which_post(world):
    w = world
    message = await w.alice.send(w.channel, "Worth keeping. https://example.com/x")
    asked = await w.bob.context_menu(w.channel, "Save as comment", message)
    assert asked.ephemeral and "Which post" in asked.response.content
    picked = await w.bob.select(asked.response, [str(w.other)])
    assert "Saved as comment" in picked.response.content
    assert stored(w.db, w.other) == [(CommentOrigin.DISCORD, "Alice A.", "Worth keeping. https://example.com/x")]
    # Saved already: the menu says so instead of asking again.
    again = await w.bob.context_menu(w.channel, "Save as comment", message)
    assert "already comment" in again.response.content and "NATO" in again.response.content
    # Deleting the message removes the comment.
    await w.alice.delete(message)
    await settle(w)
    assert stored(w.db, w.other) == []


async def test_menu_on_an_empty_message(world):
    w = world
    webhook = w.guild.create_webhook(w.channel)
    message = await webhook.send(embed=discord.Embed(title="only an embed"))
    result = await w.bob.context_menu(w.channel, "Save as comment", message)
    assert_user_error(w.env, result, "empty")


async def test_comments_lists_original_then_discord_paginated(world):
    w = world
    _, thread = await open_thread(w)
    for i in range(12):
        await w.alice.send(thread, f"message {i} <@{w.bob.id}>")
    result = await w.bob.slash(w.channel, "comments", post=str(w.post))
    page = result.response.embeds[0]
    assert page.description.startswith("**Anonymous**")
    assert "message 0" in page.description and "message 11" not in page.description
    assert page.footer.text == "1 original, 12 from Discord"
    nxt = await w.bob.click(result.response, label="Next")
    assert "message 11" in nxt.response.embeds[0].description
    [answer] = [r for r in w.env.http_requests if r.path.endswith("/callback") and r.json["type"] == 4]
    assert answer.json["data"]["allowed_mentions"] == {"parse": []}  # a stored mention never pings


async def test_forget_me_deletes_only_my_comments_in_this_server(world):
    w = world
    _, thread = await open_thread(w)
    await w.alice.send(thread, "mine 1")
    await w.alice.send(thread, "mine 2")
    await w.bob.send(thread, "bob's")
    # The same member's comment from another server stays.
    svc.save_comment(
        w.db,
        comment=svc.DiscordComment(author="Alice A.", text="elsewhere", posted_at=NOW, user_id=w.alice.id, guild_id=1, post_id=w.post),
        now=NOW,
    )
    asked = await w.alice.slash(w.channel, "comment forget-me")
    prompt = asked.response
    assert prompt.ephemeral and "your 2 comments" in prompt.content
    cancelled = await w.alice.click(prompt, label="Cancel")
    assert "Nothing was deleted" in cancelled.response.content
    assert len(discord_texts(w.db, w.post)) == 4

    asked = await w.alice.slash(w.channel, "comment forget-me")
    done = await w.alice.click(asked.response, label="Delete my comments")
    assert "Deleted 2" in done.response.content
    assert discord_texts(w.db, w.post) == ["elsewhere", "bob's"]  # "elsewhere" is older
    none_left = await w.alice.slash(w.channel, "comment forget-me")
    assert "no comments" in none_left.response.content


async def test_comment_remove_own_or_as_admin(world):
    w = world
    _, thread = await open_thread(w)
    await w.alice.send(thread, "alice's")
    await w.bob.send(thread, "bob's")
    await settle(w)
    with w.db.session() as session:
        alice_id, bob_id = session.execute(
            select(Comment.id).where(Comment.origin == CommentOrigin.DISCORD).order_by(Comment.id)
        ).scalars()
    refused = await w.bob.slash(w.channel, "comment remove", comment=alice_id)
    assert_user_error(w.env, refused, f"no comment #{alice_id} of yours")
    own = await w.bob.slash(w.channel, "comment remove", comment=bob_id)
    assert "Removed comment" in own.response.content
    admin = await w.admin.slash(w.channel, "comment remove", comment=alice_id)
    assert "Removed comment" in admin.response.content
    assert discord_texts(w.db, w.post) == []


async def test_a_burst_of_messages_loses_none(world):
    w = world
    _, thread = await open_thread(w)
    for i in range(200):
        await w.alice.send(thread, f"burst {i}")
    await settle(w)
    assert discord_texts(w.db, w.post) == [f"burst {i}" for i in range(200)]


async def test_export_after_collecting_round_trips(world, tmp_path):
    w = world
    _, thread = await open_thread(w)
    await w.alice.send(thread, "First from Discord.\n\nSecond paragraph.")
    await w.bob.send(thread, "3 comments:")  # a line the file layout must escape
    await w.alice.slash(w.channel, "comment add", post=str(w.post), text="Via the command.")
    await settle(w)
    out = tmp_path / "export"
    export_posts(w.db, out_dir=out)
    text = next(out.glob("*putin*")).read_text(encoding="utf-8")
    bob = w.bob.name
    assert "Alice A. said..." in text and f"{bob} said..." in text
    assert text.index("Anonymous said...") < text.index("Alice A. said...") < text.index(f"{bob} said...")

    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.upgrade()
    assert load(fresh, sources=[str(out)], now=NOW).summary() == "2 loaded, 0 updated, 0 unchanged, 0 failed"

    def comments_of(db):
        with db.session() as session:
            return {p.title: [(c.author, c.text, c.posted_at) for c in p.comments] for p in iter_posts(session)}

    original, reloaded = comments_of(w.db), comments_of(fresh)
    assert reloaded == original
    putin = reloaded["What Putin’s meeting with Kim really means"]
    assert [a for a, _, _ in putin] == ["Anonymous", "Alice A.", bob, "Alice A."]
    assert all(when is not None for _, _, when in putin[1:])
    fresh.dispose()


async def test_cog_unload_flushes_the_queue(world):
    w = world
    _, thread = await open_thread(w)
    cog = w.env.bot.get_cog("Discussion")
    cog.writer.put(
        svc.DiscordComment(author="late", text="queued", posted_at=NOW, channel_id=thread.id, message_id=1, guild_id=w.guild.id)
    )
    await w.env.bot.remove_cog("Discussion")
    assert discord_texts(w.db, w.post) == ["queued"]
    assert w.env.bot.tree.get_command("Save as comment", type=discord.AppCommandType.message) is None


def test_comment_pages_stay_within_discord_limits():
    listed = [
        StoredComment(id=i, post_id=1, position=0, author=f"a{i}", text=("word " * 800).strip(), posted_at=NOW, origin=CommentOrigin.DISCORD)
        for i in range(3)
    ]
    pages = comment_pages("T" * 300, listed)
    assert len(pages) >= 3
    for [embed] in pages:
        assert len(embed.title) <= 256 and len(embed.description) <= 4096 and len(embed) <= 6000
    shown = " ".join(embed.description for [embed] in pages)
    assert shown.count("word") == 2400


# --- services on SQLite and PostgreSQL ---------------------------------------------------------


def test_compose_text_keeps_attachments_as_links_and_normalises():
    assert svc.compose_text("  a  \n b\n\n\n\nc ", ["https://cdn/x.png"]) == "a\nb\n\nc\n\nhttps://cdn/x.png"
    assert svc.compose_text("", ["https://cdn/x.png"]) == "https://cdn/x.png"
    assert svc.compose_text(" \n ") == ""
    with pytest.raises(UserFacingError, match="empty"):
        svc.check_text("")
    with pytest.raises(UserFacingError, match="4001 characters"):
        svc.check_text("x" * 4001)
    assert svc.check_text("x" * 4000)


def test_save_is_idempotent_by_message_id(db):
    post = add_post(db, "A post")
    comment = svc.DiscordComment(author="A", text="hello", posted_at=NOW, user_id=5, guild_id=7, channel_id=9, message_id=42, post_id=post)
    first = svc.save_comment(db, comment=comment, now=NOW)
    second = svc.save_comment(db, comment=comment, now=NOW)
    assert first.created and not second.created and first.comment.id == second.comment.id
    svc.apply_changes(db, changes=[svc.DiscordComment(author="A", text="hello", posted_at=NOW, channel_id=9, message_id=42, post_id=post)], now=NOW)
    assert discord_texts(db, post) == ["hello"]
    assert svc.comment_target(db, thread_id=None, message_id=42).id == post
    assert svc.comment_target(db, thread_id=None, message_id=43) is None


def test_apply_changes_resolves_threads_respects_mode_and_order(db):
    post = add_post(db, "A post")
    ref = svc.register_thread(db, thread=ThreadRef(post_id=post, guild_id=7, channel_id=8, thread_id=100), now=NOW)
    assert ref == svc.register_thread(db, thread=ThreadRef(post_id=post, guild_id=7, channel_id=8, thread_id=101), now=NOW)  # first wins
    assert svc.comment_target(db, thread_id=100, message_id=1000).id == post
    assert svc.comment_target(db, thread_id=101, message_id=1000) is None

    def msg(mid, text, thread=100):
        return svc.DiscordComment(author="m", text=text, posted_at=NOW + dt.timedelta(seconds=mid), guild_id=7, channel_id=thread, message_id=mid)

    svc.apply_changes(
        db,
        changes=[
            msg(1, "one"),
            msg(2, "two"),
            svc.CommentEdit(message_id=1, text="one, edited"),
            svc.CommentEdit(message_id=2, text=""),  # an edit that empties a message leaves the comment
            msg(3, "elsewhere", thread=555),
            msg(4, "x" * 4001),
            msg(5, "gone soon"),
            svc.CommentDeletion(message_ids=(5, 999)),
        ],
        now=NOW,
    )
    assert discord_texts(db, post) == ["one, edited", "two"]

    assert svc.discussion_card(db, post_id=post, guild_id=7)[1] == CollectMode.AUTO
    assert svc.set_collect_mode(db, guild_id=7, mode="request") == CollectMode.REQUEST
    assert svc.discussion_card(db, post_id=post, guild_id=7)[1] == CollectMode.REQUEST
    svc.apply_changes(db, changes=[msg(6, "not collected")], now=NOW)
    assert discord_texts(db, post) == ["one, edited", "two"]
    with pytest.raises(UserFacingError):
        svc.set_collect_mode(db, guild_id=7, mode="sometimes")

    assert svc.forget_thread(db, thread_id=100) and svc.post_thread(db, post_id=post, guild_id=7) is None


def test_forget_member_and_remove_comment(db):
    post = add_post(db, "A post", comments=(("Anon", "original"),))

    def save(user, guild, text):
        comment = svc.DiscordComment(author=str(user), text=text, posted_at=NOW, user_id=user, guild_id=guild, post_id=post)
        return svc.save_comment(db, comment=comment, now=NOW).comment

    save(1, 10, "a")
    save(1, 10, "b")
    other_guild = save(1, 11, "c")
    bobs = save(2, 10, "d")
    assert svc.count_member_comments(db, guild_id=10, user_id=1) == 2
    assert svc.forget_member(db, guild_id=10, user_id=1) == 2
    assert discord_texts(db, post) == ["c", "d"]
    with pytest.raises(UserFacingError):
        svc.remove_comment(db, comment_id=other_guild.id, guild_id=10)  # not this server's
    with pytest.raises(UserFacingError):
        svc.remove_comment(db, comment_id=bobs.id, guild_id=10, user_id=1)  # not mine
    with db.session() as session:
        original_id = session.execute(select(Comment.id).where(Comment.origin == CommentOrigin.POST)).scalar_one()
    with pytest.raises(UserFacingError):
        svc.remove_comment(db, comment_id=original_id, guild_id=10)  # the post's own comments stay
    assert svc.remove_comment(db, comment_id=bobs.id, guild_id=10).author == "2"
    assert stored(db, post) == [("post", "Anon", "original"), (CommentOrigin.DISCORD, "1", "c")]


def test_post_search_and_resolve(db):
    old = add_post(db, "Old news about 100% of_things", date=dt.date(2024, 6, 1))
    new = add_post(db, "New news", date=dt.date(2024, 6, 2))
    with db.session() as session:
        assert [p.id for p in find_posts(session, scope=None, title="")] == [new, old]
        assert [p.id for p in find_posts(session, scope=None, title="NEWS old")] == [old]
        assert [p.id for p in find_posts(session, scope=None, title="100%")] == [old]
        assert find_posts(session, scope=None, title="0%x") == []
        assert [p.id for p in find_posts(session, scope=None, title="", limit=1)] == [new]
    assert resolve_post(db, scope=None, value=str(old)).id == old
    assert resolve_post(db, scope=None, value="new news").id == new  # several contain "news": tests/test_post_option.py
    with pytest.raises(UserFacingError):
        resolve_post(db, scope=None, value="nothing like it")
    label = post_label(PostRef(id=1, date=dt.date(2024, 6, 23), title="word " * 40), 100)
    assert 90 <= len(label) <= 100 and label.endswith(" word… (2024-06-23)")  # cut between words, the date whole


def test_discussion_card_and_thread_links(db):
    load(db, sources=[str(SAMPLE)], now=NOW)
    with db.session() as session:
        [post] = list(iter_posts(session))
    card, mode = svc.discussion_card(db, post_id=post.id, guild_id=1)
    assert card.title == post.title and mode == CollectMode.AUTO and card.comment_count == len(post.comments)
    assert card.thread is None
    assert 0 < len(post_card_embed(card, discussion=False).description) <= SUMMARY_LIMIT
    ref = svc.register_thread(db, thread=ThreadRef(post_id=post.id, guild_id=1, channel_id=2, thread_id=3), now=NOW)
    assert svc.discussion_card(db, post_id=post.id, guild_id=1)[0].thread == ref
    assert svc.discussion_card(db, post_id=post.id, guild_id=2)[0].thread is None
    with db.session() as session:
        assert discussion.threads_of(session, guild_id=1, post_ids=[post.id, 999]) == {post.id: ref}
        assert discussion.threads_of(session, guild_id=2, post_ids=[post.id]) == {}
        assert discussion.threads_of(session, guild_id=1, post_ids=[]) == {}


async def test_writer_batches_a_burst(db):
    post = add_post(db, "A post")
    svc.register_thread(db, thread=ThreadRef(post_id=post, guild_id=7, channel_id=8, thread_id=100), now=NOW)
    writer = svc.CommentWriter(db, clock=lambda: NOW, batch_size=50)
    calls = []
    original = db.call

    async def counting_call(fn, /, *args, **kwargs):
        calls.append(len(kwargs.get("changes", ())))
        return await original(fn, *args, **kwargs)

    db.call = counting_call
    for i in range(500):
        writer.put(svc.DiscordComment(author="m", text=f"c{i}", posted_at=NOW, guild_id=7, channel_id=100, message_id=i + 1))
    await writer.close()
    assert len(discord_texts(db, post)) == 500
    assert max(calls) == 50 and len(calls) <= 11


def test_export_writes_discord_comments_with_time(db, tmp_path):
    post = add_post(db, "A post", comments=(("Anon", "original"),))
    svc.save_comment(db, comment=svc.DiscordComment(author="Zoë", text="From chat.", posted_at=NOW.replace(microsecond=123000), post_id=post), now=NOW)
    [path] = export_posts(db, out_dir=tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "Zoë said..." in text and "June 24, 2024 at 12:00:00.123000 PM" in text
    reparsed = parse_post(text)
    assert [(c.author, c.text, c.posted_at) for c in reparsed.comments] == [
        ("Anon", "original", None),
        ("Zoë", "From chat.", NOW.replace(microsecond=123000)),
    ]
