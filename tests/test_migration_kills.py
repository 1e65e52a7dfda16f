"""A SIGKILL anywhere in the first `postbot db upgrade` leaves a database the next one finishes.

Issue #10 item 4: a kill during the first SQLite migration left 13 tables and no alembic_version,
and every later start failed with "table botstate already exists". Each migration now runs in a
transaction of its own, SQLite's DDL included (bot/db.py, bot/migrations/env.py), so a kill
leaves exactly the schema of the last migration that committed.

The kills are deterministic, not sleep races: the child is the real `python -m bot db upgrade`
with a sitecustomize (written here; nothing in bot/ knows about it) that logs every statement
and commit SQLAlchemy executes and SIGKILLs its own process at the N-th. A first run without a
kill lists them; ten points are placed in that list by migration, 0001 to 0006 (and one Ctrl-C).
After each kill the schema is exactly that of a reference database migrated to the revision
recorded, and a second `postbot db upgrade` brings it to head: the schema matches the models,
and a post loads and is found by search. On SQLite every one of these points bricked the
database before each migration had its own transaction (0001's tables committed one by one).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.db import Database, alembic_config, make_engine
from bot.models import LIBRARY
from bot.services.loading import load
from bot.services.search import search
from bot.store.posts import LoadStatus

from .helpers import ROOT, SAMPLE, postgres_admin_url, scratch_postgres
from .test_migrations import _is_search_index

NOW = dt.datetime(2024, 7, 1, 12, tzinfo=dt.timezone.utc)
STEPS_ENV, KILL_ENV, SIGNAL_ENV = "POSTBOT_TEST_STEPS", "POSTBOT_TEST_KILL_AT", "POSTBOT_TEST_SIGNAL"

# Imported by the child interpreter at start-up (its PYTHONPATH has this file's folder first).
HOOK = f'''
import os

if os.environ.get("{STEPS_ENV}"):
    import signal

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _steps = open(os.environ["{STEPS_ENV}"], "w", encoding="utf-8")
    _kill_at = int(os.environ.get("{KILL_ENV}") or 0)
    _signal = getattr(signal, os.environ.get("{SIGNAL_ENV}") or "SIGKILL")
    if _signal == signal.SIGINT:  # Ctrl-C as in a terminal, also when started as a background job (SIGINT ignored)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _count = 0

    def _step(kind, statement=""):
        global _count
        _count += 1
        _steps.write(kind + "\\t" + " ".join(statement.split()) + "\\n")
        _steps.flush()
        if _count == _kill_at:
            os.kill(os.getpid(), _signal)

    @event.listens_for(Engine, "after_cursor_execute")
    def _executed(conn, cursor, statement, parameters, context, executemany):
        _step("execute", statement)

    @event.listens_for(Engine, "commit")
    def _commit(conn):  # before the COMMIT is sent: a kill here loses the transaction
        _step("commit")
'''

# (name, migration, where in it, signal): 0.0 is the migration's first step, 1.0 its commit (a
# kill just before COMMIT). "0002 start" comes right after 0001 committed. Ten SIGKILLs, and a
# Ctrl-C (SIGINT: KeyboardInterrupt unwinds through SQLAlchemy and Alembic).
POINTS = [
    ("0001 start", "0001", 0.0, "SIGKILL"),  # botstate made: the state the issue found bricked
    ("0001 middle", "0001", 0.5, "SIGKILL"),
    ("0001 before commit", "0001", 1.0, "SIGKILL"),  # every table and the version row written
    ("0002 start", "0002", 0.0, "SIGKILL"),
    ("0002 middle", "0002", 0.5, "SIGKILL"),  # SQLite: FTS5 tables (and their shadow tables) half made
    ("0003 middle", "0003", 0.5, "SIGKILL"),  # a batch rebuild of quote
    ("0004 before commit", "0004", 1.0, "SIGKILL"),
    ("0005 early", "0005", 0.3, "SIGKILL"),  # the post table rebuilt, search dropped
    ("0005 late", "0005", 0.7, "SIGKILL"),  # feedsource made, feed rebuilt
    ("0006 middle", "0006", 0.5, "SIGKILL"),
    ("0003 middle, Ctrl-C", "0003", 0.5, "SIGINT"),
]
VERSION = re.compile(r"(?:INSERT INTO|UPDATE) alembic_version\b.*?'(\w+)'")


@dataclass
class Plan:
    """What one uninterrupted first upgrade executes, and the schema after each migration."""

    backend: str
    steps: list[str]  # "kind<TAB>statement", in order
    spans: dict[str, tuple[int, int]]  # revision -> (its first step, its last: the commit), indexes into steps
    schemas: dict[str | None, list[tuple]]  # revision (None: nothing yet) -> schema_of()
    hook: Path

    def kill_index(self, revision: str, where: float) -> int:
        first, last = self.spans[revision]
        return first + round(where * (last - first))

    def revision_after_kill(self, index: int) -> str | None:
        """The revision of the last commit before step `index` (the killed step itself never finishes)."""
        left = written = None
        for step in self.steps[:index]:
            if version := VERSION.search(step):
                written = version.group(1)
            elif step.startswith("commit"):
                left = written
        return left


def postbot(
    url: str, workdir: Path, hook: Path, steps: Path | None = None, kill_at: int = 0, kill_with: str = "SIGKILL"
) -> subprocess.CompletedProcess:
    """`postbot db upgrade` as its own process, with the hook when `steps` is given."""
    env = {k: v for k, v in os.environ.items() if k not in (STEPS_ENV, KILL_ENV, SIGNAL_ENV)}
    path = [str(hook), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]  # ROOT: this tree's bot, not an installed one
    env.update(DATABASE_URL=url, PYTHONPATH=os.pathsep.join(path))
    if steps is not None:
        env.update({STEPS_ENV: str(steps), KILL_ENV: str(kill_at), SIGNAL_ENV: kill_with})
    return subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )


POSTGRES_SCHEMA = """
SELECT 'column', table_name || '.' || column_name,
       concat_ws(' ', data_type, is_nullable, column_default, generation_expression)
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
"""


def schema_of(url: str) -> list[tuple]:
    """Every table, column, index, constraint, trigger and virtual table, alembic_version aside."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            if database.dialect == "sqlite":
                rows = connection.execute(
                    text("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
                ).all()
            else:
                rows = connection.execute(text(POSTGRES_SCHEMA)).all()
    finally:
        database.dispose()
    return sorted(tuple(map(unordered_sql, row)) for row in rows if "alembic_version" not in str(row))


def unordered_sql(sql: object) -> tuple[str, ...]:
    """A statement as its comma-separated parts, sorted: a batch rebuild lists a table's keys in any order."""
    return tuple(sorted(part.strip().rstrip(") \n\t") for part in str(sql).split(",")))


def outline(steps: list[str]) -> tuple[int, list[tuple[int, str]]]:
    """How many steps, and where the commits and version updates are (a batch rebuild makes its indexes in any order)."""
    return len(steps), [(i, step) for i, step in enumerate(steps) if step.startswith("commit") or VERSION.search(step)]


def schemas_by_revision(url: str) -> dict[str | None, list[tuple]]:
    """A reference database migrated one revision at a time, its schema after each."""
    schemas: dict[str | None, list[tuple]] = {None: schema_of(url)}
    engine = make_engine(url, migrating=True)
    try:
        config = alembic_config(engine)
        for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions())):
            command.upgrade(config, script.revision)
            schemas[script.revision] = schema_of(url)
    finally:
        engine.dispose()
    return schemas


