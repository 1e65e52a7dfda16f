"""`postbot load`, `posts`, `digest`, `search`, `export`: the thread store from the terminal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.cli import _base as base
from bot.cli._base import Server, app, console, errors, fail, load_settings, open_database, say
from bot.errors import PostbotError


@app.command()
def load(
    sources: Annotated[list[str], typer.Argument(help="Post files, feed files, treaty texts, directories (recursively) or feed URLs.")],
    server: Annotated[int | None, typer.Option("--server", min=1, help="Load into this server's scope (default: the library, or the file's own Server: line).")] = None,
) -> None:
    """Load posts (with their comments) and treaty texts; report what was loaded, updated, unchanged or failed."""
    from bot.services.loading import load as load_sources  # noqa: PLC0415  (keeps --help fast)
    from bot.services.sources import expand_sources  # noqa: PLC0415

    database = open_database()
    expanded = expand_sources(sources)
    columns = (TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=True, disable=len(expanded) < 20) as progress:
        task = progress.add_task("load", total=len(expanded))
        report = load_sources(database, sources=expanded, scope=server, now=base.utcnow(), progress=lambda _result: progress.advance(task))
    for warning in report.warnings:
        say(f"warning: {warning}", to=errors)
    for skipped in report.skipped:
        say(f"skipped: {skipped.source}: {skipped.skipped}", to=errors)
    for failure in report.failed:
        say(f"failed: {failure.located()}", to=errors)
    say(report.summary())
    if report.failed:
        raise typer.Exit(1)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def paging_line(*, shown: int, total: int, offset: int) -> str:
    """"showing 20 of 106, newest first; --offset 20 for more": what a page holds and how to see the next."""
    if not shown:
        return f"no posts from the {ordinal(offset + 1)} on; there are {total}" if total else "no posts yet; load some with `postbot load`"
    start = f" (from the {ordinal(offset + 1)})" if offset else ""
    more = f"; --offset {offset + shown} for more" if offset + shown < total else ""
    return f"showing {shown} of {total}{start}, newest first{more}"


@app.command()
def posts(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many posts to show.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (newest first).")] = 0,
    server: Server = None,
) -> None:
    """List the stored posts, newest first (every post, or those one server sees)."""
    from bot.render import format_date  # noqa: PLC0415
    from bot.store.posts import count_posts, list_posts  # noqa: PLC0415

    with open_database().session() as session:
        total = count_posts(session, scope=server)
        rows = list_posts(session, scope=server, limit=limit, offset=offset)
    if rows:
        table = Table(title=f"{total} posts" + (f" seen in server {server}" if server else ""))
        for column in ("id", "date", "title", "source", "comments"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(str(row.id), format_date(row.date), row.title, row.source or "", str(row.comment_count))
        console.print(table)
    say(paging_line(shown=len(rows), total=total, offset=offset))


@app.command()
def digest(
    date: Annotated[str | None, typer.Option("--date", help="Local date YYYY-MM-DD (default: today).")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA timezone (default: DEFAULT_TIMEZONE).")] = None,
    server: Server = None,
) -> None:
    """Print the digest of the posts loaded on a local date, as the bot would summarise them."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from bot.render.digest import digest_text  # noqa: PLC0415
    from bot.services.digest import digest_for_date, parse_timezone  # noqa: PLC0415

    settings = load_settings()
    try:
        zone = parse_timezone(timezone or settings.default_timezone)
    except PostbotError as exc:
        raise fail(str(exc).replace("`", "")) from None
    try:
        day = dt.date.fromisoformat(date) if date else base.utcnow().astimezone(ZoneInfo(zone)).date()
    except ValueError:
        raise fail(f"--date {date!r} is not a date; use YYYY-MM-DD") from None
    say(digest_text(digest_for_date(open_database(settings), day=day, timezone=zone, scope=server)))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find; quotes and operators are just words.")],
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many matches to show.")] = 20,
    server: Server = None,
) -> None:
    """Full-text search over posts, comments and treaty articles, best matches first."""
    from bot.render.posts import belongs_to, snippet_text  # noqa: PLC0415
    from bot.services.search import search as search_store  # noqa: PLC0415

    try:
        hits = search_store(open_database(), query=query, limit=limit, scope=server)
    except PostbotError as exc:
        raise fail(str(exc)) from None
    if not hits:
        say("No matches.")
    for number, hit in enumerate(hits, 1):
        say(f"{number}. {belongs_to(hit)}")
        say(f"   {snippet_text(hit.snippet)}")


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
    say(f"{len(written)} posts written to {out}")
