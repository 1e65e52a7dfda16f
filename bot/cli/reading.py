"""`postbot post show ID` and `postbot comments ID`: one post, and its comments, from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli._base import Server, app, fail, open_database, say
from bot.errors import PostbotError

post_app = typer.Typer(help="One stored post.", no_args_is_help=True)
app.add_typer(post_app, name="post")

PostId = Annotated[int, typer.Argument(min=1, help="The post's number, as `postbot posts` and /search show it.")]


def _card(database, post_id: int, server: int | None):
    from bot.services.posts import show_post  # noqa: PLC0415

    try:
        return show_post(database, post_id=post_id, scope=server)
    except PostbotError:
        seen = f" that server {server} sees" if server else ""
        raise fail(f"no post #{post_id}{seen}; `postbot posts` lists them") from None


@post_app.command("show")
def post_show(post_id: PostId, server: Server = None) -> None:
    """A post at a glance, as /post show tells it: date, source, summary, articles it quotes, comments."""
    from bot.render.posts import card_text  # noqa: PLC0415

    say("\n".join(card_text(_card(open_database(), post_id, server))))


@app.command()
def comments(post_id: PostId, server: Server = None) -> None:
    """A post's comments: its own in file order, then those from Discord (all, or one server's)."""
    from bot.render.posts import comments_text  # noqa: PLC0415
    from bot.services.comments import list_comments  # noqa: PLC0415

    database = open_database()
    card = _card(database, post_id, server)
    say("\n".join(comments_text(card.title, list_comments(database, post_id=post_id, scope=server))))