def spans_of(steps: list[str]) -> dict[str, tuple[int, int]]:
    """Each migration's steps: from the one after the previous migration's (0001: after alembic_version is
    made) to its version update, or to the commit right after it."""
    first = next(i for i, step in enumerate(steps) if "CREATE TABLE alembic_version" in step) + 1
    spans: dict[str, tuple[int, int]] = {}
    for i, step in enumerate(steps):
        if version := VERSION.search(step):
            last = i + 1 if i + 1 < len(steps) and steps[i + 1].startswith("commit") else i
            spans[version.group(1)] = (first, last)
            first = last + 1
    return spans


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def plan(request, tmp_path_factory):
    """One uninterrupted first upgrade, logged, and the reference schemas, per backend."""
    folder = tmp_path_factory.mktemp(f"kills-{request.param}")
    hook = folder / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    if request.param == "sqlite":
        yield _plan("sqlite", folder, hook, f"sqlite:///{folder / 'whole.db'}", f"sqlite:///{folder / 'reference.db'}")
        return
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("TEST_DATABASE_URL not set")
    with scratch_postgres(admin, "kills") as whole, scratch_postgres(admin, "kills") as reference:
        yield _plan("postgresql", folder, hook, whole, reference)


def _plan(backend: str, folder: Path, hook: Path, whole: str, reference: str) -> Plan:
    log = folder / "whole.steps"
    result = postbot(whole, folder, hook, steps=log)
    assert result.returncode == 0, result.stderr
    steps = log.read_text(encoding="utf-8").splitlines()
    spans = spans_of(steps)
    revisions = [s.revision for s in reversed(list(ScriptDirectory.from_config(alembic_config(None)).walk_revisions()))]
    assert list(spans) == revisions, f"every migration is seen: {spans}"
    return Plan(backend, steps, spans, schemas_by_revision(reference), hook)


