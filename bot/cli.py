"""The `postbot` command line (typer + rich): the same services the bot's commands use.

User and stored text is printed with rich's markup off, so a path or a title never reads as markup.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.db import Database
from bot.errors import PostbotError
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
        raise fail(f"cannot open the database {database.engine.url!r}: {exc.__class__.__name__}: {exc}") from None
    return database


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


@app.command()
def load(
    sources: Annotated[list[str], typer.Argument(help="Post files, feed files, treaty texts, directories (recursively) or feed URLs.")],
    server: Annotated[int | None, typer.Option("--server", min=1, help="Load into this server's scope (default: the library, or the file's own Server: line).")] = None,
) -> None:
    """Load posts (with their comments) and treaty texts; report what was loaded, updated, unchanged or failed."""
    from bot.services.loading import expand_sources, load as load_sources  # noqa: PLC0415  (keeps --help fast)

    database = open_database()
    expanded = expand_sources(sources)
    columns = (TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=True, disable=len(expanded) < 20) as progress:
        task = progress.add_task("load", total=len(expanded))
        report = load_sources(database, sources=expanded, scope=server, now=utcnow(), progress=lambda _result: progress.advance(task))
    for warning in report.warnings:
        say(f"warning: {warning}", to=errors)
    for failure in report.failed:
        say(f"failed: {failure.located()}", to=errors)
    say(report.summary())
    if report.failed:
        raise typer.Exit(1)


@app.command()
def posts(
    limit: Annotated[int, typer.Option(help="How many posts to show.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many (newest first).")] = 0,
    server: Server = None,
) -> None:
    """List the stored posts, newest first (every post, or those one server sees)."""
    from bot.store.posts import count_posts, list_posts  # noqa: PLC0415

    with open_database().session() as session:
        total = count_posts(session, scope=server)
        rows = list_posts(session, scope=server, limit=limit, offset=offset)
    table = Table(title=f"{total} posts" + (f" seen in server {server}" if server else ""))
    for column in ("id", "date", "title", "source", "comments"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), row.date.isoformat(), row.title, row.source or "", str(row.comment_count))
    console.print(table)


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
        day = dt.date.fromisoformat(date) if date else utcnow().astimezone(ZoneInfo(zone)).date()
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


@treaty_app.command("load")
def treaty_load(
    file: Annotated[Path, typer.Argument(help="A full treaty text: title, optional preamble, 'Article N' headings.")],
    name: Annotated[str, typer.Option("--name", help="The treaty's name; a known treaty of that name gets the text.")],
    alias: Annotated[list[str] | None, typer.Option("--alias", help="Another name users may type (repeatable).")] = None,
) -> None:
    """Load (or re-load) a treaty's full text; quotes in posts then resolve to it."""
    from bot.services.articles import load_treaty  # noqa: PLC0415

    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot read it as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        result = load_treaty(open_database(), text=text, name=name, aliases=tuple(alias or ()), now=utcnow())
    except PostbotError as exc:
        raise fail(f"{file}: {exc}") from None
    merged = f" (--name {result.requested_name!r} matched this known treaty; kept as an alias)" if result.requested_name else ""
    replaced = f", replacing {result.replaced}" if result.replaced else ""
    say(f"{result.name}{merged}: {len(result.articles)} articles loaded{replaced}")
    say(f"  title: {result.title}")
    say(f"  articles: {', '.join(result.articles)}")
    if result.aliases:
        say(f"  aliases: {', '.join(result.aliases)}")
    say(f"  {result.quotes} quotes in posts re-resolved")


@treaty_app.command("list")
def treaty_list(server: Server = None) -> None:
    """The treaties known (text loaded or quoted in posts) and their articles."""
    from bot.services.articles import NOTHING_KNOWN, list_articles  # noqa: PLC0415
    from bot.services.views import number_ranges  # noqa: PLC0415

    treaties = list_articles(open_database(), scope=server)
    if not treaties:
        say(NOTHING_KNOWN)
        return
    table = Table(title=f"{len(treaties)} treaties")
    for column in ("treaty", "text", "articles", "cited (posts)"):
        table.add_column(column, overflow="fold")
    for t in treaties:
        cited = ", ".join(f"{a.number} ({a.post_count})" for a in t.articles if a.post_count)
        table.add_row(t.name, "loaded" if t.has_text else "quotes only", number_ranges(t.numbers), cited)
    console.print(table)


