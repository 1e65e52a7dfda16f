"""`postbot demo` and `postbot demo --week` as an admin runs them: the real bot in simcord, printed as
Discord shows it. The week (issue #13): a digest at 08:00 Europe/Berlin pinging its role, a watched
feed served over HTTP on 127.0.0.1 announcing an entry with a role ping and its thread, a comment
saved from that thread, and a search finding it; on SQLite (the CLI's) and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.demo import COMMENT, FEED_THURSDAY, run_week

TITLE = FEED_THURSDAY.title


def block(output: list[str], first: str, length: int) -> list[str]:
    """The `length` lines printed from the first line equal to `first`."""
    assert first in output, "\n".join(output)
    start = output.index(first)
    return output[start:start + length]


def check_week(output: list[str]) -> None:
    text = "\n".join(output)
    # The digest, at 08:00 in Berlin, pinging the digest's role.
    assert block(output, "━━ Thu 1 Jan 08:05 · the daily digest at 08:00 Europe/Berlin", 5)[1:] == [
        "#general · postbot · 08:00:",
        "  @Readers",
        "  ▌ Daily digest · Thursday, 1 January 2026",
        "  ▌ 3 new posts since 31 December 2025 08:00.",
    ]
    # The feed's new entry: its card pinging the feed's role, its button and its thread.
    announced = block(output, "━━ Thu 1 Jan 10:05 · a new entry in the watched feed", 12)
    assert announced[1:4] == ["#news · postbot · 10:00:", "  @Readers", f"  ▌ {TITLE}"]
    assert "  ▌ Source: World desk" in announced and "Continue reading" not in text  # the feed's tail is dropped
    assert announced[-2:] == ["  [Discuss]", f"  🧵 postbot started a thread: {TITLE}"]
    # A member's message in that thread is saved as a comment on the post.
    assert block(output, f"🧵 {TITLE} · alice › /comments", 4)[1:] == [
        f"  postbot › ▌ Comments on {TITLE}",
        "  postbot › ▌ Bob · 1 January 2026 10:05 · Discord · #4",
        f"  postbot › ▌ {COMMENT}",
    ]
    # The next digest names the discussed post, linked to its thread.
    friday = block(output, "━━ Fri 2 Jan 08:05 · the daily digest at 08:00 Europe/Berlin", 6)
    assert friday[5] == f"  ▌ Most discussed: {TITLE} (→ its thread) (1 new comment)"
    # A search finds the comment, linked to the thread, with when it was written.
    hit, snippet = block(output, "#general · alice › /search query:faster than anyone", 4)[2:]
    assert hit == f"  postbot › ▌ 1. 💬 comment by Bob · 1 January 2026 10:05 on *{TITLE} (→ its thread)* · post #4"
    assert snippet.rstrip(".") == "  postbot › ▌ > Ratified within days: faster than anyone expected"  # PostgreSQL's snippet ends at the word
    # A quiet day posts nothing; the week ends with the admin's status.
    assert block(output, "━━ Sat 3 Jan 08:05 · the daily digest at 08:00 Europe/Berlin", 2)[1] == (
        "#general · (nothing: no new posts, and this digest is quiet on such days)"
    )
    assert "Last run: 7 January 2026 08:00 (10 hours ago) — no new posts, so nothing was posted (quiet digest)" in text
    # Printed as Discord shows it: no raw mentions, commands or timestamps.
    assert not re.search(r"<@&?\d+>|<#\d+>|</\w|<t:\d+", text), text


def test_the_week_from_the_terminal():
    result = CliRunner().invoke(app, ["demo", "--week"])
    assert result.exit_code == 0, result.output
    check_week(result.output.splitlines())


async def test_the_week_on_postgresql(postgres_url):
    output: list[str] = []
    assert await run_week(output.append, database_url=postgres_url) == 11  # 6 commands, 3 digests, 2 announcements
    check_week(output)


def test_the_tour_without_the_flag_is_unchanged():
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Loaded the sample data: 1 loaded" in result.output
    assert "alice › /article number:4" in result.output and "postbot › ▌" in result.output
    assert "━━" not in result.output  # not the week
