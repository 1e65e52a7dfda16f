"""What every `postbot` command shares: the typer apps, printing, the clock, settings and the database."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer
from rich.console import Console

from bot.db import Database, reason
from bot.settings import Settings, SettingsError

app = typer.Typer(help="postbot: a Discord bot for discussing posts, and its thread store.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
treaty_app = typer.Typer(help="Treaty texts: load a full text, list what is known.", no_args_is_help=True)
app.add_typer(treaty_app, name="treaty")
feed_app = typer.Typer(help="Watched RSS/Atom feeds: add, list, remove, poll now.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")

Server = Annotated[
    int | None, typer.Option("--server", min=1, help="As this server (its id) sees it: the library and that server's own.")
]

console = Console()
errors = Console(stderr=True, soft_wrap=True)


def say(text: str, *, to: Console = console) -> None:
    """Print plain text: no markup, no highlighting."""
    to.print(text, markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print("[red]error:[/red] ", end="", highlight=False)
    say(message, to=errors)
    return typer.Exit(code)


def utcnow() -> dt.datetime:
    """The terminal's clock (the bot's is discord.utils.utcnow, which simcord virtualises)."""
    return dt.datetime.fromtimestamp(time.time(), dt.timezone.utc)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def open_database(settings: Settings | None = None) -> Database:
    """The configured database, upgraded to the newest schema on first use."""
    settings = settings or load_settings()
    database = Database(settings.database_url)
    try:
        database.upgrade()
    except Exception as exc:  # unreachable server, bad credentials, ...
        raise fail(f"cannot open the database {database.engine.url!r}: {reason(exc)}") from None
    return database
