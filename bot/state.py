"""A tiny key-value store for facts the bot keeps between runs."""

from __future__ import annotations

from bot.db import Database
from bot.models import BotState


def get_state(db: Database, *, key: str) -> str | None:
    with db.session() as session:
        row = session.get(BotState, key)
        return row.value if row else None


def set_state(db: Database, *, key: str, value: str) -> None:
    with db.session() as session:
        row = session.get(BotState, key)
        if row is None:
            session.add(BotState(key=key, value=value))
        else:
            row.value = value
