"""What the tests share: scratch PostgreSQL databases, the one post builder, the one world, the one user-error check."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import discord
import simcord
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.posts import ParsedComment, ParsedPost
from bot.services.loading import post_row
from bot.services.treaties import extract_quotes
from bot.settings import Settings
from bot.store.posts import upsert_posts

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "2024-06-23-what-putins-meeting-with-kim-jong-un-really-means.txt"
SAMPLE_TITLE = "What Putin’s meeting with Kim Jong-un really means"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = dt.datetime(2024, 7, 1, 12, tzinfo=dt.timezone.utc)
BODY = (
    "The summit opened with a long speech. Delegates argued about the treaty for hours. "
    "Nobody expected a result on the first day. In the evening the ministers met again. "
    "A joint statement followed at midnight. Observers called it a breakthrough."
)


def fixture(*parts: str) -> Path:
    """A file or folder of tests/fixtures (sources in tests/fixtures/README.md); a missing one is an error, not a skip."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"test fixture {path} is missing (it belongs in the repository, see tests/fixtures/README.md)")
    return path


# --------------------------------------------------------------------------- PostgreSQL


def postgres_admin_url() -> str | None:
    """TEST_DATABASE_URL as Settings reads a DATABASE_URL (postgresql:// means psycopg), or None."""
    url = os.environ.get("TEST_DATABASE_URL")
    return Settings(database_url=url).database_url if url else None


def race(url: str, work: Callable[[Database], object], *, expected: tuple[type[BaseException], ...] = ()) -> list:
    """Two "processes" (threads, each with its own engine) run `work(database)` at the same moment;
    their results in finishing order. An `expected` exception is a result (None); any other is
    returned as the exception, since a thread's error would otherwise vanish."""
    barrier = threading.Barrier(2)
    results: list = []

    def one() -> None:
        database = Database(url)
        try:
            database.engine.connect().close()  # connected first, so the two start together
            barrier.wait()
            results.append(work(database))
        except expected:
            results.append(None)
        except Exception as exc:  # noqa: BLE001
            results.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@contextlib.contextmanager
def scratch_postgres(admin_url: str, label: str, *, template: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database (a copy of `template` when given), dropped afterwards."""
    name = f"postbot_{label}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


# --------------------------------------------------------------------------- posts


def add_post(
    db: Database,
    title: str,
    *,
    date: dt.date = dt.date(2024, 6, 23),
    body: str = BODY,
    source: str | None = "RT",
    comments: tuple[tuple[str, str], ...] | int = (),
    link: str | None = None,
    entry_id: str | None = None,
    now: dt.datetime = NOW,
) -> int:
    """Store one post as loading does (its quotes found too); returns its id.

    `comments`: (author, text) pairs, or a count of generated ones ("reader0" says "comment 0").
    """
    pairs = [(f"reader{i}", f"comment {i}") for i in range(comments)] if isinstance(comments, int) else comments
    parsed = ParsedPost(
        date=date,
        title=title,
        headline=None,
        source=source,
        body=body,
        truncated=False,
        comments=[ParsedComment(author=a, text=t, position=i) for i, (a, t) in enumerate(pairs)],
        link=link,
        entry_id=entry_id,
    )
    with db.session() as session:
        _, post_id = upsert_posts(session, rows=[post_row(parsed, loaded_from="test")], now=now)[0]
        extract_quotes(session, post_ids=[post_id], now=now)
    return post_id


# --------------------------------------------------------------------------- the bot in a server


def one_shard(settings: Settings) -> Settings:
    """The settings with a shard count (1 unless set): an AutoShardedBot in simcord needs one, as
    unset it would ask Discord for it."""
    return settings if settings.shard_count else dataclasses.replace(settings, shard_count=1)


@contextlib.asynccontextmanager
async def released(bot):
    """The bot for one test; afterwards what `close()` would release (simcord's teardown does not call it)."""
    try:
        yield bot
    finally:
        await bot.release()


class World:
    """A server with a text channel, two members (alice, bob) and an admin with Manage Server."""

    def __init__(self, env: simcord.Env, *, name: str = "postbot test") -> None:
        self.env = env
        self.bot = env.bot
        self.db: Database = env.bot.database
        self.guild = env.create_guild(name=name)
        self.channel = self.guild.create_text_channel("general")
        admins = self.guild.create_role("admins", permissions=discord.Permissions(manage_guild=True))
        self.alice = self.guild.add_member(env.create_user(f"alice{self.guild.id % 1000}", global_name="Alice A."))
        self.bob = self.guild.add_member(env.create_user(f"bob{self.guild.id % 1000}"))
        self.admin = self.guild.add_member(env.create_user(f"ada{self.guild.id % 1000}"), roles=[admins])

    async def load(self, *paths: Path | str):
        """Load files through the one loading path (the operator's: into the library unless a file says
        otherwise), at simcord's time, so they are new to digests."""
        from bot.services.loading import load  # noqa: PLC0415

        return await self.db.call(load, sources=[str(p) for p in paths], now=self.env.now())

    def add_post(self, title: str, **kwargs) -> int:
        """A post loaded at simcord's time (also from an async fixture, where utcnow() is the real clock)."""
        return add_post(self.db, title, **({"now": self.env.now()} | kwargs))


def shown(result) -> simcord.Message:
    """The message a command answered with: its response, else its first followup."""
    return result.response or result.followups[0]


def assert_user_error(env: simcord.Env, result, text: str) -> None:
    """The member was told `text`, ephemerally, and the bot recorded a UserFacingError (not a bug)."""
    message = shown(result)
    assert result.ephemeral and text in message.content, message.content

    def user_facing(error: BaseException) -> bool:
        cause = getattr(error, "original", None) or error.__cause__ or error
        return isinstance(cause, UserFacingError) and text in str(cause)

    errors = env.errors
    assert any(user_facing(e) for e in errors), errors
