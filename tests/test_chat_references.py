"""Article references in chat (issue #11), through simcord on SQLite and PostgreSQL: a message in a
post's thread citing an article gets one reply with the article's card, mentions off; never for
bots, never twice, silent when nothing is known; /discussion quotes; the "Quote articles" menu."""

from __future__ import annotations

import datetime as dt

import discord
import pytest
import simcord

from bot import create_bot
from bot.services import chat_references
from bot.services.articles import load_treaty
from bot.settings import Settings
from cogs.articles import LOOKUPS

from .helpers import World, fixture, one_shard, released, shown

NATO = "North Atlantic Treaty"
UN_CHARTER = "Charter of the United Nations"
RUSSIA_DPRK = "Russia–DPRK Treaty on Comprehensive Strategic Partnership"
ARTICLE_4 = "if one of the Parties is subjected to an armed attack, the other Party will immediately provide military assistance."


@pytest.fixture
def settings(request, database_url) -> Settings:
    """SQLite and PostgreSQL; `@pytest.mark.parametrize("settings", [False], indirect=True)` turns the intent off."""
    return Settings(database_url=database_url, message_content_intent=getattr(request, "param", True))


@pytest.fixture
async def world(simcord_env) -> World:
    """NATO's text, a post quoting the UN Charter, and the post discussed: it quotes Russia–DPRK's Article 4."""
    w = World(simcord_env)
    text = fixture("treaties", "treaty_north_atlantic_1949.txt").read_text(encoding="utf-8-sig")
    await w.db.call(load_treaty, text=text, name=NATO, aliases=("NATO",), now=discord.utils.utcnow())
    w.add_post("Self-defence", date=dt.date(2024, 6, 20),
               body="Article 51 of the UN Charter reads: “Nothing in the present Charter shall impair the inherent right.”")
    w.post = w.add_post("The Pyongyang summit", body=f"Article 4 of the Russia-DPRK treaty states that “{ARTICLE_4}”")
    result = await w.alice.slash(w.channel, "discuss", post=str(w.post))
    [w.thread] = [t for t in w.channel.threads if t.id == result.response.id]
    return w


def replies_to(w: World, message: discord.Message) -> list[discord.Message]:
    return [m for m in w.thread.history() if m.author.id == w.bot.user.id and m.reference and m.reference.message_id == message.id]


def sent_replies(w: World, before: int) -> list[dict]:
    """What the bot posted in the thread since `before` (its request bodies)."""
    return [r.json for r in w.env.http_requests[before:] if r.method == "POST" and r.path.endswith(f"/channels/{w.thread.id}/messages")]


async def test_a_message_citing_articles_is_answered_once_with_mentions_off(world, settings):
    w = world
    before = len(w.env.http_requests)
    message = await w.bob.send(w.thread, "Article 5 of NATO is what matters here, and Art. 51 UN Charter too. @everyone")
    [reply] = replies_to(w, message)
    assert [e.title for e in reply.embeds] == [f"Article 5 — {NATO}", f"Article 51 — {UN_CHARTER}"]
    assert reply.embeds[0].description.startswith("The Parties agree that an armed attack against one or more of them")
    assert reply.embeds[1].description == "Nothing in the present Charter shall impair the inherent right."
    assert reply.embeds[1].footer.text.startswith("As quoted in Self-defence (2024-06-20)")
    [body] = sent_replies(w, before)
    assert body["allowed_mentions"] == {"parse": [], "replied_user": False}  # no pings, not even the author's
    assert int(body["message_reference"]["message_id"]) == message.id
    assert not reply.mention_everyone and reply.mentions == []

    # The same message again (a duplicate gateway event), then after a restart: never a second answer.
    w.bot.dispatch("message", message)
    await w.env.settle()
    async with released(create_bot(one_shard(settings))) as fresh:
        await w.env.restart_bot(fresh)
        fresh.dispatch("message", message)
        await w.env.settle()
        assert len(replies_to(w, message)) == 1 and len(sent_replies(w, before)) == 1


async def test_a_bare_reference_means_the_posts_treaty(world):
    w = world
    message = await w.alice.send(w.thread, "what about article 4?")
    [reply] = replies_to(w, message)
    [card] = reply.embeds
    assert card.title == f"Article 4 — {RUSSIA_DPRK}" and card.description == ARTICLE_4
    assert card.footer.text.startswith("As quoted in The Pyongyang summit")


