"""Initial schema: posts, comments, treaties, quotes, threads, digests, feeds.

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 06:36:09.547844
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import bot.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('botstate',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('digestrun',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('post_count', sa.Integer(), nullable=False),
    sa.Column('since', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('until', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel_id', 'local_date')
    )
    with op.batch_alter_table('digestrun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digestrun_guild_id'), ['guild_id'], unique=False)

    op.create_table('digestsubscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.Column('time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('quiet', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('guild_id', 'channel_id')
    )
    with op.batch_alter_table('digestsubscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digestsubscription_guild_id'), ['guild_id'], unique=False)

    op.create_table('feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=True),
    sa.Column('interval_minutes', sa.Integer(), nullable=False),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('last_polled_at', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_poll_at', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Text(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('failing_since', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('primed', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('guild_id', 'url')
    )
    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_guild_id'), ['guild_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_next_poll_at'), ['next_poll_at'], unique=False)

    op.create_table('guildconfig',
    sa.Column('guild_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('collect_mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.PrimaryKeyConstraint('guild_id')
    )
    op.create_table('post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('headline', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('author', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('labels', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('origin', sa.Text(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('loaded_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_date'), ['date'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_loaded_at'), ['loaded_at'], unique=False)

    op.create_table('treaty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('preamble', sa.Text(), nullable=True),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('has_text', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('article',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('treaty_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chapter', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['treaty_id'], ['treaty.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('treaty_id', 'number')
    )
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_treaty_id'), ['treaty_id'], unique=False)

    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('author', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('posted_at', bot.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('discord_message_id', sa.BigInteger(), nullable=True),
    sa.Column('discord_user_id', sa.BigInteger(), nullable=True),
    sa.Column('discord_guild_id', sa.BigInteger(), nullable=True),
    sa.Column('discord_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('discord_message_id')
    )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_discord_guild_id'), ['discord_guild_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comment_discord_user_id'), ['discord_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comment_post_id'), ['post_id'], unique=False)
        batch_op.create_index('ix_comment_post_position', ['post_id', 'origin', 'position'], unique=False)

    op.create_table('postthread',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.Column('thread_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('post_id', 'guild_id'),
    sa.UniqueConstraint('thread_id')
    )
    with op.batch_alter_table('postthread', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postthread_post_id'), ['post_id'], unique=False)

    op.create_table('treatyalias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('treaty_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['treaty_id'], ['treaty.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alias')
    )
    with op.batch_alter_table('treatyalias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_treatyalias_treaty_id'), ['treaty_id'], unique=False)

    op.create_table('quote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('treaty_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('offset', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['treaty_id'], ['treaty.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_comment_id'), ['comment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quote_post_id'), ['post_id'], unique=False)
        batch_op.create_index('ix_quote_treaty_number', ['treaty_id', 'number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.drop_index('ix_quote_treaty_number')
        batch_op.drop_index(batch_op.f('ix_quote_post_id'))
        batch_op.drop_index(batch_op.f('ix_quote_comment_id'))

    op.drop_table('quote')
    with op.batch_alter_table('treatyalias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_treatyalias_treaty_id'))

    op.drop_table('treatyalias')
    with op.batch_alter_table('postthread', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postthread_post_id'))

    op.drop_table('postthread')
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_post_position')
        batch_op.drop_index(batch_op.f('ix_comment_post_id'))
        batch_op.drop_index(batch_op.f('ix_comment_discord_user_id'))
        batch_op.drop_index(batch_op.f('ix_comment_discord_guild_id'))

    op.drop_table('comment')
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_treaty_id'))

    op.drop_table('article')
    op.drop_table('treaty')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_loaded_at'))
        batch_op.drop_index(batch_op.f('ix_post_date'))
        batch_op.drop_index(batch_op.f('ix_post_content_hash'))

    op.drop_table('post')
    op.drop_table('guildconfig')
    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_next_poll_at'))
        batch_op.drop_index(batch_op.f('ix_feed_guild_id'))

    op.drop_table('feed')
    with op.batch_alter_table('digestsubscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digestsubscription_guild_id'))

    op.drop_table('digestsubscription')
    with op.batch_alter_table('digestrun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digestrun_guild_id'))

    op.drop_table('digestrun')
    op.drop_table('botstate')
