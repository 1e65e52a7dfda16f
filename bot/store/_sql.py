"""SQL building blocks the store modules share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Connection, Table, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.models import LIBRARY

IN_LIST = 500  # ids per IN (...) list: bounded statements on every backend


def insert_or_ignore(session: Session, table: type | Table):
    """INSERT that can say ON CONFLICT DO NOTHING (and RETURNING) on both backends."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict]) -> None:
    """One executemany of `rows` (dicts with the same keys) handed to the driver as plain tuples.

    SQLAlchemy's own executemany builds a parameter dict and then a tuple per row through every
    column's type: seconds of a 20k-file load's 200k comments (bench/README.md). Values still go
    through the dialect's bind processor of their column's type (aware datetimes to UTC, dates and
    times as SQLite stores them), once per distinct value. Python-side column defaults are not
    applied: give every column that has one. On PostgreSQL the rows go by COPY (`_copy`).
    """
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    preparer = dialect.identifier_preparer
    into = f"{preparer.format_table(table)} ({', '.join(preparer.format_column(table.c[n]) for n in names)})"
    columns = []
    for name in names:
        values = [row[name] for row in rows]
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None:
            seen: dict = {}
            values = [seen[v] if v in seen else seen.setdefault(v, process(v)) for v in values]
        columns.append(values)
    if dialect.name == "postgresql":
        _copy(connection, f"COPY {into} FROM STDIN", zip(*columns))
    else:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        connection.exec_driver_sql(f"INSERT INTO {into} VALUES ({', '.join([mark] * len(names))})", list(zip(*columns)))


def _copy(connection: Connection, sql: str, rows: Iterable[tuple]) -> None:
    """PostgreSQL's COPY FROM STDIN, in the connection's transaction: the server parses one stream,
    not a statement per row (a 20k-file load's posts stored in 44-45 s instead of 49, bench/README.md).
    SQLAlchemy has no COPY, so psycopg's is used on the pooled connection; its errors are raised
    as SQLAlchemy's, and a lost connection is invalidated, as SQLAlchemy does for its statements."""
    raw = connection.connection
    cursor = raw.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except connection.dialect.loaded_dbapi.Error as exc:
        lost = connection.dialect.is_disconnect(exc, raw, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, connection.dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                  dialect=connection.dialect) from exc
    finally:
        cursor.close()


def chunks(ids: Iterable, size: int = IN_LIST) -> Iterator[list]:
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def visible(column, scope: int | None):
    """The rows a viewer sees: a server (its id) sees the library's and its own; LIBRARY sees the
    library's only (a direct message); None is the operator, who sees everything."""
    if scope is None:
        return true()
    return column.in_(sorted({LIBRARY, scope}))
