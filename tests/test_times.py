"""Moments as Discord timestamps (issue #13): the full date and time, and how long ago or how soon."""

from __future__ import annotations

from bot.services import feeds

from .helpers import World, shown


def moment(at) -> str:
    return f"<t:{int(at.timestamp())}:f> (<t:{int(at.timestamp())}:R>)"


async def test_feed_status_shows_moments_in_full_and_how_far(simcord_env):
    w = World(simcord_env)
    feed, _ = await w.db.call(
        feeds.add_feed, url="https://example.org/feed.xml", guild_id=w.guild.id, channel_id=w.channel.id, interval_minutes=60, now=simcord_env.now()
    )
    r = await w.admin.slash(w.channel, "feed status", feed=str(feed.id))
    fields = {f.name: f.value for f in shown(r).embeds[0].fields}
    assert fields["Last check"] == "never"
    [stored] = [f for f in await w.db.call(feeds.list_feeds) if f.id == feed.id]
    assert fields["Next check"] == moment(stored.next_poll_at)


async def test_comments_show_when_each_was_written(simcord_env):
    w = World(simcord_env)
    post = w.add_post("Summit ends")
    await w.alice.slash(w.channel, "comment add", post=str(post), text="Noted.")
    r = await w.alice.slash(w.channel, "comments", post=str(post))
    assert f"**Alice A.** · <t:{int(simcord_env.now().timestamp())}:f> · Discord · #" in shown(r).embeds[0].description
