"""`python -m tests.startup_child API_BASE run`: the real `postbot` command line, with discord.py's
HTTP pointed at API_BASE (tests/fake_discord.py), in its own process so that signals reach it as they
reach `postbot run` under systemd."""

from __future__ import annotations

import sys

import discord

from bot.cli import app

if __name__ == "__main__":
    discord.http.Route.BASE = sys.argv[1]
    app(sys.argv[2:], prog_name="postbot")
