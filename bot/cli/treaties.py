"""`postbot treaty load|list` and `article`: treaty texts and their articles from the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli import _base as base
from bot.cli._base import Server, app, console, fail, open_database, say, treaty_app
from bot.errors import PostbotError


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
        result = load_treaty(open_database(), text=text, name=name, aliases=tuple(alias or ()), now=base.utcnow())
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
