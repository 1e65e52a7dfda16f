"""post.origin is renamed loaded_from: the file path or feed URL a post was loaded from.

`origin` also named a comment's source ("post" or "discord"); two meanings for one word. A plain
RENAME COLUMN on both backends (SQLite >= 3.25): no table rebuild, so the search triggers stay.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE post RENAME COLUMN origin TO loaded_from")


def downgrade() -> None:
    op.execute("ALTER TABLE post RENAME COLUMN loaded_from TO origin")
