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
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import NullPool, QueuePool, StaticPool
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
# PostgreSQL: connections this process keeps (Settings.database_pool_size; it never opens more), how
# long a new one may take, and how long a use case waits for a free one.
POOL_SIZE = 5
CONNECT_TIMEOUT = 10
POOL_TIMEOUT = 30.0
# When PostgreSQL stops answering while the bot runs (a restart, a fail-over, the network), a use
# case is tried again after these pauses before its error is raised (a command then apologises, a
# loop's tick fails and the next tick tries again). A use case is one transaction (or several that
# are each safe to repeat: claims and leases), so a connection lost midway rolled its work back.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
MIGRATION_LOCK = 0x706F7374626F74  # pg_advisory_lock key ("postbot"): one process migrates at a time


def reason(exc: BaseException) -> str:
    """The first line of a database error (the driver's own message), without SQLAlchemy's notes."""
    text = str(getattr(exc, "orig", None) or exc)
    return next((line.strip() for line in text.splitlines() if line.strip()), exc.__class__.__name__)


def make_engine(url: str, *, migrating: bool = False, pool_size: int = POOL_SIZE) -> Engine:
    """An engine tuned per backend: SQLite gets WAL, foreign keys and a busy timeout.

    `migrating`: an engine for Alembic alone. On SQLite it makes DDL transactional (pysqlite
    otherwise runs CREATE/ALTER outside any transaction, so a kill mid-migration left half a
    schema) and turns foreign keys off, as a table rebuild in batch mode needs (dropping the old
    table would cascade to every row that refers to it).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if migrating:
            return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT})
        return create_engine(
            url, pool_pre_ping=True, pool_size=pool_size, max_overflow=0, pool_timeout=POOL_TIMEOUT,
            connect_args={"connect_timeout": CONNECT_TIMEOUT},
        )
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

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE, retry_delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        # SQLite is a local file: an error there is not a server that went away.
        self.retry_delays = retry_delays if self.engine.dialect.name == "postgresql" else ()
        self._upgraded = False
        self._lock = threading.Lock()
        self._helpers: ThreadPoolExecutor | None = None  # side_by_side's, made on first use

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

    def side_by_side(self, *parts: Callable[[Session], T]) -> list[T]:
        """Each `part(session)` in a session of its own, at the same time, their results in order:
        read-only halves of one use case that the database answers side by side (on PostgreSQL each
        on its own backend, so on its own core). The first runs in this thread.

        The caller must hold no connection while it waits: then a part only ever waits for the pool
        holding none itself, so parts of concurrent calls cannot deadlock on a full pool. Where the
        store has a single connection (SQLite in memory) they run one after another."""
        if len(parts) < 2 or isinstance(self.engine.pool, StaticPool):
            return [self._read(part) for part in parts]
        with self._lock:
            if self._helpers is None:
                self._helpers = ThreadPoolExecutor(self.engine.pool.size(), thread_name_prefix="postbot-db-part")
        others = [self._helpers.submit(self._read, part) for part in parts[1:]]
        try:
            first = self._read(parts[0])
        finally:
            wait(others)  # none outlives the call, also when the first failed
        return [first, *(other.result() for other in others)]

    def _read(self, part: Callable[[Session], T]) -> T:
        with self.session() as session:
            return part(session)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration; cheap when it already is."""
        with self._lock:
            if self._upgraded:
                return
            config = alembic_config(self.engine)
            head = ScriptDirectory.from_config(config).get_current_head()
            with self._migration_lock():  # several bot processes may start at once on one PostgreSQL
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

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """On PostgreSQL a session advisory lock, so a second process waits and then finds the schema current."""
        if self.dialect != "postgresql":
            yield
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")

    def ping(self) -> None:
        """One round trip (SELECT 1); raises when the database does not answer."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def pool_status(self) -> dict[str, int] | None:
        """Connections of the pool: its size, in use and idle (None for SQLite's one-connection pools)."""
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return None
        return {"size": pool.size(), "in_use": pool.checkedout(), "idle": pool.checkedin()}

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    async def call(self, fn: Callable[Concatenate[Database, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(self, ...)` (a service's use case) in a worker thread; tried again with back-off
        (`RETRY_DELAYS`) while PostgreSQL does not answer."""
        work = functools.partial(fn, self, *args, **kwargs)
        for attempt, delay in enumerate((*self.retry_delays, None), start=1):
            try:
                return await asyncio.to_thread(work)
            except (OperationalError, InterfaceError) as exc:
                if delay is None:
                    raise
                log.warning(
                    "the database did not answer (%s); trying %s again in %.1f s (attempt %d of %d)",
                    reason(exc), getattr(fn, "__name__", "the call"), delay, attempt, len(self.retry_delays) + 1,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        if self._helpers is not None:
            self._helpers.shutdown()
        self.engine.dispose()
