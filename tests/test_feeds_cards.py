"""Feed cards as a member sees them (issue #13): one post card a post, linked once, with the entry's
picture, several new entries batched in one message, a "Discuss" button that opens the post's
thread (and still works after a restart), and a role ping that pings exactly that role. Pictures
in feeds (media:content, media:thumbnail, enclosures, <img>) are read by `entry_image`."""

from __future__ import annotations

import io

import discord
import feedparser
import pytest
from sqlalchemy import delete

from bot import create_bot
from bot.ingest.feeds import entry_image, parse_feed
from bot.models import Post
from bot.render import EMBED_TOTAL_LIMIT, EMBEDS_PER_MESSAGE
from bot.render.feeds import FEED_COLOUR
from bot.services import comments

from .feed_servers import sent_to
from .feed_servers import cog, entry_link, feed_server, feed_with, live_cog, settings  # noqa: F401  (fixtures)
from .helpers import assert_user_error, one_shard, shown

FEED = "/feed.xml"
PICTURE = "https://i.example.org/summit.jpg"


def buttons(message) -> list[dict]:
    return [c for row in message["components"] for c in row["components"]]


async def watch(world, feed_server, **options):
    added = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=world.channel, **options)
    assert "First check: ok: 54 new" in shown(added).content, shown(added).content
    return added


async def grow(env, cog, feed_server, *titles, **kwargs) -> None:
    """The feed gets these entries; a quarter of an hour on, the bot polls and announces."""
    feed_server.set_body(feed_with(*titles, **kwargs), discord.utils.utcnow())
    await env.advance_time(15 * 60 + 1)
    await cog.poll_due()
    await env.settle()


async def test_new_entries_come_batched_as_post_cards_with_pictures_and_discuss_buttons(simcord_env, cog, world, feed_server):
    await watch(world, feed_server)
    titles = ["Summit opens in Vilnius", "Ministers agree on a statement", "Leaders leave"]
    await grow(simcord_env, cog, feed_server, *titles, pictures={"Summit opens in Vilnius": PICTURE})

    [message] = sent_to(simcord_env, world.channel)  # three entries, one message
    assert message.get("content") in (None, "") and message["allowed_mentions"] == {"parse": []}
    cards = message["embeds"]
    assert [c["title"] for c in cards] == titles  # the feed's order, newest first
    for card, title in zip(cards, titles):
        assert card["url"] == entry_link(title) and card["color"] == FEED_COLOUR.value
        # linked once: by the title, never again in the text, fields or footer
        assert entry_link(title) not in card.get("description", "") + str(card["fields"]) + card["footer"]["text"]
        assert {f["name"] for f in card["fields"]} == {"Date", "Source", "Comments"}
    assert cards[0]["image"]["url"] == PICTURE and "image" not in cards[1]
    labels = [b["label"] for b in buttons(message)]
    assert labels == [f"Discuss: {t}" for t in titles]
    assert all(b["custom_id"].startswith("postbot:discuss:") for b in buttons(message))

    shown_card = world.channel.last_message  # as a member's client shows it
    assert [e.title for e in shown_card.embeds] == titles and shown_card.embeds[0].image.url == PICTURE


async def test_many_new_entries_fill_messages_within_discords_limits(simcord_env, cog, world, feed_server):
    await watch(world, feed_server)
    titles = [f"Entry {n:02d} of a busy day" for n in range(33)]
    long_text = {t: f"{t}. " + "The delegates argued about the wording for hours. " * 20 for t in titles}
    await grow(simcord_env, cog, feed_server, *titles, texts=long_text)

    *messages, rest = sent_to(simcord_env, world.channel)
    assert 3 <= len(messages) < 30  # batched, never one message an entry
    assert [c["title"] for m in messages for c in m["embeds"]] == titles[:30]  # at most 30 cards a check...
    assert rest["content"] == f"…and 3 more new posts from <{feed_server.url(FEED)}> (see `/post list`)."  # ...the rest in a line
    for message in messages:
        embeds = [discord.Embed.from_dict(e) for e in message["embeds"]]
        assert len(embeds) <= EMBEDS_PER_MESSAGE and sum(len(e) for e in embeds) <= EMBED_TOTAL_LIMIT
        assert [b["label"] for b in buttons(message)] == [f"Discuss: {e.title}" for e in embeds]


