"""Feed cards and options (issue #13): role pings, a thread per post, filters, pictures, titles.

- feed.role_id: the role a subscription's announcements mention (and only that role).
- feed.threads: each announced post gets its discussion thread on the announcement.
- feed.include_words, feed.exclude_words: "word, phrase" lists over title and text; an entry
  they keep out is recorded as "filtered" (feedentry.state) instead of pending.
- feedsource.title: the feed's own title, as last fetched (forum tags, /feed list).
- feedentry.image: the entry's picture (media:content, media:thumbnail, an image enclosure or
  the first <img> of its text), shown on its card.

Revision ID: 0010
Revises: 0006 (written while 0007-0009 were being written beside it; 0008 merges it with 0007 for now. Once
the chain settles, 0010 goes last: down_revision "0009".)
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    ("feed", sa.Column("role_id", sa.BigInteger(), nullable=True)),
    ("feed", sa.Column("threads", sa.Boolean(), nullable=False, server_default=sa.false())),
    ("feed", sa.Column("include_words", sa.Text(), nullable=True)),
    ("feed", sa.Column("exclude_words", sa.Text(), nullable=True)),
    ("feedsource", sa.Column("title", sa.Text(), nullable=True)),
    ("feedentry", sa.Column("image", sa.Text(), nullable=True)),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, column)


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column.name)
