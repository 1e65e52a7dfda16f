"""BotState: small facts the bot keeps between runs (e.g. the hash of the last synced command tree)."""

from __future__ import annotations

from sqlmodel import Session

from bot.models import BotState


def get_state(session: Session, *, key: str) -> str | None:
    row = session.get(BotState, key)
    return row.value if row else None


def set_state(session: Session, *, key: str, value: str) -> None:
    row = session.get(BotState, key)
    if row is None:
        session.add(BotState(key=key, value=value))
    else:
        row.value = value