async def test_the_discuss_button_opens_the_posts_thread_and_then_links_it(simcord_env, cog, world, feed_server):
    await watch(world, feed_server)
    await grow(simcord_env, cog, feed_server, "Summit opens in Vilnius")
    announcement = world.channel.last_message
    assert [b["label"] for b in buttons(sent_to(simcord_env, world.channel)[0])] == ["Discuss"]  # one card: one plain button

    opened = await world.alice.click(announcement, label="Discuss")
    assert not opened.ephemeral
    starter = shown(opened)
    assert starter.embeds[0].title == "Summit opens in Vilnius" and "saved as comments" in starter.embeds[0].footer.text
    [thread] = [t for t in world.channel.threads if t.id == starter.id]
    assert thread.name == "Summit opens in Vilnius"
    post_id = int(buttons(sent_to(simcord_env, world.channel)[0])[0]["custom_id"].rsplit(":", 1)[1])
    assert comments.post_thread(world.db, post_id=post_id, guild_id=world.guild.id).thread_id == thread.id  # as /discuss registers it

    again = await world.bob.click(announcement, label="Discuss")
    assert again.ephemeral and again.response.content == f"This post is discussed in <#{thread.id}>."
    via_command = await world.bob.slash(world.channel, "discuss", post=str(post_id))
    assert via_command.ephemeral and f"<#{thread.id}>" in via_command.response.content
    assert len(world.channel.threads) == 1

    await world.alice.send(thread, "The summit changed nothing.")
    await simcord_env.bot.get_cog("Discussion").writer.flush()
    listed = await world.bob.slash(world.channel, "comments", post=str(post_id))
    assert "The summit changed nothing." in listed.response.embeds[0].description


async def test_the_discuss_button_survives_a_restart(simcord_env, cog, world, feed_server, settings):
    await watch(world, feed_server)
    await grow(simcord_env, cog, feed_server, "Summit opens in Vilnius")
    announcement = world.channel.last_message
    old = simcord_env.bot
    await old.http_session.close()
    await simcord_env.restart_bot(create_bot(one_shard(settings)))
    assert simcord_env.bot is not old
    try:
        opened = await world.alice.click(announcement, label="Discuss")
        assert shown(opened).embeds[0].title == "Summit opens in Vilnius"
        assert len(world.channel.threads) == 1
    finally:
        await simcord_env.bot.release()


async def test_a_post_gone_meanwhile_is_said_so_by_its_button(simcord_env, cog, world, feed_server):
    await watch(world, feed_server)
    await grow(simcord_env, cog, feed_server, "Summit opens in Vilnius")
    post_id = int(buttons(sent_to(simcord_env, world.channel)[0])[0]["custom_id"].rsplit(":", 1)[1])
    with world.db.session() as session:
        session.execute(delete(Post).where(Post.id == post_id))
    clicked = await world.alice.click(world.channel.last_message, label="Discuss")
    assert clicked.ephemeral and "no longer exists" in shown(clicked).content
    assert world.channel.threads == []


async def test_a_role_ping_pings_that_role_only(simcord_env, cog, world, feed_server):
    news = world.guild.create_role("news", mentionable=True)
    other = world.guild.create_role("other", mentionable=True)
    added = await watch(world, feed_server, role=news)
    assert f"mentioning {news.mention}" in shown(added).content
    sneaky = f"Breaking @everyone {other.mention} <@{world.alice.id}> news"
    await grow(simcord_env, cog, feed_server, "Summit opens in Vilnius", sneaky)

    [message] = sent_to(simcord_env, world.channel)
    assert message["content"] == news.mention
    assert message["allowed_mentions"] == {"parse": [], "roles": [news.id]}  # exactly that role: no users, no @everyone
    title = message["embeds"][1]["title"]
    assert "\\@everyone" in title and f"\\<@&{other.id}>" in title  # stored text never pings, nor shows as a pill

    await grow(simcord_env, cog, feed_server, "Third", sneaky, "Summit opens in Vilnius")
    later = sent_to(simcord_env, world.channel)[1]
    assert later["content"] == news.mention  # each round of announcements mentions it once


