"""/search hits lead somewhere (issue #13): the post's thread in this server, else its own address,
with the post's number; a comment hit shows the comment's own time; "Nothing matches" is ephemeral."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.services.comments import register_thread
from bot.services.search import search
from bot.services.views import ThreadRef
from bot.store.discussion import DiscordComment, add_comment

from .helpers import NOW, World, add_post, shown

WRITTEN = dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.timezone.utc)


def comment(db, post_id: int, *, guild_id: int, text: str, message_id: int) -> None:
    with db.session() as session:
        add_comment(
            session, comment=DiscordComment(author="Zoe", text=text, posted_at=WRITTEN, guild_id=guild_id, user_id=5, message_id=message_id, post_id=post_id),
            now=WRITTEN,
        )


@pytest.fixture
def world(simcord_env):
    w = World(simcord_env)
    w.threaded = add_post(w.db, "Walrus summit opens", date=dt.date(2024, 6, 20), link="https://example.org/walrus")
    w.linked = add_post(w.db, "Walrus treaty signed", date=dt.date(2024, 6, 21), link="https://example.org/treaty")
    w.bare = add_post(w.db, "Walrus talk without a link", date=dt.date(2024, 6, 22), link=None)
    register_thread(w.db, thread=ThreadRef(post_id=w.threaded, guild_id=w.guild.id, channel_id=w.channel.id, thread_id=919191), now=NOW)
    register_thread(w.db, thread=ThreadRef(post_id=w.linked, guild_id=999, channel_id=1, thread_id=5151), now=NOW)  # another server's
    comment(w.db, w.bare, guild_id=w.guild.id, text="A narwhal would disagree.", message_id=77)
    return w


async def test_post_hits_link_the_thread_here_else_the_post_and_name_its_number(world):
    r = await world.alice.slash(world.channel, "search", query="walrus")
    assert not r.ephemeral
    text = shown(r).embeds[0].description
    assert f"📰 [**Walrus** summit opens](<https://discord.com/channels/{world.guild.id}/919191>) (2024-06-20) · #{world.threaded}" in text
    assert f"📰 [**Walrus** treaty signed](<https://example.org/treaty>) (2024-06-21) · #{world.linked}" in text  # not the other server's thread
    assert f"📰 **Walrus** talk without a link (2024-06-22) · #{world.bare}" in text


async def test_a_comment_hit_shows_when_the_comment_was_written(world):
    r = await world.alice.slash(world.channel, "search", query="narwhal")
    text = shown(r).embeds[0].description
    assert f"💬 comment by Zoe · <t:{int(WRITTEN.timestamp())}:f> on *Walrus talk without a link* · post #{world.bare}" in text
    assert "2024-06-22" not in text  # the post's date is not the comment's


async def test_nothing_matches_is_ephemeral(world):
    r = await world.alice.slash(world.channel, "search", query="xylophone")
    assert r.ephemeral and shown(r).content == "Nothing matches xylophone."


def test_the_service_and_the_cli_say_the_same(db, tmp_path, monkeypatch):
    post = add_post(db, "Walrus news", link="https://example.org/w")
    comment(db, post, guild_id=12, text="Narwhal facts.", message_id=1)
    [hit] = search(db, query="narwhal", scope=12)
    assert (hit.posted_at, hit.post_id, hit.link, hit.thread) == (WRITTEN, post, "https://example.org/w", None)
    if db.dialect != "sqlite":
        return
    monkeypatch.setenv("DATABASE_URL", str(db.engine.url))
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["search", "narwhal"]).output
    assert f"1. comment #{hit.id} by Zoe (2026-01-01) on post #{post}: Walrus news" in out
    out = CliRunner().invoke(app, ["search", "walrus"]).output
    assert f"1. post #{post}: Walrus news (2024-06-23) https://example.org/w" in out
