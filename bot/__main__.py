"""`python -m bot` is the `postbot` command line."""

from bot.cli import app

app(prog_name="postbot")
