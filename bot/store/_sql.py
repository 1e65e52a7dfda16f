"""SQL building blocks the store modules share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Table, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.models import LIBRARY

IN_LIST = 500  # ids per IN (...) list: bounded statements on every backend


def insert_or_ignore(session: Session, table: type | Table):
    """INSERT that can say ON CONFLICT DO NOTHING (and RETURNING) on both backends."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


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
