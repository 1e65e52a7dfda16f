"""The `postbot` command line (typer + rich): the same services the bot's commands use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.db import Database
from bot.settings import Settings, SettingsError

app = typer.Typer(help="postbot: a Discord bot for discussing posts, and its thread store.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


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
        raise fail(f"cannot open the database {database.engine.url!r}: {exc.__class__.__name__}: {exc}") from None
    return database


@app.command()
def run() -> None:
    """Start the bot with DISCORD_TOKEN from the environment or .env."""
    import asyncio  # noqa: PLC0415

    import discord  # noqa: PLC0415

    from bot.client import create_bot  # noqa: PLC0415

    settings = load_settings()
    if not settings.discord_token:
        raise fail("DISCORD_TOKEN is not set: put the bot's token in .env (see .env.example), or try `postbot demo`.")
    discord.utils.setup_logging(level=settings.log_level_number)
    bot = create_bot(settings)

    async def start() -> None:
        async with bot:
            await bot.start(settings.discord_token)

    try:
        asyncio.run(start())
    except discord.LoginFailure:
        raise fail("Discord rejected DISCORD_TOKEN: copy a fresh token from the developer portal (Bot -> Reset Token).") from None
    except discord.PrivilegedIntentsRequired:
        raise fail(
            "the Message Content intent is not enabled for this bot: switch it on in the developer portal "
            "(Bot -> Privileged Gateway Intents) or set MESSAGE_CONTENT_INTENT=false."
        ) from None
    except KeyboardInterrupt:
        console.print("stopped")


@app.command()
def demo() -> None:
    """Show the real bot answering slash commands in a simulated Discord server (no token needed)."""
    import asyncio  # noqa: PLC0415

    try:
        from bot.demo import run_demo  # noqa: PLC0415
    except ImportError as exc:
        raise fail(f"the demo needs the demo extra: pip install -e '.[demo]' ({exc})") from None
    shown = asyncio.run(run_demo(lambda line: console.print(line, highlight=False, markup=False)))
    if not shown:
        raise fail("no demo command is available")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    database = open_database()
    console.print(f"database at revision [bold]{database.current_revision()}[/bold]")


@app.command()
def load(
    sources: Annotated[list[str], typer.Argument(help="Post files, directories (recursively), feed files or feed URLs.")],
) -> None:
    """Load posts and their comments into the store; report what was loaded, updated, unchanged or failed."""
    from bot.services.load import LoadReport, expand_sources, load_source  # noqa: PLC0415  (keeps --help fast)

    database = open_database()
    report = LoadReport()
    expanded = expand_sources(sources)
    columns = (TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=True, disable=len(expanded) < 20) as progress:
        task = progress.add_task("load", total=len(expanded))
        for source in expanded:
            report.results.append(load_source(database, source))
            progress.advance(task)
    for warning in report.warnings:
        errors.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for failure in report.failed:
        errors.print(f"[red]failed:[/red] {failure.describe_error()}", highlight=False)
    console.print(report.summary(), highlight=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def posts(
    limit: Annotated[int, typer.Option(help="How many posts to show.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many (newest first).")] = 0,
) -> None:
    """List the stored posts, newest first."""
    from bot.store import count_posts, list_posts  # noqa: PLC0415

    database = open_database()
    with database.session() as session:
        total = count_posts(session)
        rows = list_posts(session, limit=limit, offset=offset)
    table = Table(title=f"{total} posts")
    for column in ("id", "date", "title", "source", "comments"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), row.date.isoformat(), row.title, row.source or "", str(row.comment_count))
    console.print(table)


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")] = Path("export"),
    format: Annotated[str, typer.Option("--format", help="text (the post file layout) or json.")] = "text",
) -> None:
    """Write every post with its comments (original, then Discord) back to files."""
    from bot.services.export import FORMATS, export_posts  # noqa: PLC0415

    if format not in FORMATS:
        raise fail(f"unknown format {format!r}; use one of: {', '.join(FORMATS)}")
    written = export_posts(open_database(), out_dir=out, fmt=format)
    console.print(f"{len(written)} posts written to {out}", highlight=False)

