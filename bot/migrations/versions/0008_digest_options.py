"""What members and admins see (issue #13): a digest's length, style and role ping.

- digestsubscription.max_posts: how many posts a digest shows (cards in the full style, lines in
  the compact one); NULL means the style's default.
- digestsubscription.style: "full" (a card a post, the rest a line each) or "compact" (a line a post).
- digestsubscription.role_id: the role each digest mentions, and only that role.

Revision ID: 0008
Revises: 0007, 0010 (both heads when this was written, each revising 0006: this one merges them,
so the chain has one head; make it revise only 0007 once 0010 is put after it)
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = ("0007", "0010")
branch_labels = None
depends_on = None

COLUMNS = (
    sa.Column("max_posts", sa.Integer(), nullable=True),
    sa.Column("style", sa.String(16), nullable=False, server_default="full"),
    sa.Column("role_id", sa.BigInteger(), nullable=True),
)


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("digestsubscription", column)


def downgrade() -> None:
    with op.batch_alter_table("digestsubscription") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
