"""BotState: small facts the bot keeps between runs (e.g. the hash of the last synced command tree)."""

from __future__ import annotations

from sqlmodel import Session

from bot.models import BotState
from bot.store._sql import insert_or_ignore


def get_state(session: Session, *, key: str) -> str | None:
    row = session.get(BotState, key)
    return row.value if row else None


def set_state(session: Session, *, key: str, value: str) -> None:
    """Insert or replace; safe when two processes start at once (no IntegrityError)."""
    statement = insert_or_ignore(session, BotState).values(key=key, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))
