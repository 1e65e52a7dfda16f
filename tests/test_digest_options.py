"""What a digest shows (issue #13): "most discussed" by the comments that arrived, linked titles,
a default cap on cards, `/digest setup ... max_posts style role`, the /discuss mention, who may preview.

simcord's clock starts at 2026-01-01 00:00 UTC; 08:00 in Europe/Berlin is 07:00 UTC in winter.
"""

from __future__ import annotations

import datetime as dt

import discord
import pytest
import simcord

from bot.models import DigestStyle
from bot.render import EMBED_TOTAL_LIMIT, EMBEDS_PER_MESSAGE
from bot.render.digest import DigestLayout, digest_messages
from bot.services import digest as service
from bot.services.comments import register_thread
from bot.services.views import DigestView, PostCard, ThreadRef
from bot.store.discussion import DiscordComment, add_comment

from .helpers import add_post, assert_user_error, shown

pytestmark = pytest.mark.simcord(settle_timeout=20)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)  # simcord's epoch
GUILD = 4242


def say(db, post_id: int, *, at: dt.datetime, author: str = "Ann", written: dt.datetime | None = None, message_id: int) -> None:
    """A comment written in Discord (server GUILD) at `written` (default `at`), stored at `at`."""
    comment = DiscordComment(author=author, text="hm", posted_at=written or at, guild_id=GUILD, user_id=1, message_id=message_id, post_id=post_id)
    with db.session() as session:
        add_comment(session, comment=comment, now=at)


# ----------------------------------------------------------------- "most discussed"


def test_most_discussed_counts_comments_that_arrived_in_the_window(db):
    since, now = T0, T0 + dt.timedelta(hours=7)
    in_window = T0 + dt.timedelta(hours=3)
    # Loaded in the window with three comments from its file, written by its readers in 2024: none is new.
    fresh = add_post(db, "Fresh file, old comments", date=dt.date(2024, 6, 23), comments=3, now=in_window)
    talked = add_post(db, "Talked about", date=dt.date(2025, 12, 1), now=T0 - dt.timedelta(days=30))
    add_post(db, "Once", date=dt.date(2025, 12, 2), now=T0 - dt.timedelta(days=30))
    say(db, talked, at=in_window, message_id=1)
    say(db, talked, at=in_window + dt.timedelta(minutes=5), author="Bob", message_id=2)
    # An export loaded back restores a Discord comment written long ago: it arrived before the window.
    say(db, fresh, at=in_window, written=dt.datetime(2024, 7, 1, tzinfo=UTC), message_id=3)
    register_thread(db, thread=ThreadRef(post_id=talked, guild_id=GUILD, channel_id=7, thread_id=777), now=since)
    with db.session() as session:
        view = service.build_digest(session, since=since, until=now, local_date=now.date(), timezone="Europe/Berlin", scope=GUILD)
    assert [p.title for p in view.posts] == ["Fresh file, old comments"]
    assert (view.most_discussed.title, view.most_discussed_comments) == ("Talked about", 2)
    [[heading, *_]] = digest_messages(view)
    assert f"Most discussed: **[Talked about](<https://discord.com/channels/{GUILD}/777>)** (2 new comments)" in heading.description


def test_a_quiet_window_has_no_most_discussed(db):
    add_post(db, "Fresh file, old comments", date=dt.date(2024, 6, 23), comments=3, now=T0 + dt.timedelta(hours=1))
    with db.session() as session:
        view = service.build_digest(session, since=T0, until=T0 + dt.timedelta(hours=7), local_date=T0.date(), timezone="UTC", scope=GUILD)
    assert view.most_discussed is None
    [[heading, _card]] = digest_messages(view)
    assert "Most discussed" not in heading.description


# ----------------------------------------------------------------- a busy day


def busy_day(n: int) -> DigestView:
    cards = tuple(
        PostCard(
            id=i, title=f"Post {i} about the summit", date=dt.date(2026, 1, 1), source="Wire", headline=None,
            link=f"https://example.org/{i}", summary="The summit opened with a long speech. " * 8, articles=(), comment_count=i % 3,
        )
        for i in range(n)
    )
    return DigestView(local_date=dt.date(2026, 1, 1), timezone="UTC", since=T0, until=T0 + dt.timedelta(hours=8), posts=cards)


def test_a_56_post_day_is_short_by_default_and_its_lines_are_linked():
    messages = digest_messages(busy_day(56), DigestLayout(discuss="</discuss:99>"))
    embeds = [e for m in messages for e in m]
    assert len(messages) <= 2 and len(embeds) <= 8, [len(m) for m in messages]
    assert sum(len(e) for e in embeds) < 9000
    cards = [e for e in embeds if e.fields]
    assert len(cards) == 5  # the default cap on cards
    assert {f.value for c in cards for f in c.fields if f.name == "Discussion"} == {"No thread yet: start one with </discuss:99>."}
    listed = "\n".join(e.description for e in embeds if e.title.startswith("More new posts"))
    assert "• **[Post 5 about the summit](<https://example.org/5>)** — 2026-01-01 · Wire · 💬 2" in listed
    assert listed.count("\n• ") + 1 == 51 and "more new post" not in listed
    for message in messages:
        assert len(message) <= EMBEDS_PER_MESSAGE and sum(len(e) for e in message) <= EMBED_TOTAL_LIMIT


