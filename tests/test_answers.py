"""How read commands answer: at once in one request when the database is quick; deferred first
("thinking...") when it is slow, so Discord's 3 seconds are never missed.

A deferral, its followup, or reading the answer back are requests (and, on Discord, round trips)
a quick answer does not need: the member sees the answer sooner, and bulk sends have more of the
rate limit.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.services import posts
from cogs import _ui

from .helpers import SAMPLE, World, shown

MESSAGE, DEFERRED = 4, 5  # interaction callback types: a message; "thinking..." (a message follows)


@pytest.fixture
async def world(simcord_env):
    w = World(simcord_env)
    assert (await w.load(SAMPLE)).summary().startswith("1 loaded")
    return w


def interaction_requests(env, since: int) -> list:
    """The bot's requests about interactions (callbacks, followups, reading an answer back) from `since` on."""
    return [r for r in env.http_requests[since:] if r.path.startswith(("/interactions/", "/webhooks/"))]


async def post_id(world) -> str:
    [ref] = await world.db.call(posts.post_choices, scope=world.guild.id)
    return str(ref.id)


READS = {
    "post show": lambda post: {"post": post},
    "comments": lambda post: {"post": post},
    "article": lambda post: {"number": "4"},
    "articles": lambda post: {},
    "search": lambda post: {"query": "treaty"},
    "post list": lambda post: {},
}


@pytest.mark.parametrize("command", READS)
async def test_a_quick_read_answers_in_one_request(world, command):
    post = await post_id(world)
    before = len(world.env.http_requests)
    result = await world.alice.slash(world.channel, command, **READS[command](post))
    message = shown(result)
    assert message.embeds and not result.ephemeral
    [request] = interaction_requests(world.env, before)
    assert request.method == "POST" and request.path.endswith("/callback") and request.json["type"] == MESSAGE


@pytest.mark.parametrize("command", READS)
async def test_a_slow_read_is_deferred_first_then_answered(world, command, monkeypatch):
    post = await post_id(world)
    real = world.db.call

    async def busy(fn, /, *args, **kwargs):  # a busy database: each answer takes longer than ANSWER_WITHIN
        await asyncio.sleep(_ui.ANSWER_WITHIN + 0.5)  # on simcord's clock, which the bot's waiting runs on
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(world.db, "call", busy)
    before = len(world.env.http_requests)
    result = await world.alice.slash(world.channel, command, **READS[command](post))
    await world.env.advance_time(_ui.ANSWER_WITHIN + 1)  # the work still waiting after the deferral
    first, *rest = interaction_requests(world.env, before)
    assert first.path.endswith("/callback") and first.json["type"] == DEFERRED
    assert rest and rest[0].method == "POST" and rest[0].path.startswith("/webhooks/")  # the answer follows it
    message = shown(result)
    assert message.embeds and not result.ephemeral
