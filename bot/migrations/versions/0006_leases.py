"""Leases: a claimed digest or a polled feed that its process never finished is taken over.

- digestrun.lease_until, digestrun.messages_sent: a claim expires when its process died after
  claiming; whoever takes it over sends only the messages not sent yet.
- feedsource.lease_until, feedsource.leased_by: one process polls a URL at a time.
- feedentry.state, feedentry.lease_until: announcements are an outbox; an entry to announce is
  pending until a sender, holding a lease on it, has sent it. Entries seen before this upgrade
  were announced already (or were a backlog): they are "seen".
- PostgreSQL: a post's and a comment's search vector also holds its scope, as the lexeme
  "scope:<id>", so "this server's matches" is one GIN lookup (bot/store/search.py).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import bot.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


PG_VECTORS = {
    "post": "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')",
    "comment": "to_tsvector('english', text)",
}
SCOPE_LEXEME = "array_to_tsvector(ARRAY['scope:' || scope::text])"


def _search_vectors(with_scope: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, vector in PG_VECTORS.items():
        expression = f"{vector} || {SCOPE_LEXEME}" if with_scope else vector
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        op.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({expression}) STORED")
        op.execute(f"CREATE INDEX ix_{table}_search ON {table} USING gin (search_vector)")


def upgrade() -> None:
    when = bot.models.UTCDateTime(timezone=True)
    op.add_column("digestrun", sa.Column("lease_until", when, nullable=True))
    op.add_column("digestrun", sa.Column("messages_sent", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("feedsource", sa.Column("lease_until", when, nullable=True))
    op.add_column("feedsource", sa.Column("leased_by", sa.Text(), nullable=True))
    op.add_column("feedentry", sa.Column("state", sa.String(16), nullable=False, server_default="seen"))
    op.add_column("feedentry", sa.Column("lease_until", when, nullable=True))
    op.create_index("ix_feedentry_pending", "feedentry", ["state", "feed_id"])
    _search_vectors(with_scope=True)


def downgrade() -> None:
    _search_vectors(with_scope=False)
    op.drop_index("ix_feedentry_pending", "feedentry")
    for table, column in (("feedentry", "lease_until"), ("feedentry", "state"), ("feedsource", "leased_by"),
                          ("feedsource", "lease_until"), ("digestrun", "messages_sent"), ("digestrun", "lease_until")):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
