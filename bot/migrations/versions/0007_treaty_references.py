"""Treaty references (issue #11): quoted paragraphs, article headings in search, chat references.

- quote.paragraph: the paragraph a reference names ("4" for Article 2(4), "7" for 42.7, "bis"
  for 8 bis), so /article 2(4) can show the quote of that paragraph.
- article.heading: "Article 5 — North Atlantic Treaty (NATO)", filled for the texts already
  loaded; search indexes it beside the article's text, weighted like a post's title.
  SQLite: article_fts is recreated over (heading, text) with the triggers of 0002/0005;
  PostgreSQL: article.search_vector is regenerated from both (pattern of 0006).
- guildconfig.chat_quotes: whether the bot answers article references in post threads
  (/discussion quotes; on by default).
- chatanswer: the messages answered that way, so each is answered once across restarts.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import bot.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TOKENIZE = "porter unicode61 remove_diacritics 2"
ARTICLE_FTS = ("heading", "text")
PG_VECTORS = {
    True: "setweight(to_tsvector('english', heading), 'A') || setweight(to_tsvector('english', text), 'B')",
    False: "to_tsvector('english', text)",
}


def heading(label: str, number: int, name: str, aliases: list[str]) -> str:
    """As bot.store.treaties.article_heading writes it (frozen here, as migrations are)."""
    shown = label if label == str(number) else f"{label} ({number})"
    short = min((a for a in aliases if a and a != name), key=len, default=None)
    return f"Article {shown} — {name}" + (f" ({short})" if short else "")


def _fill_headings() -> None:
    connection = op.get_bind()
    aliases: dict[int, list[str]] = {}
    for treaty_id, alias in connection.execute(sa.text("SELECT treaty_id, alias FROM treatyalias ORDER BY id")):
        aliases.setdefault(treaty_id, []).append(alias)
    rows = connection.execute(
        sa.text("SELECT a.id, a.label, a.number, t.id, t.name FROM article a JOIN treaty t ON t.id = a.treaty_id")
    ).all()
    if rows:
        connection.execute(
            sa.text("UPDATE article SET heading = :heading WHERE id = :id"),
            [{"id": r[0], "heading": heading(r[1], r[2], r[4], aliases.get(r[3], []))} for r in rows],
        )


def _sqlite_search(columns: tuple[str, ...]) -> None:
    """article_fts over `columns`, kept current by triggers (as 0002 and 0005 make them)."""
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS article_fts_{event}")
    op.execute("DROP TABLE IF EXISTS article_fts")
    fts, cols = "article_fts", ", ".join(columns)
    new, old = ", ".join(f"new.{c}" for c in columns), ", ".join(f"old.{c}" for c in columns)
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='article', content_rowid='id', tokenize='{TOKENIZE}')")
    op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON article BEGIN INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END")
    op.execute(
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON article BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON article BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END"
    )
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _postgresql_search(with_heading: bool) -> None:
    op.execute("DROP INDEX IF EXISTS ix_article_search")
    op.execute("ALTER TABLE article DROP COLUMN search_vector")
    op.execute(f"ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({PG_VECTORS[with_heading]}) STORED")
    op.execute("CREATE INDEX ix_article_search ON article USING gin (search_vector)")


def _search(with_heading: bool) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_search(ARTICLE_FTS if with_heading else ("text",))
    elif dialect == "postgresql":
        _postgresql_search(with_heading)


def upgrade() -> None:
    op.add_column("quote", sa.Column("paragraph", sa.String(16), nullable=True))
    op.add_column("article", sa.Column("heading", sa.Text(), nullable=False, server_default=""))
    op.add_column("guildconfig", sa.Column("chat_quotes", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "chatanswer",
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", bot.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_chatanswer_answered_at", "chatanswer", ["answered_at"])
    _fill_headings()
    _search(with_heading=True)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:  # the generated vector depends on the heading
        _search(with_heading=False)
    op.drop_index("ix_chatanswer_answered_at", "chatanswer")
    op.drop_table("chatanswer")
    for table, column in (("guildconfig", "chat_quotes"), ("article", "heading"), ("quote", "paragraph")):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
    if sqlite:  # batch mode recreated the article table, dropping its triggers
        _search(with_heading=False)
