"""Daily digests: each channel's subscription, and one run per channel and local date.

The run's unique (channel, local date) row is the exactly-once claim: `claim_run` inserts it
with ON CONFLICT DO NOTHING, so of several claimers (two processes, a restart, `/digest now`)
exactly one gets its id back. A claim is a lease (`lease_until`): its sender renews it with each
message it records (`record_sent`), and a run still claimed after its lease ran out was lost with
its process. A failed run and a lost claim are taken again only by a conditional UPDATE, which
matches for one caller and bumps `attempts`: the claim's token, which every later write of the
sender must still match (a sender that lost its claim to a taker can no longer write).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlmodel import Session

from bot.models import Comment, CommentOrigin, DigestRun, DigestStatus, DigestStyle, DigestSubscription
from bot.store._sql import chunks, insert_or_ignore, visible

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
    max_posts: int | None = None  # posts shown (cards when full, lines when compact); None: the style's default
    style: DigestStyle = DigestStyle.FULL
    role_id: int | None = None  # the role each digest mentions, and only it

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
    lease_until: dt.datetime | None = None  # a claim not renewed by then was lost: another may take it over
    messages_sent: int = 0  # of the digest's messages, how many went out (a taker sends the rest)


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
        max_posts=row.max_posts,
        style=DigestStyle(row.style or DigestStyle.FULL),
        role_id=row.role_id,
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
        lease_until=row.lease_until,
        messages_sent=row.messages_sent,
    )


# --------------------------------------------------------------------------- subscriptions


def set_subscription(
    session: Session, *, guild_id: int, channel_id: int, time: dt.time, timezone: str, quiet: bool, now: dt.datetime,
    max_posts: int | None = None, style: DigestStyle = DigestStyle.FULL, role_id: int | None = None,
) -> Subscription:
    """Create the channel's digest, or replace all its settings."""
    row = session.execute(
        select(DigestSubscription).where(DigestSubscription.guild_id == guild_id, DigestSubscription.channel_id == channel_id)
    ).scalar_one_or_none()
    if row is None:
        row = DigestSubscription(guild_id=guild_id, channel_id=channel_id, time="", timezone="", created_at=now)
        session.add(row)
    row.time, row.timezone, row.quiet, row.created_at = f"{time:%H:%M}", timezone, quiet, now
    row.max_posts, row.style, row.role_id = max_posts, DigestStyle(style), role_id
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
    session: Session, *, guild_id: int, channel_id: int, local_date: dt.date, since: dt.datetime, now: dt.datetime,
    lease_until: dt.datetime, retry_failed: bool,
) -> Run | None:
    """Claim (channel, local date) for this caller until `lease_until`; None when someone else has it.

    Inserting the unique row is the claim. A failed run (when `retry_failed`) is claimed again, as a
    new digest up to now; a lost claim (still "claimed", its lease run out) is taken over as it was,
    its messages already sent kept. Each UPDATE matches only while the row still says so, so
    exactly one caller gets it; on PostgreSQL a second one waits for the first's row lock, then
    sees the new lease and matches nothing.
    """
    run_id = session.execute(
        insert_or_ignore(session, DigestRun)
        .values(
            guild_id=guild_id, channel_id=channel_id, local_date=local_date, status=DigestStatus.CLAIMED,
            attempts=1, post_count=0, since=since, until=now, claimed_at=now, lease_until=lease_until, messages_sent=0,
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "local_date"])
        .returning(DigestRun.id)
    ).scalar()
    mine = (DigestRun.channel_id == channel_id, DigestRun.local_date == local_date)
    if run_id is None and retry_failed:
        run_id = session.execute(
            update(DigestRun)
            .where(*mine, DigestRun.status == DigestStatus.FAILED)
            .values(
                status=DigestStatus.CLAIMED, attempts=DigestRun.attempts + 1, since=since, until=now, claimed_at=now,
                lease_until=lease_until, messages_sent=0,
            )
            .returning(DigestRun.id)
        ).scalar()
    if run_id is None:
        run_id = session.execute(
            update(DigestRun)
            .where(*mine, DigestRun.status == DigestStatus.CLAIMED, or_(DigestRun.lease_until.is_(None), DigestRun.lease_until <= now))
            .values(attempts=DigestRun.attempts + 1, lease_until=lease_until)
            .returning(DigestRun.id)
        ).scalar()
    return get_run(session, run_id=run_id) if run_id is not None else None


def record_sent(session: Session, *, run_id: int, attempts: int, messages_sent: int, lease_until: dt.datetime) -> bool:
    """The claimed run's first `messages_sent` messages went out; its lease now runs until `lease_until`.

    False (nothing written) when the claim is no longer this sender's: its lease ran out and another
    caller took it over (`attempts` moved on), or it was finished."""
    return session.execute(
        update(DigestRun)
        .where(DigestRun.id == run_id, DigestRun.status == DigestStatus.CLAIMED, DigestRun.attempts == attempts)
        .values(messages_sent=messages_sent, lease_until=lease_until)
        .returning(DigestRun.id)
    ).scalar() is not None


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


def finish_run(
    session: Session, *, run_id: int, status: DigestStatus, now: dt.datetime, reason: str | None = None, post_count: int = 0,
    attempts: int | None = None, messages_sent: int | None = None,
) -> bool:
    """Record how a claimed run ended. With `attempts` (the claim's token), only while the claim is
    still that one's; False when it was not (then nothing is written)."""
    query = update(DigestRun).where(DigestRun.id == run_id)
    if attempts is not None:
        query = query.where(DigestRun.status == DigestStatus.CLAIMED, DigestRun.attempts == attempts)
    values = {"status": status, "reason": reason, "post_count": post_count, "finished_at": now, "lease_until": None}
    if messages_sent is not None:
        values["messages_sent"] = messages_sent
    return session.execute(query.values(**values).returning(DigestRun.id)).scalar() is not None


def get_run(session: Session, *, run_id: int) -> Run | None:
    row = session.execute(select(DigestRun).where(DigestRun.id == run_id).execution_options(populate_existing=True)).scalar_one_or_none()
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


# --------------------------------------------------------------------------- content


def most_discussed(session: Session, *, since: dt.datetime, until: dt.datetime, scope: int | None) -> tuple[int, int] | None:
    """(post id, comments) of the post with the most comments that arrived in (since, until]: written in
    Discord (in the viewer's server) then, not a post file's own comments, which come with the post
    however old they are (and are stored again whenever the file changes). Ties: the most recently
    commented post."""
    written = func.coalesce(Comment.posted_at, Comment.created_at)
    row = session.execute(
        select(Comment.post_id, func.count().label("n"))
        .where(
            Comment.created_at > since, Comment.created_at <= until, visible(Comment.scope, scope),
            Comment.origin == CommentOrigin.DISCORD, written > since, written <= until,
        )
        .group_by(Comment.post_id)
        .order_by(func.count().desc(), func.max(written).desc(), Comment.post_id.desc())
        .limit(1)
    ).first()
    return (row.post_id, row.n) if row else None
