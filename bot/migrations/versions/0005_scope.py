"""Server scoping: posts, comments and quotes get a scope; feeds are fetched once per URL.

- post.scope, comment.scope, quote.scope: 0 is the library (what the operator loaded), else the
  server's id. Existing posts and their own comments become library; existing Discord comments
  keep the server they were written in. A post's key is unique within its scope.
- feedsource holds what belongs to a URL (conditional GET state, back-off, pause), feed is a
  server's subscription to it, and feedentry what each subscription has seen, so every server
  watching a URL is told of each entry once whatever else loaded it first. Entries already
  stored count as seen, so the upgrade announces nothing old.
- SQLite's search tables get a scope column (an indexed token, so a search filters inside the
  full-text index); the post table is rebuilt to drop its old unique key, so its search
  triggers are recreated.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import bot.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Names for SQLite's unnamed constraints, so batch mode can drop them.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
TOKENIZE = "porter unicode61 remove_diacritics 2"
FTS = {"post": ("title", "body", "scope"), "comment": ("text", "scope"), "article": ("text",)}
FEED_STATE = ("etag", "last_modified", "last_polled_at", "next_poll_at", "last_status", "last_error", "failures", "failing_since", "paused")


def _drop_search(dialect: str) -> None:
    if dialect != "sqlite":
        return
    for table in ("post", "comment"):
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{event}")
        op.execute(f"DROP TABLE IF EXISTS {table}_fts")


def _create_search(dialect: str) -> None:
    """SQLite's external-content FTS5 tables and the triggers that keep them current (as 0002, plus scope)."""
    if dialect != "sqlite":
        return
    for table in ("post", "comment"):
        columns = FTS[table]
        fts, cols = f"{table}_fts", ", ".join(columns)
        new, old = ", ".join(f"new.{c}" for c in columns), ", ".join(f"old.{c}" for c in columns)
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='id', tokenize='{TOKENIZE}')")
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END")
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


def _scope_column() -> sa.Column:
    return sa.Column("scope", sa.BigInteger(), nullable=False, server_default="0")


def _posts(dialect: str) -> None:
    if dialect == "sqlite":
        with op.batch_alter_table("post", naming_convention=NAMING, recreate="always") as batch:
            batch.add_column(_scope_column())
            batch.drop_constraint("uq_post_key", type_="unique")
            batch.create_unique_constraint("uq_post_scope_key", ["scope", "key"])
    else:
        op.add_column("post", _scope_column())
        op.drop_constraint("post_key_key", "post", type_="unique")
        op.create_unique_constraint("uq_post_scope_key", "post", ["scope", "key"])
    op.create_index("ix_post_scope_date", "post", ["scope", "date", "id"])
    op.drop_index("ix_post_content_hash", "post")
    op.create_index("ix_post_content_hash", "post", ["content_hash", "scope"])

    op.add_column("comment", _scope_column())
    op.execute("UPDATE comment SET scope = discord_guild_id WHERE discord_guild_id IS NOT NULL AND origin = 'discord'")
    op.create_index("ix_comment_created_scope", "comment", ["created_at", "scope"])

    op.add_column("quote", _scope_column())
    op.drop_index("ix_quote_article", "quote")
    op.drop_index("ix_quote_treaty_date", "quote")
    op.create_index("ix_quote_article", "quote", ["treaty_id", "number", "post_date", "post_id", "scope"])
    op.create_index("ix_quote_treaty_date", "quote", ["treaty_id", "post_date", "scope"])


def _feeds(dialect: str) -> None:
    when = bot.models.UTCDateTime(timezone=True)
    op.create_table(
        "feedsource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_polled_at", when, nullable=True),
        sa.Column("next_poll_at", when, nullable=True),
        sa.Column("last_status", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", when, nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_index("ix_feedsource_next_poll_at", "feedsource", ["next_poll_at"])
    # One source per URL, with the state of the subscription polled last.
    state = ", ".join(FEED_STATE)
    op.execute(
        f"INSERT INTO feedsource (url, {state}, created_at) "
        f"SELECT f.url, {', '.join(f'f.{c}' for c in FEED_STATE)}, f.created_at FROM feed f "
        "WHERE f.id = (SELECT g.id FROM feed g WHERE g.url = f.url "
        "ORDER BY g.last_polled_at IS NULL, g.last_polled_at DESC, g.id LIMIT 1)"
    )
    op.add_column("feed", sa.Column("source_id", sa.Integer(), nullable=True))
    op.execute("UPDATE feed SET source_id = (SELECT s.id FROM feedsource s WHERE s.url = feed.url)")
    with op.batch_alter_table("feed", naming_convention=NAMING, recreate="auto") as batch:
        batch.alter_column("source_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("uq_feed_guild_id" if dialect == "sqlite" else "feed_guild_id_url_key", type_="unique")
        batch.drop_index("ix_feed_next_poll_at")
        for column in ("url", *FEED_STATE):
            batch.drop_column(column)
        batch.create_foreign_key("fk_feed_source_id", "feedsource", ["source_id"], ["id"], ondelete="CASCADE")
        batch.create_unique_constraint("uq_feed_guild_id_source_id", ["guild_id", "source_id"])
        batch.create_index("ix_feed_source_id", ["source_id"])
    op.create_table(
        "feedentry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.Text(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed_id", "entry_key"),
    )
    op.execute(
        "INSERT INTO feedentry (feed_id, entry_key, post_id, created_at) "
        "SELECT f.id, p.key, p.id, p.loaded_at FROM feed f JOIN feedsource s ON s.id = f.source_id "
        "JOIN post p ON p.loaded_from = s.url"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_search(dialect)
    _posts(dialect)
    _feeds(dialect)
    _create_search(dialect)


def downgrade() -> None:
    raise NotImplementedError("0005 is not reversible: servers' posts cannot go back into one shared scope")
