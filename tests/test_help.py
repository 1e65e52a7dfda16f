"""/help and a mention of the bot: what postbot does and the commands you may use, grouped, each a
clickable command mention; admins also see the admin commands."""

from __future__ import annotations

import discord
import pytest

from bot.render import EMBED_FIELD_LIMIT, EMBED_TOTAL_LIMIT

from .helpers import World, shown


def mention(world: World, name: str) -> str:
    return f"</{name}:{world.bot.command_ids[name.split()[0]]}>"


def text_of(embed: discord.Embed) -> str:
    return "\n".join([embed.description or "", *(f"{f.name}\n{f.value}" for f in embed.fields), embed.footer.text or ""])


def within_limits(embed: discord.Embed) -> None:
    assert len(embed) <= EMBED_TOTAL_LIMIT and all(len(f.value) <= EMBED_FIELD_LIMIT for f in embed.fields)


async def test_a_member_sees_what_postbot_does_and_the_commands_they_may_use(world):
    r = await world.alice.slash(world.channel, "help")
    assert r.ephemeral
    [embed] = shown(r).embeds
    within_limits(embed)
    assert "postbot keeps a store of posts" in embed.description
    fields = {f.name: f.value for f in embed.fields}
    assert list(fields)[:3] == ["Posts", "Treaty articles", "Discussion and comments"]
    assert f"{mention(world, 'post show')} `post` — " in fields["Posts"]
    assert f"{mention(world, 'search')} `query` — Search posts, comments and treaty articles" in fields["Posts"]
    assert f"{mention(world, 'article')} `number [treaty]`" in fields["Treaty articles"]
    discussion = "\n".join(v for k, v in fields.items() if k.startswith("Discussion"))
    assert f"{mention(world, 'comment add')} `text [post]`" in discussion and f"{mention(world, 'comments')} `[post]`" in discussion
    assert "“Save as comment”" in discussion
    everything = text_of(embed)
    for admin_only in ("digest", "load", "discussion mode", "feed add"):
        assert f"</{admin_only}" not in everything, admin_only
    assert "\\*" not in everything


async def test_an_admin_also_sees_the_admin_commands_starred(world):
    r = await world.admin.slash(world.channel, "help")
    [embed] = shown(r).embeds
    within_limits(embed)
    everything = text_of(embed)
    assert f"{mention(world, 'digest setup')} `channel time timezone [quiet] [max_posts] [style] [role]` \\* — " in everything
    assert f"{mention(world, 'load')} `file [name]` \\*" in everything
    assert f"{mention(world, 'discussion mode')} `mode` \\*" in everything
    assert f"{mention(world, 'post show')} `post` — " in everything  # and everything a member has
    assert "* needs Manage Server" in embed.footer.text


async def test_mentioning_the_bot_answers_with_the_same(world):
    asked = await world.alice.send(world.channel, f"<@{world.bot.user.id}> what can you do?")
    [reply] = [m for m in world.channel.history() if m.author.id == world.bot.user.id]
    assert reply.reference is not None and reply.reference.message_id == asked.id
    r = await world.alice.slash(world.channel, "help")
    assert [e.to_dict() for e in reply.embeds] == [e.to_dict() for e in shown(r).embeds]
    sent = [q for q in world.env.http_requests if q.method == "POST" and q.path == f"/channels/{world.channel.id}/messages"]
    assert sent[-1].json["allowed_mentions"]["parse"] == []
    await world.alice.send(world.channel, "no mention here")
    assert len([m for m in world.channel.history() if m.author.id == world.bot.user.id]) == 1
    assert not world.env.errors


async def test_help_in_a_direct_message_lists_what_works_there(world):
    r = await world.alice.user.slash("help")
    [embed] = shown(r).embeds
    everything = text_of(embed)
    assert mention(world, "article") in everything and mention(world, "search") in everything
    assert "</comment add" not in everything and "“Save as comment”" not in everything  # server-only
