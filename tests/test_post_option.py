"""The `post` option (issue #13): in a post's thread /comments and /comment add mean that post; a
typed, unpicked title picks the post of exactly that title, and asks when several posts match."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserFacingError
from bot.models import CommentOrigin
from bot.services.posts import AmbiguousPost, resolve_post
from bot.store.posts import post_comments

from .helpers import World, add_post, assert_user_error, shown


@pytest.fixture
def world(simcord_env) -> World:
    w = World(simcord_env)
    w.post = w.add_post("Summit in Pyongyang", comments=(("Anonymous", "First!"),))
    w.other = w.add_post("NATO summit in Washington", date=dt.date(2024, 6, 24))
    return w


async def thread_of(w: World, post_id: int):
    result = await w.alice.slash(w.channel, "discuss", post=str(post_id))
    [thread] = [t for t in w.channel.threads if t.id == result.response.id]
    return thread


def discord_comments(w: World, post_id: int) -> list[str]:
    with w.db.session() as session:
        return [c.text for c in post_comments(session, post_id=post_id, scope=None) if c.origin == CommentOrigin.DISCORD]


async def test_in_a_thread_comment_add_and_comments_default_to_its_post(world):
    w = world
    thread = await thread_of(w, w.post)
    r = await w.bob.slash(thread, "comment add", text="Said in the thread.")
    assert r.ephemeral and "Saved as comment" in shown(r).content and "Summit in Pyongyang" in shown(r).content
    assert discord_comments(w, w.post) == ["Said in the thread."]
    r = await w.bob.slash(thread, "comments")
    [embed] = shown(r).embeds
    assert embed.title == "Comments on Summit in Pyongyang"
    assert "First!" in embed.description and "Said in the thread." in embed.description
    # Naming another post still works in the thread.
    r = await w.bob.slash(thread, "comment add", text="About the other one.", post=str(w.other))
    assert "NATO summit in Washington" in shown(r).content
    assert discord_comments(w, w.other) == ["About the other one."]


async def test_outside_a_post_thread_the_post_is_required_with_a_clear_message(world):
    w = world
    r = await w.bob.slash(w.channel, "comments")
    assert_user_error(w.env, r, "Pick a post with the `post` option")
    r = await w.bob.slash(w.channel, "comment add", text="Where does this go?")
    assert_user_error(w.env, r, "or run this in the post's discussion thread")
    assert discord_comments(w, w.post) == discord_comments(w, w.other) == []


async def test_a_typed_title_picks_the_exact_one_else_asks(world):
    w = world
    filler = {n: w.add_post(f"Filler {n}", date=dt.date(2023, 1, 1) + dt.timedelta(days=n)) for n in (0, 2, 20)}
    r = await w.alice.slash(w.channel, "comments", post="Filler 0")  # not "Filler 20", the newest containing it
    assert shown(r).content == "**Filler 0** has no comments yet."
    r = await w.alice.slash(w.channel, "comment add", post="filler 2", text="Exact, any case.")
    assert "**Filler 2**" in shown(r).content
    assert discord_comments(w, filler[2]) == ["Exact, any case."]
    r = await w.alice.slash(w.channel, "comments", post="filler")
    assert_user_error(w.env, r, "Several posts match “filler”")
    message = shown(r).content
    assert f"• Filler 20 (2023-01-21) · #{filler[20]}" in message and f"• Filler 0 (2023-01-01) · #{filler[0]}" in message
    r = await w.alice.slash(w.channel, "comments", post="in pyongyang")  # one post contains it: that one
    assert shown(r).embeds[0].title == "Comments on Summit in Pyongyang"


def test_resolve_post(db):
    old = add_post(db, "Old news about 100% of_things", date=dt.date(2024, 6, 1))
    new = add_post(db, "New news", date=dt.date(2024, 6, 2))
    assert resolve_post(db, scope=None, value=str(old)).id == old
    assert resolve_post(db, scope=None, value="new news").id == new
    assert resolve_post(db, scope=None, value="100%").id == old
    with pytest.raises(AmbiguousPost) as asked:
        resolve_post(db, scope=None, value="news")
    assert [p.id for p in asked.value.candidates] == [new, old]
    twice = add_post(db, "New news", date=dt.date(2024, 6, 3))
    with pytest.raises(AmbiguousPost) as asked:  # two posts titled exactly so: asked, not guessed
        resolve_post(db, scope=None, value="New news")
    assert [p.id for p in asked.value.candidates] == [twice, new]
    with pytest.raises(UserFacingError, match="No post matches"):
        resolve_post(db, scope=None, value="nothing like it")
