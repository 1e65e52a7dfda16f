"""Full-text search over posts, comments and treaty articles.

SQLite: FTS5 external-content tables (`post_fts`, `comment_fts`, `article_fts`) over the rows'
own text, kept current by triggers. PostgreSQL: a generated `search_vector` tsvector column on
each table with a GIN index. Either way the store needs no extra calls to keep search current.
Objects carry "search"/"fts" in their names: tests/test_migrations.py expects these extras.

Note for later migrations: SQLite batch mode recreates a table, which drops its triggers; a
migration that batch-alters post, comment or article must recreate the triggers below.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> the columns it indexes (in FTS column order). Title outweighs body (see bot/services/search.py).
FTS_COLUMNS = {"post": ("title", "body"), "comment": ("text",), "article": ("text",)}
TOKENIZE = "porter unicode61 remove_diacritics 2"

PG_VECTORS = {
    "post": "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')",
    "comment": "to_tsvector('english', text)",
    "article": "to_tsvector('english', text)",
}


def _sqlite_upgrade() -> None:
    for table, columns in FTS_COLUMNS.items():
        fts = f"{table}_fts"
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='id', tokenize='{TOKENIZE}')")
        op.execute(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END"
        )
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _sqlite_downgrade() -> None:
    for table in FTS_COLUMNS:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{event}")
        op.execute(f"DROP TABLE IF EXISTS {table}_fts")


def _postgresql_upgrade() -> None:
    for table, vector in PG_VECTORS.items():
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({vector}) STORED")
        op.execute(f"CREATE INDEX ix_{table}_search ON {table} USING gin (search_vector)")


def _postgresql_downgrade() -> None:
    for table in PG_VECTORS:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_upgrade()
    elif dialect == "postgresql":
        _postgresql_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_downgrade()
    elif dialect == "postgresql":
        _postgresql_downgrade()
