"""Quotes carry their post's date, so /article finds the newest citing posts by index.

"Most recently discussed treaty" and "newest posts citing Article N" were joins over every quote
of a treaty (hundreds of milliseconds at 100k posts); with the date on the quote they are index
range reads. extract_quotes writes it, and re-runs whenever a post changes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("quote", sa.Column("post_date", sa.Date(), nullable=True))
    op.execute("UPDATE quote SET post_date = (SELECT post.date FROM post WHERE post.id = quote.post_id)")
    with op.batch_alter_table("quote") as batch_op:  # SQLite: recreates quote (no search triggers on it)
        batch_op.alter_column("post_date", existing_type=sa.Date(), nullable=False)
        batch_op.drop_index("ix_quote_treaty_number")
        batch_op.create_index("ix_quote_article", ["treaty_id", "number", "post_date", "post_id"], unique=False)
        batch_op.create_index("ix_quote_treaty_date", ["treaty_id", "post_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quote") as batch_op:
        batch_op.drop_index("ix_quote_treaty_date")
        batch_op.drop_index("ix_quote_article")
        batch_op.create_index("ix_quote_treaty_number", ["treaty_id", "number"], unique=False)
        batch_op.drop_column("post_date")