def test_compact_and_max_posts():
    compact = digest_messages(busy_day(56), DigestLayout(style=DigestStyle.COMPACT, discuss="</discuss:99>"))
    [[heading, *lists]] = compact
    assert not any(e.fields for e in lists)
    lines = "\n".join(e.description for e in lists).splitlines()
    assert len(lines) == 31 and lines[-1] == "…and 26 more new posts: `/post list` shows them all."
    assert all(line.startswith("• **[Post ") for line in lines[:-1])
    assert "Talk about a post with </discuss:99>." in heading.description
    three = digest_messages(busy_day(56), DigestLayout(style=DigestStyle.COMPACT, max_posts=3))
    assert three[0][1].description.splitlines()[-1] == "…and 53 more new posts: `/post list` shows them all."
    cards = digest_messages(busy_day(56), DigestLayout(max_posts=12))
    assert sum(bool(e.fields) for m in cards for e in m) == 12


# ----------------------------------------------------------------- /digest setup under simcord


async def test_setup_with_style_max_posts_and_a_role_pings_that_role_only(world, simcord_env):
    news = world.guild.create_role("news", mentionable=True)
    for i in range(5):
        world.add_post(f"Story {i}", date=simcord_env.now().date(), link=f"https://example.org/{i}")
    r = await world.admin.slash(
        world.channel, "digest setup", channel=world.channel, time="08:00", timezone="Europe/Berlin", style="compact", max_posts=3, role=news
    )
    reply = shown(r).content
    assert r.ephemeral
    assert f"compact: one line a post, up to 3 · mentions <@&{news.id}>" in reply
    await simcord_env.advance_time(7 * 3600 + 61)
    sent = [q for q in simcord_env.http_requests if q.method == "POST" and q.path == f"/channels/{world.channel.id}/messages"]
    [message] = [m for m in world.channel.history() if m.embeds]
    assert message.content == f"<@&{news.id}>"
    assert sent[0].json["allowed_mentions"] == {"parse": [], "roles": [news.id]}
    heading, listing = message.embeds
    assert f"</discuss:{world.bot.command_ids['discuss']}>" in heading.description
    assert listing.description.splitlines() == [
        "• **[Story 4](<https://example.org/4>)** — 2026-01-01 · RT · 💬 0",
        "• **[Story 3](<https://example.org/3>)** — 2026-01-01 · RT · 💬 0",
        "• **[Story 2](<https://example.org/2>)** — 2026-01-01 · RT · 💬 0",
        "…and 2 more new posts: `/post list` shows them all.",
    ]
    status = shown(await world.admin.slash(world.channel, "digest status")).content
    assert f"daily at 08:00 Europe/Berlin · compact: one line a post, up to 3 · mentions <@&{news.id}>" in status


async def test_without_a_role_nothing_is_pinged_and_cards_are_capped(world, simcord_env):
    for i in range(8):
        world.add_post(f"Story {i}", date=simcord_env.now().date())
    await world.admin.slash(world.channel, "digest setup", channel=world.channel, time="08:00", timezone="Europe/Berlin")
    await simcord_env.advance_time(7 * 3600 + 61)
    [message] = [m for m in world.channel.history() if m.embeds]
    assert message.content == ""
    assert [e.title for e in message.embeds][1:] == ["Story 7", "Story 6", "Story 5", "Story 4", "Story 3", "More new posts"]
    sent = [q for q in simcord_env.http_requests if q.method == "POST" and q.path == f"/channels/{world.channel.id}/messages"]
    assert sent[0].json["allowed_mentions"] == {"parse": []}


async def test_setup_refuses_everyone_as_the_role(world, simcord_env):
    everyone = world.guild.default_role
    r = await world.admin.slash(world.channel, "digest setup", channel=world.channel, time="08:00", timezone="UTC", role=everyone)
    assert_user_error(simcord_env, r, "cannot ping @everyone")


async def test_preview_needs_manage_server_like_every_digest_command(world, simcord_env):
    """One rule: /digest is an admin group, preview included (README's table says so too)."""
    world.add_post("Preview me", date=simcord_env.now().date())
    with pytest.raises(Exception, match="default-member-permissions"):
        await world.bob.slash(world.channel, "digest preview")
    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == "digest"]
    world.guild.set_command_permissions(command, {world.bob: True})
    r = await world.bob.slash(world.channel, "digest preview")
    assert r.ephemeral and "Manage Server" in shown(r).content
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)
    r = await world.admin.slash(world.channel, "digest preview")
    assert r.ephemeral and shown(r).embeds[1].title == "Preview me"