async def test_a_role_nobody_can_be_notified_of_is_warned_about(simcord_env, cog, world, feed_server):
    quiet = world.guild.create_role("quiet", mentionable=False)
    added = await watch(world, feed_server, role=quiet)
    assert "not mentionable" not in shown(added).content  # the bot may mention all roles here
    muted = world.guild.create_text_channel("muted", overwrites={world.guild.me: discord.PermissionOverwrite(mention_everyone=False)})
    await simcord_env.settle()
    added = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=muted, role=quiet)
    assert f"{quiet.mention} is not mentionable and I lack Mention All Roles" in shown(added).content
    everyone = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=world.channel, role=world.guild.default_role)
    assert_user_error(simcord_env, everyone, "Pick a role to mention, not @everyone.")
    no_channel = await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), role=quiet)
    assert_user_error(simcord_env, no_channel, "Pick a `channel` too")


# --- pictures in feeds ------------------------------------------------------------------------


def entry(xml: str):
    feed = f'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title><item>{xml}</item></channel></rss>'
    return feedparser.parse(io.BytesIO(feed.encode())).entries[0]


@pytest.mark.parametrize(
    ("xml", "picture"),
    [
        ('<media:content url="https://a.org/small.jpg" width="140"/><media:content url="https://a.org/big.jpg" width="460"/>', "https://a.org/big.jpg"),
        ('<media:content url="https://a.org/clip.mp4" medium="video"/><media:thumbnail url="https://a.org/thumb.png"/>', "https://a.org/thumb.png"),
        ('<media:content url="https://a.org/x" type="image/png"/>', "https://a.org/x"),
        ('<enclosure url="https://a.org/talk.mp3" type="audio/mpeg" length="1"/><enclosure url="https://a.org/cover.webp" type="image/webp" length="1"/>', "https://a.org/cover.webp"),
        ('<link>https://a.org/posts/1</link><description>&lt;img src="http://feeds.feedburner.com/~r/x" width="1" height="1"&gt;'
         '&lt;p&gt;Hi&lt;img src="/pics/a.png"&gt;&lt;/p&gt;</description>', "https://a.org/pics/a.png"),
        ('<description>&lt;img src="data:image/png;base64,AAAA"&gt; &lt;img src="javascript:alert(1)"&gt;</description>', None),
        ('<media:content url="file:///etc/passwd" medium="image"/>', None),
        ("<description>No pictures here.</description>", None),
    ],
    ids=["largest-media", "thumbnail-not-video", "typed-media", "image-enclosure", "first-real-img", "no-web-img", "no-file-url", "none"],
)
def test_an_entrys_picture(xml, picture):
    assert entry_image(entry(xml)) == picture


def test_parse_feed_gives_each_posts_picture():
    parsed = parse_feed(feed_with("A", "B", pictures={"B": PICTURE}))
    assert parsed.images[:2] == [None, PICTURE] and len(parsed.images) == len(parsed.posts)
    assert parsed.images[2].startswith("https://i.guim.co.uk/") and "w=460" in parsed.images[2]  # the Guardian's larger one


async def test_the_discuss_button_says_what_the_bot_is_missing(simcord_env, cog, world, feed_server):
    closed = world.guild.create_text_channel("no-threads", overwrites={world.guild.me: discord.PermissionOverwrite(create_public_threads=False)})
    await simcord_env.settle()
    await world.admin.slash(world.channel, "feed add", url=feed_server.url(FEED), channel=closed)
    await grow(simcord_env, cog, feed_server, "Summit opens in Vilnius")
    clicked = await world.alice.click(closed.last_message, label="Discuss")
    assert clicked.ephemeral and shown(clicked).content == "I am missing a permission here: create public threads."
    assert closed.threads == []
