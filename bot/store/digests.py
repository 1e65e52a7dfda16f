"""Daily digests: each channel's subscription, and one run per channel and local date.

The run's unique (channel, local date) row is the exactly-once claim: `claim_run` inserts it
with ON CONFLICT DO NOTHING, so of several claimers (two processes, a restart, `/digest now`)
exactly one gets its id back; a failed run is taken again only by a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlmodel import Session

from bot.models import DigestRun, DigestStatus, DigestSubscription
from bot.store._sql import chunks, insert_or_ignore

DELIVERED = (DigestStatus.SENT, DigestStatus.EMPTY, DigestStatus.PARTIAL)


@dataclass(frozen=True)
class Subscription:
    id: int
    guild_id: int
    channel_id: int
    time: dt.time  # local
    timezone: str  # IANA
    quiet: bool  # empty days post nothing
    created_at: dt.datetime  # when it was (last) set up: earlier digest times never fire

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_date(self, now: dt.datetime) -> dt.date:
        return now.astimezone(self.zone).date()

    def scheduled_at(self, day: dt.date) -> dt.datetime:
        """The UTC instant of the digest time on local `day`. A time skipped by a DST gap falls an
        hour later in wall-clock terms; a repeated one uses the first."""
        return dt.datetime.combine(day, self.time, tzinfo=self.zone).astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class Run:
    id: int
    guild_id: int
    channel_id: int
    local_date: dt.date
    status: DigestStatus
    reason: str | None
    attempts: int
    post_count: int
    since: dt.datetime | None  # posts loaded after this were new
    until: dt.datetime | None
    claimed_at: dt.datetime
    finished_at: dt.datetime | None


def _subscription(row: DigestSubscription) -> Subscription:
    hour, minute = map(int, row.time.split(":"))
    return Subscription(
        id=row.id,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        time=dt.time(hour, minute),
        timezone=row.timezone,
        quiet=row.quiet,
        created_at=row.created_at,
    )


def _run(row: DigestRun) -> Run:
    return Run(
        id=row.id,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        local_date=row.local_date,
        status=DigestStatus(row.status),
        reason=row.reason,
        attempts=row.attempts,
        post_count=row.post_count,
        since=row.since,
        until=row.until,
        claimed_at=row.claimed_at,
        finished_at=row.finished_at,
    )


# --------------------------------------------------------------------------- subscriptions


def set_subscription(
    session: Session, *, guild_id: int, channel_id: int, time: dt.time, timezone: str, quiet: bool, now: dt.datetime
) -> Subscription:
    """Create the channel's digest, or replace its time, timezone and quiet setting."""
    row = session.execute(
        select(DigestSubscription).where(DigestSubscription.guild_id == guild_id, DigestSubscription.channel_id == channel_id)
    ).scalar_one_or_none()
    if row is None:
        row = DigestSubscription(guild_id=guild_id, channel_id=channel_id, time="", timezone="", created_at=now)
        session.add(row)
    row.time, row.timezone, row.quiet, row.created_at = f"{time:%H:%M}", timezone, quiet, now
    session.flush()
    return _subscription(row)


def delete_subscriptions(session: Session, *, guild_id: int, channel_id: int | None = None) -> list[int]:
    """Stop the channel's digest (or every digest of the server); returns the channels stopped."""
    query = select(DigestSubscription.channel_id).where(DigestSubscription.guild_id == guild_id)
    if channel_id is not None:
        query = query.where(DigestSubscription.channel_id == channel_id)
    channels = list(session.execute(query).scalars())
    if channels:
        session.execute(
            delete(DigestSubscription).where(DigestSubscription.guild_id == guild_id, DigestSubscription.channel_id.in_(channels))
        )
    return channels


def subscriptions(session: Session, *, guild_id: int | None = None) -> list[Subscription]:
    """A server's digests (every server's when None), in the order they were set up."""
    query = select(DigestSubscription).order_by(DigestSubscription.guild_id, DigestSubscription.id)
    if guild_id is not None:
        query = query.where(DigestSubscription.guild_id == guild_id)
    return [_subscription(r) for r in session.execute(query).scalars()]


