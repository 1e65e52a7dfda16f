"""`postbot treaty load|list`, `article` and `references`: treaty texts, their articles, and what the finder sees."""

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
    if result.cited:
        say("  cited in posts: " + ", ".join(f"Article {label} ({n} post{'s' if n != 1 else ''})" for label, n in result.cited))
    else:
        say("  cited in posts: none of its articles yet")
    say(f"  references to articles found again in all posts: {result.quotes}")


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


def _print_answer(answer) -> None:
    from rich.panel import Panel  # noqa: PLC0415

    from bot.services.views import ArticleSource  # noqa: PLC0415

    subtitle = answer.chapter
    if answer.source == ArticleSource.QUOTE and answer.quoted_in:
        subtitle = f"as quoted in {answer.quoted_in.title} ({answer.quoted_in.date.isoformat()})"
    text = answer.text or "No post quotes its wording yet; the posts below cite it."
    console.print(Panel(text, title=answer.heading, subtitle=subtitle, expand=False), highlight=False, markup=False)
    if answer.note:
        say(f"  note: {answer.note}")
    for post in answer.posts:
        say(f"  cited in: {post.title} ({post.date.isoformat()})  (post {post.id})")
    if answer.post_count > len(answer.posts):
        say(f"  ...and {answer.post_count - len(answer.posts):,} more posts")
    if answer.also:
        say(f"  also: {', '.join(answer.also)} (pick one with --treaty)")


@app.command()
def article(
    number: Annotated[str, typer.Argument(help="The article: 5, V, IV, 2(4), 42.7, 8 bis, or a range such as 3-5.")],
    treaty: Annotated[str | None, typer.Option("--treaty", help="The treaty (name or alias); default: the one posts cite most for it.")] = None,
    server: Server = None,
) -> None:
    """Quote a treaty article (or each of a range): its text, the treaty, and the posts that cite it."""
    from bot.services.articles import quote_articles  # noqa: PLC0415
    from bot.services.views import number_ranges  # noqa: PLC0415

    try:
        found = quote_articles(open_database(), query=number, treaty=treaty, scope=server)
    except PostbotError as exc:
        raise fail(str(exc)) from None
    for answer in found.answers:
        _print_answer(answer)
    if found.missing:
        say(f"  not known: {'Article' if len(found.missing) == 1 else 'Articles'} {number_ranges(list(found.missing))} "
            f"of {found.answers[0].treaty}")


@app.command()
def references(
    file: Annotated[str, typer.Argument(help="A text file, or - for standard input.")],
    as_json: Annotated[bool, typer.Option("--json", help='{"references": [{"number", "paragraph", "treaty", "quote", "start", "end"}]}')] = False,
) -> None:
    """Print the article references the finder sees in a text: number, paragraph, treaty, quote, span.

    Treaties are matched against the catalog (bot/treaties.toml); an unknown one keeps its name as written.
    """
    import json  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from bot.services.treaties import find_references  # noqa: PLC0415
    from bot.services.views import article_label  # noqa: PLC0415

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot read it as UTF-8 text ({exc.__class__.__name__})") from None
    found = find_references(text)
    if as_json:
        rows = [{"number": r.number, "paragraph": r.paragraph, "treaty": r.treaty, "quote": r.quote, "start": r.start, "end": r.end}
                for r in found]
        print(json.dumps({"references": rows}, ensure_ascii=False, indent=2))  # noqa: T201  (plain stdout, no rich wrapping)
        return
    if not found:
        say("No article references found.")
        return
    for r in found:
        where = f"Article {article_label(str(r.number), r.paragraph)}"
        quote = f' “{r.quote}”' if r.quote else ""
        say(f"{r.start}-{r.end}  {where} · {r.treaty or '(treaty unknown)'}{quote}")