@pytest.fixture
def fresh_url(plan, request, tmp_path) -> str:
    if plan.backend == "sqlite":
        return f"sqlite:///{tmp_path / 'postbot.db'}"
    return request.getfixturevalue("empty_postgres_url")


@pytest.mark.parametrize(("revision", "where", "kill_with"), [p[1:] for p in POINTS], ids=[p[0] for p in POINTS])
def test_a_kill_in_the_first_upgrade_leaves_a_database_the_next_upgrade_finishes(
    plan, fresh_url, tmp_path, revision, where, kill_with
):
    index = plan.kill_index(revision, where)
    log = tmp_path / "killed.steps"
    killed = postbot(fresh_url, tmp_path, plan.hook, steps=log, kill_at=index + 1, kill_with=kill_with)
    if kill_with == "SIGKILL":
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    else:
        assert killed.returncode not in (0, -signal.SIGKILL) and "database at revision" not in killed.stdout, killed.stderr
    steps = log.read_text(encoding="utf-8").splitlines()
    assert outline(steps[: index + 1]) == outline(plan.steps[: index + 1]), "stopped where planned"
    # After a Ctrl-C only the migration lock's release runs (a SIGKILL leaves PostgreSQL to drop it).
    assert [s for s in steps[index + 1 :] if "pg_advisory_unlock" not in s] == []

    database = Database(fresh_url)
    try:
        # The old schema or the new one: exactly what the last committed migration made.
        left = plan.revision_after_kill(index)
        assert database.current_revision() == left
        assert schema_of(fresh_url) == plan.schemas[left]

        again = postbot(fresh_url, tmp_path, plan.hook)
        assert again.returncode == 0, again.stderr
        head = ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()
        assert f"database at revision {head}" in again.stdout
        assert_usable_at_head(database, head, plan.schemas[head])
    finally:
        database.dispose()


def assert_usable_at_head(database: Database, head: str, schema: list[tuple]) -> None:
    """At the newest revision, the schema the models describe, and a post loads and is found."""
    assert database.current_revision() == head
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": False}), SQLModel.metadata)
    assert [d for d in diff if not _is_search_index(d)] == []
    assert schema_of(database.url) == schema  # the search tables and triggers too

    report = load(database, sources=[str(SAMPLE)], now=NOW)
    assert report.count(LoadStatus.LOADED) == 1, report.summary()
    hits = search(database, query="Putin Kim", scope=LIBRARY)
    assert [hit.kind for hit in hits][:1] == ["post"] and "Putin" in hits[0].title