# --------------------------------------------------------------------------- runs


def claim_run(
    session: Session, *, guild_id: int, channel_id: int, local_date: dt.date, since: dt.datetime, now: dt.datetime, retry_failed: bool
) -> Run | None:
    """Claim (channel, local date) for this caller; None when someone else has it.

    Inserting the unique row is the claim; a failed run is claimed again (a retry) by exactly one
    caller: the UPDATE only matches while the row still says "failed".
    """
    run_id = session.execute(
        insert_or_ignore(session, DigestRun)
        .values(
            guild_id=guild_id, channel_id=channel_id, local_date=local_date, status=DigestStatus.CLAIMED,
            attempts=1, post_count=0, since=since, until=now, claimed_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "local_date"])
        .returning(DigestRun.id)
    ).scalar()
    if run_id is None and retry_failed:
        run_id = session.execute(
            update(DigestRun)
            .where(DigestRun.channel_id == channel_id, DigestRun.local_date == local_date, DigestRun.status == DigestStatus.FAILED)
            .values(status=DigestStatus.CLAIMED, attempts=DigestRun.attempts + 1, since=since, until=now, claimed_at=now)
            .returning(DigestRun.id)
        ).scalar()
    return get_run(session, run_id=run_id) if run_id is not None else None


def record_skipped(session: Session, *, guild_id: int, channel_id: int, local_date: dt.date, now: dt.datetime, reason: str) -> bool:
    """Note a digest that will not be sent; False when the date already has a run."""
    inserted = session.execute(
        insert_or_ignore(session, DigestRun)
        .values(
            guild_id=guild_id, channel_id=channel_id, local_date=local_date, status=DigestStatus.SKIPPED,
            reason=reason, attempts=0, post_count=0, claimed_at=now, finished_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "local_date"])
        .returning(DigestRun.id)
    ).scalar()
    return inserted is not None


def finish_run(session: Session, *, run_id: int, status: DigestStatus, now: dt.datetime, reason: str | None = None, post_count: int = 0) -> None:
    session.execute(
        update(DigestRun).where(DigestRun.id == run_id).values(status=status, reason=reason, post_count=post_count, finished_at=now)
    )


def get_run(session: Session, *, run_id: int) -> Run | None:
    row = session.get(DigestRun, run_id)
    return _run(row) if row else None


def run_on(session: Session, *, channel_id: int, local_date: dt.date) -> Run | None:
    row = session.execute(
        select(DigestRun).where(DigestRun.channel_id == channel_id, DigestRun.local_date == local_date)
    ).scalar_one_or_none()
    return _run(row) if row else None


def latest_runs(session: Session, *, channel_id: int, limit: int = 5) -> list[Run]:
    """The channel's latest runs, newest first."""
    rows = session.execute(
        select(DigestRun).where(DigestRun.channel_id == channel_id).order_by(DigestRun.local_date.desc()).limit(limit)
    ).scalars()
    return [_run(r) for r in rows]


def runs_since(session: Session, *, channel_ids: list[int], first_date: dt.date) -> dict[tuple[int, dt.date], Run]:
    """(channel, local date) -> run, for these channels' runs from `first_date` on."""
    found: dict[tuple[int, dt.date], Run] = {}
    for chunk in chunks(channel_ids):
        rows = session.execute(select(DigestRun).where(DigestRun.channel_id.in_(chunk), DigestRun.local_date >= first_date)).scalars()
        found.update(((r.channel_id, r.local_date), _run(r)) for r in rows)
    return found


def previous_until(session: Session, *, channel_id: int, before: dt.date) -> dt.datetime | None:
    """Where the channel's previous delivered digest ended: the next one starts there."""
    return session.execute(
        select(DigestRun.until)
        .where(DigestRun.channel_id == channel_id, DigestRun.local_date < before, DigestRun.status.in_(DELIVERED))
        .order_by(DigestRun.local_date.desc())
        .limit(1)
    ).scalar()
