"""Alembic environment: uses the engine handed over by `bot.db`, batch mode for SQLite."""

from alembic import context
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Each migration in a transaction of its own: a kill or Ctrl-C leaves the old schema or the new one."""
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
