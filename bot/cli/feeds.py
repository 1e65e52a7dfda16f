"""`postbot feed add|list|remove|poll`: watched feeds from the terminal (announcing is the bot's job)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli import _base as base
from bot.cli._base import console, fail, feed_app, load_settings, open_database, say
from bot.errors import PostbotError


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
            interval_minutes=interval or settings.feed_poll_minutes, now=base.utcnow(),
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
    """Poll feeds now and load their new entries; a server's new entries are announced at the bot's next tick."""
    import asyncio  # noqa: PLC0415

    from bot import net  # noqa: PLC0415
    from bot.addresses import AddressPolicy  # noqa: PLC0415
    from bot.services.feeds import due_sources, get_feed, list_feeds, poll_feeds  # noqa: PLC0415

    database = open_database()
    now = base.utcnow()
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
    due_only = not feeds and not all_feeds

    async def poll():
        async with net.http_session(operator) as http:
            # The CLI tells no server anything: a failing feed is paused by the bot, which says so.
            return await poll_feeds(database, http, operator, chosen, now=now, due_only=due_only, may_pause=False)

    results = asyncio.run(poll())
    polled = {r.feed.source_id for r in results if r.feed is not None}
    for source in {s.id: s for s in chosen}.values():
        if source.id not in polled:
            say(f"{source.url}: skipped, another process is polling it (or just did)")
    for result in results:
        if result.feed is not None:
            f = result.feed
            server = f" (server {f.guild_id})" if f.guild_id is not None else ""
            line = f"feed {f.id} {f.url}{server}: " + (result.status if result.ok else f"failed: {f.last_error}")
            say(line + (" (paused after a day of failures)" if f.paused else ""))
    if not all(r.ok for r in results):
        raise typer.Exit(1)
