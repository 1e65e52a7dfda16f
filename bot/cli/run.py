"""`postbot run`, `invite`, `demo` and `db upgrade`: the bot itself, the link that adds it to a
server, its offline tour, its schema."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli._base import app, db_app, fail, load_settings, open_database, say
from bot.errors import PostbotError


@app.command()
def run() -> None:
    """Start the bot with DISCORD_TOKEN from the environment or .env."""
    from bot.client import run_bot  # noqa: PLC0415  (discord.py only when needed)

    try:
        run_bot(load_settings())
    except PostbotError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        say("stopped")


@app.command()
def invite(
    client_id: Annotated[
        int | None, typer.Option("--client-id", min=1, help="The application's id (developer portal -> General Information); works offline.")
    ] = None,
) -> None:
    """Print the link that adds the bot to a server, with the slash commands and exactly the permissions it needs.

    Without --client-id the id is asked of Discord with DISCORD_TOKEN."""
    from bot.client import application_id, invite_url  # noqa: PLC0415  (discord.py only when needed)

    if client_id is None:
        token = load_settings().discord_token
        if not token:
            raise fail("give --client-id (developer portal -> General Information -> Application ID) or set DISCORD_TOKEN")
        try:
            client_id = application_id(token)
        except PostbotError as exc:
            raise fail(f"{exc} Or give --client-id to work offline.") from None
    say(invite_url(client_id))


@app.command()
def demo(
    week: Annotated[
        bool, typer.Option("--week", help="A scripted week in a server: digests at 08:00 Europe/Berlin, a watched feed with a role ping and threads, a saved comment, a search.")
    ] = False,
) -> None:
    """Show the real bot answering slash commands in a simulated Discord server (no token needed)."""
    import asyncio  # noqa: PLC0415

    try:
        from bot.demo import run_demo, run_week  # noqa: PLC0415
    except ImportError as exc:
        raise fail(f"the demo needs the demo extra: pip install -e '.[demo]' ({exc})") from None
    if not asyncio.run((run_week if week else run_demo)(say)):
        raise fail("no demo command is available")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    say(f"database at revision {open_database().current_revision()}")