async def test_at_most_three_articles_a_message(world):
    w = world
    message = await w.alice.send(w.thread, "NATO's Articles 1, 2, 3, 4 and 5 all matter; Article 5 of NATO most.")
    [reply] = replies_to(w, message)
    assert [e.title for e in reply.embeds] == [f"Article {n} — {NATO}" for n in (1, 2, 3)]
    assert sum(len(e) for e in reply.embeds) <= 6000


async def test_an_article_just_quoted_in_the_thread_is_not_quoted_again(world):
    w = world
    first = await w.alice.send(w.thread, "Article 5 of NATO is the point.")
    again = await w.bob.send(w.thread, "Yes, Article 5 of NATO, and Art. 51 UN Charter.")
    assert [e.title for r in replies_to(w, first) for e in r.embeds] == [f"Article 5 — {NATO}"]
    assert [e.title for r in replies_to(w, again) for e in r.embeds] == [f"Article 51 — {UN_CHARTER}"]


async def test_a_burst_of_citing_messages_gets_a_bounded_number_of_lookups(world):
    """A raid of 30 messages citing articles: at most LOOKUPS are looked up (and answered) in the window."""
    w = world
    before = len(w.env.http_requests)
    for n in range(1, 31):
        await w.alice.send(w.thread, f"Article {n % 14 + 1} of NATO, message {n}.")
    assert len(sent_replies(w, before)) == LOOKUPS
    assert w.env.errors == []


async def test_silent_for_bots_unknown_articles_and_other_channels(world):
    w = world
    other_bot = w.guild.add_member(w.env.create_user("otherbot", bot=True))
    before = len(w.env.http_requests)
    quiet = [
        await other_bot.send(w.thread, "Article 5 of NATO, says the bot."),
        await w.alice.send(w.thread, "Article 99 of the Treaty of Nowhere says nothing we know."),
        await w.alice.send(w.thread, "An article in the Times about the summit."),
        await w.alice.send(w.thread, "Article 19 of NATO does not exist."),
        await w.alice.send(w.channel, "Article 5 of NATO, outside any post's thread."),
    ]
    assert sent_replies(w, before) == [] and all(replies_to(w, m) == [] for m in quiet)
    assert w.env.errors == []


async def test_discussion_quotes_off_silences_it(world):
    w = world
    result = await w.admin.slash(w.channel, "discussion quotes", setting="off")
    assert result.ephemeral and "get no reply now" in shown(result).content
    assert chat_references.chat_quotes(w.db, guild_id=w.guild.id) is False
    message = await w.alice.send(w.thread, "Article 5 of NATO again.")
    assert replies_to(w, message) == []

    await w.admin.slash(w.channel, "discussion quotes", setting="on")
    message = await w.alice.send(w.thread, "Article 5 of NATO, once more.")
    assert len(replies_to(w, message)) == 1


async def test_discussion_quotes_needs_manage_server(world, simcord_env):
    [group] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == "discussion"]
    world.guild.set_command_permissions(group, {world.bob: True})  # shown to a member by an override
    result = await world.bob.slash(world.channel, "discussion quotes", setting="off")
    assert result.ephemeral and "You need the Manage Server permission" in shown(result).content
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)
    assert chat_references.chat_quotes(world.db, guild_id=world.guild.id) is True


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_without_the_intent_the_menu_quotes_articles(world):
    w = world
    before = len(w.env.http_requests)
    message = await w.alice.send(w.thread, "Art. 51 UN Charter and Article 5 of NATO.")
    assert sent_replies(w, before) == []  # the bot cannot read chat: no answer by itself
    menu = await w.bob.context_menu(w.thread, "Quote articles", message)
    assert menu.ephemeral
    assert [e.title for e in shown(menu).embeds] == [f"Article 51 — {UN_CHARTER}", f"Article 5 — {NATO}"]
    message = await w.alice.send(w.thread, "what about article 4?")
    menu = await w.bob.context_menu(w.thread, "Quote articles", message)
    assert [e.title for e in shown(menu).embeds] == [f"Article 4 — {RUSSIA_DPRK}"]  # the thread's post's treaty
    assert sent_replies(w, before) == []  # only bob saw them

    nothing = await w.bob.context_menu(w.thread, "Quote articles", await w.alice.send(w.thread, "No articles here."))
    assert nothing.ephemeral and shown(nothing).content == "That message cites no treaty article known here."

    result = await w.admin.slash(w.channel, "discussion quotes", setting="on")
    assert "without the message content intent" in shown(result).content
