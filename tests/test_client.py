"""The bot runtime: cogs load, commands sync once, errors reach users the right way."""

from __future__ import annotations

import logging

import discord
import pytest
import simcord
from discord import app_commands
from discord.ext import commands
from typer.testing import CliRunner

from bot import Settings, create_bot
from bot.cli import app
from bot.client import APOLOGY, EXTENSIONS
from bot.errors import UserFacingError
from bot.settings import SettingsError

from .helpers import ROOT, released


class Faulty(commands.Cog):
    """A cog added by these tests only, to drive the tree's error handling through real interactions."""

    @app_commands.command()
    async def oops(self, interaction: discord.Interaction) -> None:
        """Fails the way a user mistake does."""
        raise UserFacingError("Article 99 is not known.")

    @app_commands.command()
    async def crash(self, interaction: discord.Interaction) -> None:
        """Fails the way a bug does."""
        raise RuntimeError("database on fire")


def command_syncs(env) -> list:
    return [r for r in env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]


async def test_every_cog_loads_and_no_command_name_collides(simcord_env):
    bot = simcord_env.bot
    assert sorted(bot.extensions) == sorted(EXTENSIONS)
    modules = {f"cogs.{p.stem}" for p in (ROOT / "cogs").glob("*.py") if not p.stem.startswith("_")}
    assert set(EXTENSIONS) == modules, "every cog module is an extension, and only those"
    top_level = [c.name for c in bot.tree.get_commands()]
    assert len(top_level) == len(set(top_level))
    for command in bot.tree.walk_commands():
        assert command.description, f"/{command.qualified_name} has a description"


async def test_user_errors_are_ephemeral_and_bugs_are_logged_with_an_apology(simcord_env, caplog):
    bot = simcord_env.bot
    await bot.add_cog(Faulty())
    await bot.tree.sync()
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))

    result = await alice.slash(channel, "oops")
    assert result.ephemeral and result.response.content == "Article 99 is not known."

    with caplog.at_level(logging.ERROR, logger="bot.client"):
        result = await alice.slash(channel, "crash")
    assert result.ephemeral and result.response.content == APOLOGY
    [record] = [r for r in caplog.records if r.name == "bot.client"]
    assert "'crash'" in record.getMessage() and str(alice.id) in record.getMessage() and str(guild.id) in record.getMessage()
    simcord.assert_error(simcord_env, RuntimeError)


async def test_commands_sync_only_when_they_changed(settings):
    async with released(create_bot(settings)) as bot, simcord.run(bot, shard_count=1) as env:
        assert len(command_syncs(env)) == 1
    async with released(create_bot(settings)) as bot, simcord.run(bot, shard_count=1) as env:
        assert command_syncs(env) == []


async def test_dev_guild_sync_goes_to_that_guild(sqlite_url):
    settings = Settings(database_url=sqlite_url, dev_guild_id=1234)
    async with released(create_bot(settings)) as bot, simcord.run(bot, strict_sync=False, shard_count=1) as env:
        [sync] = command_syncs(env)
        assert "/guilds/1234/commands" in sync.path


def test_bot_never_pings_by_default(settings):
    bot = create_bot(settings)
    mentions = bot.allowed_mentions
    assert not mentions.everyone and not mentions.users and not mentions.roles


def test_env_file_is_read_and_real_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("LOG_LEVEL=debug\nDEFAULT_TIMEZONE=Europe/Berlin\nDEV_GUILD_ID=42\n", encoding="utf-8")
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Asia/Tokyo")
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.delenv("DEV_GUILD_ID", raising=False)
    settings = Settings.from_env(env_file)
    assert (settings.log_level, settings.default_timezone, settings.dev_guild_id) == ("DEBUG", "Asia/Tokyo", 42)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEFAULT_TIMEZONE", "Europe/Berln", "not an IANA timezone"),
        ("MESSAGE_CONTENT_INTENT", "maybe", "not a boolean"),
        ("DEV_GUILD_ID", "abc", "not a number"),
        ("LOG_LEVEL", "loud", "must be one of"),
    ],
)
def test_bad_settings_name_the_setting(monkeypatch, tmp_path, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message) as info:
        Settings.from_env(tmp_path / "missing.env")
    assert name in str(info.value)


def test_run_without_a_token_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: DISCORD_TOKEN is not set: put the bot's token in .env (see .env.example), or try `postbot demo`."
    ]
