"""The database: engine from DATABASE_URL, short sessions, migrations, and `call` off the event loop.

Store and service code is plain synchronous SQLModel; the bot calls a service through
`Database.call`, which hands the work to a thread so the event loop keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool, StaticPool
from sqlmodel import Session

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# How long a statement waits for SQLite's one write lock before "database is locked". Writers
# hold it for one short transaction (a load commits in batches, services.loading), so a wait is
# normally well under a second; this only bounds a pathological one. Commands that write defer
# first, and a deferred interaction may answer for 15 minutes, so waiting is better than failing.
SQLITE_BUSY_TIMEOUT = 30.0


def make_engine(url: str, *, migrating: bool = False) -> Engine:
    """An engine tuned per backend: SQLite gets WAL, foreign keys and a busy timeout.

    `migrating`: an engine for Alembic alone. On SQLite it makes DDL transactional (pysqlite
    otherwise runs CREATE/ALTER outside any transaction, so a kill mid-migration left half a
    schema) and turns foreign keys off, as a table rebuild in batch mode needs (dropping the old
    table would cascade to every row that refers to it).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **({'poolclass': NullPool} if migrating else {}))
    database = parsed.database or ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        pool = {"poolclass": NullPool} if migrating else {}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}, **pool)
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        if migrating:
            dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN (below) starts every transaction
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'OFF' if migrating else 'ON'}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    if migrating:

        @event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


class Database:
    """One per process: owns the engine; `session()` for store code, `run()` from async code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._upgraded = False
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error (also Ctrl-C)."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def upgrade(self) -> None:
        """Bring the schema to the newest migration; cheap when it already is."""
        with self._lock:
            if self._upgraded:
                return
            config = alembic_config(self.engine)
            head = ScriptDirectory.from_config(config).get_current_head()
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
            if current != head:
                log.info("upgrading database schema %s -> %s", current, head)
                engine = self.engine if self.engine.pool.__class__ is StaticPool else make_engine(self.url, migrating=True)
                try:
                    command.upgrade(alembic_config(engine), "head")
                finally:
                    if engine is not self.engine:
                        engine.dispose()
            self._upgraded = True

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    async def call(self, fn: Callable[Concatenate[Database, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(self, ...)` (a service's use case) in a worker thread."""
        return await asyncio.to_thread(functools.partial(fn, self, *args, **kwargs))

    def dispose(self) -> None:
        self.engine.dispose()
