"""/export (issue #13): a server's posts with their comments, attached as a zip of the files
`postbot export` writes: its own posts with all their comments, and the library's posts its
members commented on with the post's own comments and this server's, never another server's."""

from __future__ import annotations

import io
import json
import zipfile

import discord
import pytest
import simcord

from bot.db import Database
from bot.services.export import export_archive
from bot.services.loading import load

from .helpers import SAMPLE, SAMPLE_TITLE, World, assert_user_error, shown

OWN_POST = b"""Monday, June 24, 2024

Our own summit notes

The delegates argued about the treaty for hours. Observers called it a breakthrough.

1 comment:

Reader said...

Well put.
"""


@pytest.fixture
def settings(database_url):
    from bot.settings import Settings  # noqa: PLC0415

    return Settings(database_url=database_url)


async def exported(result) -> zipfile.ZipFile:
    [attachment] = shown(result).attachments
    return zipfile.ZipFile(io.BytesIO(await attachment.read()))


async def two_servers(env):
    """Server one has a post of its own and comments on a library post; server two comments on it too."""
    one, two = World(env, name="one"), World(env, name="two")
    await one.load(SAMPLE)  # the operator's: the library's
    one.add_post("A library post nobody here discussed")
    await one.admin.slash(one.channel, "load", file=("own.txt", OWN_POST))
    await one.alice.slash(one.channel, "comment add", post=SAMPLE_TITLE, text="Seen from server one.")
    await one.alice.slash(one.channel, "comment add", post="Our own summit notes", text="Our view.")
    await two.bob.slash(two.channel, "comment add", post=SAMPLE_TITLE, text="Seen from server two.")
    return one, two


async def test_export_attaches_this_servers_posts_and_comments_as_post_files(simcord_env, tmp_path):
    one, _two = await two_servers(simcord_env)
    result = await one.admin.slash(one.channel, "export")
    assert result.ephemeral
    text = shown(result).content
    assert "1 post of this server's own, and 1 library post members here commented on, with 2 comments written here" in text
    assert "`postbot load`" in text
    archive = await exported(result)
    assert shown(result).attachments[0].filename.startswith(f"postbot-export-{one.guild.id}-") 
    names = sorted(archive.namelist())
    assert names == ["2024-06-23-what-putins-meeting-with-kim-jong-un-really-means.txt", "2024-06-24-our-own-summit-notes.txt"]
    library, own = (archive.read(n).decode() for n in names)
    assert own.startswith(f"Server: {one.guild.id}\n") and "Reader said..." in own and "Our view." in own
    assert not library.startswith("Server:") and "Seen from server one." in library
    assert "Seen from server two." not in library  # another server's comment is never in this one's export
    assert "nobody here discussed" not in "".join(names)

    archive.extractall(tmp_path / "export")  # the operator loads it into an empty store: the same files again
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    report = load(fresh, sources=[str(tmp_path / "export")], now=simcord_env.now())
    assert not report.failed
    again = export_archive(fresh, server=one.guild.id, now=simcord_env.now(), max_bytes=10**7)
    reloaded = zipfile.ZipFile(io.BytesIO(again.data))
    assert {n: reloaded.read(n) for n in reloaded.namelist()} == {n: archive.read(n) for n in names}
    fresh.dispose()


async def test_export_as_json_and_who_may_export(simcord_env):
    one, two = await two_servers(simcord_env)
    result = await one.admin.slash(one.channel, "export", format="json")
    archive = await exported(result)
    posts = [json.loads(archive.read(n)) for n in sorted(archive.namelist())]
    assert [p["title"] for p in posts] == [SAMPLE_TITLE, "Our own summit notes"]
    assert [c["text"] for c in posts[1]["comments"]] == ["Well put.", "Our view."]
    assert "Seen from server two." not in json.dumps(posts)

    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == "export"]
    with pytest.raises(Exception, match="default-member-permissions"):  # for Manage Server by default
        await two.bob.slash(two.channel, "export")
    two.guild.set_command_permissions(command, {two.bob: True})
    denied = await two.bob.slash(two.channel, "export")
    assert denied.ephemeral and "Manage Server" in shown(denied).content  # checked in code too
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)

    theirs = await exported(await two.admin.slash(two.channel, "export"))
    [name] = theirs.namelist()
    assert "Seen from server two." in theirs.read(name).decode() and "Seen from server one." not in theirs.read(name).decode()

    empty = World(simcord_env, name="three")
    nothing = await empty.admin.slash(empty.channel, "export")
    assert_user_error(simcord_env, nothing, "There is nothing to export yet")


def test_an_export_too_large_to_attach_is_refused(db):
    load(db, sources=[str(SAMPLE)], scope=42, now=discord.utils.utcnow())
    with pytest.raises(Exception, match="larger than 0 MB"):
        export_archive(db, server=42, now=discord.utils.utcnow(), max_bytes=100)
