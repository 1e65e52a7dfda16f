"""The `postbot` command line (typer + rich): the same services the bot's commands use.

One module per group of commands; importing them registers them on `app`. User and stored text
is printed with rich's markup off (`say`), so a path or a title never reads as markup.
"""

from bot.cli import feeds, posts, reading, run, treaties  # noqa: F401  (registers the commands)
from bot.cli._base import app

__all__ = ["app"]