@app.command()
def article(
    number: Annotated[int, typer.Argument(help="The article's number (3 also finds Article III).")],
    treaty: Annotated[str | None, typer.Option("--treaty", help="The treaty (name or alias); default: the most recently discussed.")] = None,
    server: Server = None,
) -> None:
    """Quote a treaty article: its text, the treaty, and the posts that cite it."""
    from rich.panel import Panel  # noqa: PLC0415

    from bot.services.articles import quote_article  # noqa: PLC0415
    from bot.services.views import ArticleSource  # noqa: PLC0415

    try:
        answer = quote_article(open_database(), number=number, treaty=treaty, scope=server)
    except PostbotError as exc:
        raise fail(str(exc)) from None
    subtitle = answer.chapter
    if answer.source == ArticleSource.QUOTE and answer.quoted_in:
        subtitle = f"as quoted in {answer.quoted_in.title} ({answer.quoted_in.date.isoformat()})"
    text = answer.text or "No post quotes its wording yet; the posts below cite it."
    console.print(Panel(text, title=answer.heading, subtitle=subtitle, expand=False), highlight=False, markup=False)
    for post in answer.posts:
        say(f"  cited in: {post.title} ({post.date.isoformat()})  (post {post.id})")
    if answer.post_count > len(answer.posts):
        say(f"  ...and {answer.post_count - len(answer.posts):,} more posts")
    if answer.also_in:
        say(f"  also in: {'; '.join(answer.also_in)} (pick one with --treaty)")


@feed_app.command("add")
def feed_add(
    url: Annotated[str, typer.Argument(help="The feed's http(s) address.")],
    interval: Annotated[int | None, typer.Option("--interval", min=1, help="Minutes between checks (default FEED_POLL_MINUTES).")] = None,
) -> None:
    """Watch a feed from the command line (no Discord channel); `postbot feed poll` or the bot loads it."""
    from bot.services.feeds import add_feed  # noqa: PLC0415

    settings = load_settings()
    try:
        feed, created = add_feed(
            open_database(settings), url=url, guild_id=None, channel_id=None,
            interval_minutes=interval or settings.feed_poll_minutes, now=utcnow(),
        )
    except PostbotError as exc:
        raise fail(str(exc)) from None
    say(f"{'watching' if created else 'updated'} feed {feed.id}: {feed.url} (every {feed.interval_minutes} minutes)")


@feed_app.command("list")
def feed_list() -> None:
    """Every watched feed (from any server or the CLI) and how it is doing."""
    from bot.services.feeds import list_feeds  # noqa: PLC0415

    feeds = list_feeds(open_database())
    if not feeds:
        say("No feeds are watched; add one with `postbot feed add URL`.")
        return
    table = Table(title=f"{len(feeds)} feeds")
    for column in ("id", "url", "server", "every", "last check", "status"):
        table.add_column(column, overflow="fold")
    for f in feeds:
        state = "paused: " if f.paused else ""
        status = state + (f"{f.last_status}: {f.last_error}" if f.last_error else f.last_status or "not polled yet")
        last = f.last_polled_at.strftime("%Y-%m-%d %H:%M UTC") if f.last_polled_at else "never"
        table.add_row(str(f.id), f.url, str(f.guild_id or "cli"), f"{f.interval_minutes} min", last, status)
    console.print(table)


@feed_app.command("remove")
def feed_remove(feed: Annotated[str, typer.Argument(help="The feed's id or URL.")]) -> None:
    """Stop watching a feed; its posts stay in the store."""
    from bot.services.feeds import remove_feed  # noqa: PLC0415

    try:
        removed = remove_feed(open_database(), guild_id=None, ref=feed)
    except PostbotError as exc:
        raise fail(str(exc)) from None
    say(f"stopped watching feed {removed.id}: {removed.url}")


@feed_app.command("poll")
def feed_poll(
    feeds: Annotated[list[str] | None, typer.Argument(help="Feed ids or URLs (default: every feed that is due).")] = None,
    all_feeds: Annotated[bool, typer.Option("--all", help="Poll every feed that is not paused, due or not.")] = False,
) -> None:
    """Poll feeds now and load their new entries; a server's new entries are left for the bot to announce."""
    import asyncio  # noqa: PLC0415

    from bot import net  # noqa: PLC0415
    from bot.addresses import AddressPolicy  # noqa: PLC0415
    from bot.services.feeds import due_sources, get_feed, list_feeds, poll_feeds  # noqa: PLC0415

    database = open_database()
    now = utcnow()
    try:
        if feeds:
            chosen = [get_feed(database, guild_id=None, ref=ref).source for ref in feeds]
        elif all_feeds:
            chosen = [f.source for f in list_feeds(database) if not f.paused]
        else:
            chosen = due_sources(database, now=now)
    except PostbotError as exc:
        raise fail(str(exc)) from None
    if not chosen:
        say("No feed is due (use --all to poll them anyway).")
        return
    operator = AddressPolicy(allow_all=True)  # the operator may fetch from anywhere

    async def poll():
        async with net.http_session(operator) as http:
            return await poll_feeds(database, http, operator, chosen, now=now, announces=False)

    results = asyncio.run(poll())
    for result in results:
        if result.feed is not None:
            f = result.feed
            server = f" (server {f.guild_id})" if f.guild_id is not None else ""
            line = f"feed {f.id} {f.url}{server}: " + (result.status if result.ok else f"failed: {f.last_error}")
            say(line + (" (paused after a day of failures)" if f.paused else ""))
    if not all(r.ok for r in results):
        raise typer.Exit(1)
