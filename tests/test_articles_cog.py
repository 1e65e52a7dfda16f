"""/article and /articles end to end in simcord's simulated Discord."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import discord
import pytest

from bot.render import (
    CHOICE_NAME_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_LIMIT,
    EMBED_FIELDS_MAX,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
)
from bot.services.articles import load_treaty

from .helpers import SAMPLE, SAMPLE_TITLE, World, assert_user_error, fixture

ARTICLE_4 = (
    "if one of the Parties is subjected to an armed attack by any State or several States and thus finds itself "
    "in a state of war, the other Party will immediately provide military and other assistance with all the means "
    "at its disposal."
)
ARTICLE_3 = (
    "In the event of an immediate threat of an act of armed aggression against one of the Parties, the Parties, at "
    "the request of one of the Parties, shall immediately use bilateral channels for consultations in order to "
    "coordinate their positions and agree on possible practical measures to assist each other to help eliminate "
    "the emerging threat."
)
RUSSIA_DPRK = "Russia–DPRK Treaty on Comprehensive Strategic Partnership"


@pytest.fixture
async def world(simcord_env) -> World:
    """The sample post loaded into the bot's own database; a server with its members."""
    world = World(simcord_env)
    report = await world.load(SAMPLE)
    assert report.summary().startswith("1 loaded"), report.summary()
    return world


async def load_text(world: World, source: Path | str, name: str, aliases=()):
    """A treaty text (a fixture file is read as the CLI reads it) loaded at simcord's time."""
    text = source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source
    return await world.db.call(load_treaty, text=text, name=name, aliases=tuple(aliases), now=discord.utils.utcnow())


def fields(embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields}


def assert_within_limits(embeds) -> None:
    assert 1 <= len(embeds) <= EMBEDS_PER_MESSAGE
    assert sum(len(e) for e in embeds) <= EMBED_TOTAL_LIMIT
    for e in embeds:
        assert len(e.title or "") <= EMBED_TITLE_LIMIT and len(e.description or "") <= EMBED_DESCRIPTION_LIMIT
        assert len(e.fields) <= EMBED_FIELDS_MAX and all(len(f.value) <= EMBED_FIELD_LIMIT for f in e.fields)
        assert len(e.footer.text or "") <= EMBED_FOOTER_LIMIT


def words(text: str) -> str:
    """Text as a reader sees it: Discord's backslash escapes dropped, whitespace collapsed."""
    return " ".join(re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text).split())


async def test_article_4_quotes_the_sample_post(world):
    channel, alice = world.channel, world.alice
    result = await alice.slash(channel, "article", number="4")
    assert not result.ephemeral
    [embed] = result.response.embeds
    assert ARTICLE_4 in embed.description
    assert embed.title == f"Article 4 — {RUSSIA_DPRK}"
    assert embed.footer.text.startswith(f"As quoted in {SAMPLE_TITLE} (2024-06-23)")
    assert fields(embed)["Treaty"] == RUSSIA_DPRK
    assert "really means (2024-06-23)" in fields(embed)["Cited in 1 post"]
    assert "Also" not in fields(embed)


async def test_article_3_quotes_the_sample_post(world):
    channel, alice = world.channel, world.alice
    result = await alice.slash(channel, "article", number="3", treaty="Russia-DPRK treaty")
    [embed] = result.response.embeds
    assert embed.description == ARTICLE_3
    assert embed.footer.text.startswith(f"As quoted in {SAMPLE_TITLE}") and fields(embed)["Treaty"] == RUSSIA_DPRK


async def test_articles_lists_the_known_treaties(world):
    channel, alice = world.channel, world.alice
    result = await alice.slash(channel, "articles")
    [embed] = result.response.embeds
    assert RUSSIA_DPRK in embed.description and "Articles: 3, 4" in embed.description
    assert "Cited: 3 (1 post), 4 (1 post)" in embed.description

    result = await alice.slash(channel, "articles", treaty="Russia-DPRK treaty")
    [embed] = result.response.embeds
    assert embed.title == f"Articles of {RUSSIA_DPRK}"
    assert "**Article 4** · cited in 1 post\nif one of the Parties" in embed.description


async def test_unknown_article_or_treaty_is_ephemeral_and_not_logged(world, caplog):
    env, channel, alice = world.env, world.channel, world.alice
    with caplog.at_level(logging.WARNING):
        result = await alice.slash(channel, "article", number="9", treaty="Russia-DPRK treaty")
        told = f"Article 9 of {RUSSIA_DPRK} is not known. Known articles of {RUSSIA_DPRK}: 3, 4."
        assert_user_error(env, result, told)
        assert result.response.content == told

        result = await alice.slash(channel, "article", number="9")
        assert_user_error(env, result, "Article 9 is not known")
        assert "articles 3, 4" in result.response.content

        result = await alice.slash(channel, "article", number="4", treaty="Treaty of Nowhere")
        assert_user_error(env, result, "No treaty called 'Treaty of Nowhere' is known")
        assert RUSSIA_DPRK in result.response.content

        result = await alice.slash(channel, "articles", treaty="Treaty of Nowhere")
        assert_user_error(env, result, "Known treaties: Russia–DPRK")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.name == "bot.client"] == []  # no bug logged


async def test_nothing_known_yet(simcord_env):
    world = World(simcord_env)
    for options in ({}, {"number": "4"}):
        result = await world.alice.slash(world.channel, "articles" if not options else "article", **options)
        assert_user_error(simcord_env, result, "No treaty articles are known yet")


