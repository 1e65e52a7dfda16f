"""Admin commands check Manage Server in code, whatever a server's command overrides say (issue #10, item 7).

Discord hides an admin command from members by its default permissions, but a server may show
it to anyone with an override (Server Settings → Integrations). Every admin command therefore
also checks Manage Server itself: a member let in by an override is refused with the Manage
Server message, and nothing in the database changes.
"""

from __future__ import annotations

import discord
import pytest
import simcord
from sqlalchemy import select
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (every table registered on SQLModel.metadata)
from bot import Settings
from bot.services.views import CollectMode
from bot.store.discussion import collect_mode

from .helpers import SAMPLE, World, shown

ADMIN_COMMANDS = {
    # what a member types (command, options), by the top-level command Discord's overrides apply to
    "discussion mode": {"mode": "request"},
    "discussion quotes": {"setting": "off"},
    "digest setup": {"time": "09:00", "timezone": "UTC"},
    "digest off": {},
    "digest now": {},
    "digest status": {},
    "digest preview": {},  # README: Manage Server (DESIGN.md §4 listed it for everyone; the README's rule stays)
    "feed add": {"url": "http://127.0.0.1:9/feed.xml"},
    "feed remove": {"feed": "1"},
    "feed filter": {"feed": "1", "include": "summit"},
    "export": {},
    "load": {"file": ("post.txt", SAMPLE.read_bytes().replace(b"Kim", b"Kimm"))},
}


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url)


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table."""
    with db.session() as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


@pytest.fixture
async def world(simcord_env) -> World:
    """A server with a digest, a watched feed (its first check refused: a private address) and a loaded post."""
    w = World(simcord_env)
    await w.admin.slash(w.channel, "digest setup", channel=w.channel, time="08:00", timezone="UTC")
    await w.admin.slash(w.channel, "feed add", url="http://127.0.0.1:9/feed.xml")
    await w.admin.slash(w.channel, "load", file=("post.txt", SAMPLE.read_bytes()))
    return w


def mode(world: World) -> CollectMode:
    with world.db.session() as session:
        return collect_mode(session, guild_id=world.guild.id)


async def top_level(env: simcord.Env, name: str) -> discord.app_commands.AppCommand:
    [command] = [c for c in await env.bot.tree.fetch_commands() if c.name == name]
    return command


@pytest.mark.parametrize("command", list(ADMIN_COMMANDS))
async def test_a_member_shown_an_admin_command_by_an_override_is_refused_and_nothing_changes(world, simcord_env, command):
    options = ADMIN_COMMANDS[command]
    if command.startswith("digest setup"):
        options = {"channel": world.channel, **options}
    member = world.bob
    with pytest.raises(Exception, match="default-member-permissions"):  # hidden from members by default
        await member.slash(world.channel, command, **options)

    world.guild.set_command_permissions(await top_level(simcord_env, command.split()[0]), {member: True})
    before = snapshot(world.db)
    r = await member.slash(world.channel, command, **options)
    assert r.ephemeral and "You need the Manage Server permission" in shown(r).content, shown(r).content
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)
    assert snapshot(world.db) == before


async def test_the_overridden_member_cannot_switch_collection_mode(world, simcord_env):
    """The report: a member shown /discussion mode switched the server's collection mode."""
    world.guild.set_command_permissions(await top_level(simcord_env, "discussion"), {world.bob: True})
    await world.bob.slash(world.channel, "discussion mode", mode="request")
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)
    assert mode(world) == CollectMode.AUTO
    await world.admin.slash(world.channel, "discussion mode", mode="request")  # an admin still can
    assert mode(world) == CollectMode.REQUEST


async def test_members_see_the_commands_meant_for_them(world, simcord_env):
    """Overriding /feed for a member shows him /feed list and /feed status (read-only) as well."""
    member = world.bob
    r = await member.slash(world.channel, "post list")
    assert r.response is not None
    world.guild.set_command_permissions(await top_level(simcord_env, "feed"), {member: True})
    listed = await member.slash(world.channel, "feed list")
    assert listed.ephemeral and listed.response.embeds
