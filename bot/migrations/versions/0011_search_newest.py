"""PostgreSQL: "the newest matches of this word" straight from the search index (issue #17).

The GIN index of a post's and a comment's search vector becomes one on (search_vector, id), with
the btree_gin extension (a contrib module shipped with PostgreSQL, trusted since PostgreSQL 13: the
database's owner may create it). `search_vector @@ q AND id > floor` is then answered inside the
index (bot/store/search.py), instead of reading every match's row. One index replaces the other:
a search on the vector alone uses the two-column index as well.

Without the extension (not installed on the server, or not allowed) the plain GIN indexes stay,
search works as before (a BitmapAnd with the primary key), and the upgrade logs why once.
SQLite: nothing (FTS5 walks its rowids newest first already).

Revision ID: 0011
Revises: 0008
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("bot.migrations")
TABLES = ("post", "comment")


def _btree_gin() -> bool:
    """Create btree_gin if it can be; False (logged) when not. A savepoint keeps a refusal from
    aborting the upgrade's transaction."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS btree_gin"))
    except sa.exc.DBAPIError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        log.warning(
            "PostgreSQL extension btree_gin is not available (%s): search keeps its plain GIN indexes, slower on big "
            "stores; to add the faster ones later, install PostgreSQL's contrib modules and run this migration's "
            "statements (bot/migrations/versions/0011_search_newest.py) by hand", reason,
        )
        return False
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql" or not _btree_gin():
        return
    for table in TABLES:
        op.execute(f"CREATE INDEX ix_{table}_search_newest ON {table} USING gin (search_vector, id)")
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_search ON {table} USING gin (search_vector)")
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_newest")