async def test_ambiguous_number_shows_the_discussed_treaty_and_names_the_others(world):
    channel, alice = world.channel, world.alice
    await load_text(world, fixture("treaties", "treaty_north_atlantic_1949.txt"), "North Atlantic Treaty", ["NATO"])

    result = await alice.slash(channel, "article", number="4")
    [embed] = result.response.embeds
    assert ARTICLE_4 in embed.description and fields(embed)["Treaty"] == RUSSIA_DPRK
    assert fields(embed)["Also"] == "Article 4 of the North Atlantic Treaty. Pick one with the treaty option."

    result = await alice.slash(channel, "article", number="4", treaty="NATO")
    [embed] = result.response.embeds
    assert embed.title == "Article 4 — North Atlantic Treaty"
    assert embed.description.startswith("The Parties will consult together")
    assert embed.footer.text is None and "Cited in 1 post" not in fields(embed)


async def test_npt_article_iii_is_whole_and_within_limits(world):
    channel, alice = world.channel, world.alice
    await load_text(world, fixture("treaties", "treaty_npt_1968.txt"), "NPT")
    result = await alice.slash(channel, "article", number="3", treaty="NPT")
    embeds = result.response.embeds
    assert_within_limits(embeds)
    assert embeds[0].title.startswith("Article III — Treaty on the Non-Proliferation of Nuclear Weapons")
    text = words(" ".join(e.description for e in embeds))
    assert text.startswith("1. Each non-nuclear-weapon State Party to the Treaty undertakes to accept safeguards")
    assert text.endswith("not later than eighteen months after the date of initiation of negotiations.")
    assert "4. Non-nuclear-weapon States Party to the Treaty shall conclude agreements" in text


async def test_a_very_long_article_is_paginated_without_losing_text(world):
    channel, alice = world.channel, world.alice
    paragraphs = [f"{i}. " + " ".join(f"clause{i}-{j}" for j in range(120)) + "." for i in range(1, 16)]
    body = "\n\n".join(paragraphs)
    await load_text(world, f"Treaty of Length\n\nArticle 1\n\n{body}\n\nArticle 2\n\nShort.\n", "Treaty of Length")

    result = await alice.slash(channel, "article", number="1", treaty="Treaty of Length")
    seen = list(result.response.embeds)
    assert_within_limits(seen)
    assert result.response.components, "more than one message of embeds: paginated with buttons"
    message = result.response
    while True:
        buttons = {c["label"]: c for row in message.components for c in row["components"]}
        if buttons["Next"].get("disabled"):
            break
        clicked = await alice.click(message, label="Next")
        message = clicked.response
        assert_within_limits(message.embeds)
        seen += message.embeds
    assert words(" ".join(e.description for e in seen)) == words(body)
    assert fields(seen[-1])["Treaty"] == "Treaty of Length"


async def test_autocomplete_treaty_and_number(world):
    channel, alice = world.channel, world.alice
    await load_text(world, fixture("treaties", "treaty_npt_1968.txt"), "NPT")

    choices = await alice.autocomplete(channel, "article", "treaty", "dprk")
    assert choices[0]["value"] == RUSSIA_DPRK
    choices = await alice.autocomplete(channel, "article", "treaty", "")
    assert {c["value"] for c in choices} == {RUSSIA_DPRK, "Treaty on the Non-Proliferation of Nuclear Weapons"}
    choices = await alice.autocomplete(channel, "articles", "treaty", "non-prol")
    assert choices[0]["value"] == "Treaty on the Non-Proliferation of Nuclear Weapons"

    choices = await alice.autocomplete(channel, "article", "number", "", treaty="Russia-DPRK treaty")
    assert [c["value"] for c in choices] == ["3", "4"]
    assert choices[1]["name"].startswith("Article 4: if one of the Parties is subjected")
    choices = await alice.autocomplete(channel, "article", "number", "", treaty="NPT")
    assert [c["value"] for c in choices] == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI"]
    assert choices[2]["name"].startswith("Article III: ")
    choices = await alice.autocomplete(channel, "article", "number", "1", treaty="NPT")
    assert [c["value"] for c in choices] == ["I", "X", "XI"]
    choices = await alice.autocomplete(channel, "article", "number", "")
    assert [c["value"] for c in choices] == ["I", "II", "3", "4", "V", "VI", "VII", "VIII", "IX", "X", "XI"]  # 3, 4: the cited ones
    four = next(c for c in choices if c["value"] == "4")
    assert four["name"].startswith("Article 4 · Russia-DPRK treaty · also NPT · if one of the Parties")  # in words, not "+1"
    for c in choices:
        assert len(c["name"]) <= CHOICE_NAME_LIMIT
    assert world.env.errors == []


async def test_quoted_mentions_never_ping(world, tmp_path):
    env, channel, alice = world.env, world.channel, world.alice
    post = tmp_path / "ping.txt"
    post.write_text(
        "July 2, 2024\n\nA loud post\n\n"
        'Article 7 of the North Atlantic Treaty states that "@everyone and @here and <@123456789012345678> must read this."\n\n'
        "No comments:\n",
        encoding="utf-8",
    )
    assert (await world.load(post)).summary().startswith("1 loaded")
    before = len(env.http_requests)
    result = await alice.slash(channel, "article", number="7")
    [embed] = result.response.embeds
    assert "\\@everyone and \\@here and \\<@123456789012345678> must read this." in embed.description  # escaped: no pill
    assert "@everyone and @here and <@123456789012345678> must read this." in words(embed.description)
    assert not result.response.message.mention_everyone and result.response.message.mentions == []
    sent = [r.json for r in env.http_requests[before:] if r.method == "POST" and "/callback" in r.path]
    assert sent and all(body["data"]["allowed_mentions"] == {"parse": []} for body in sent)
