"""`postbot run`, `demo` and `db upgrade`: the bot itself, its offline tour, its schema."""

from __future__ import annotations

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
def demo() -> None:
    """Show the real bot answering slash commands in a simulated Discord server (no token needed)."""
    import asyncio  # noqa: PLC0415

    try:
        from bot.demo import run_demo  # noqa: PLC0415
    except ImportError as exc:
        raise fail(f"the demo needs the demo extra: pip install -e '.[demo]' ({exc})") from None
    if not asyncio.run(run_demo(say)):
        raise fail("no demo command is available")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    say(f"database at revision {open_database().current_revision()}")
