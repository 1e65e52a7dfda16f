"""Daily digests: subscriptions, what is due when, the exactly-once claim, the digest itself, status texts.

Exactly once: before a digest is built or sent, a `DigestRun` row for (channel, local date) is
inserted; the unique constraint lets only one claimer win, whether the other is a second bot
process on the same database, the same bot after a restart, or an earlier `/digest now`.
A failed run is re-claimed with a conditional UPDATE (status failed -> claimed), which is
atomic too. The cog sends what it claimed and records the result with `finish_run`.

Decisions the issue leaves open:
- "new" means loaded (Post.loaded_at) after the previous delivered (sent/empty) digest of the
  channel, up to the claim; the first digest covers the last 24 hours.
- a failure is retried at each wake-up for RETRY_WINDOW after the digest time, the same local day;
  a digest whose time passed while the bot was down is sent when it comes back the same local
  day, else recorded as skipped (only the most recent missed day is recorded).
- a digest never fires for a time before its setup (setting up at 10:00 for 08:00 starts tomorrow).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError
from bot.models import ORIGIN_DISCORD, Comment, DigestRun, DigestSubscription, Post, PostThread, Quote, Treaty
from bot.summarize import summarize

log = logging.getLogger(__name__)

CLAIMED, SENT, EMPTY, FAILED, PARTIAL, SKIPPED = "claimed", "sent", "empty", "failed", "partial", "skipped"
DELIVERED = (SENT, EMPTY, PARTIAL)
FIRST_WINDOW = dt.timedelta(days=1)
RETRY_WINDOW = dt.timedelta(hours=1)
QUIET = "quiet"  # reason of an empty run that posted nothing
OFFLINE_REASON = "the bot was offline at the digest time and came back on a later day"


# ----------------------------------------------------------------- values


@dataclass(frozen=True)
class Subscription:
    id: int
    guild_id: int
    channel_id: int
    time: dt.time
    timezone: str
    quiet: bool
    created_at: dt.datetime  # when it was (last) set up: earlier digest times never fire

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_date(self, now: dt.datetime) -> dt.date:
        return now.astimezone(self.zone).date()

    def scheduled_at(self, day: dt.date) -> dt.datetime:
        return scheduled_at(day, self.time, self.zone)


@dataclass(frozen=True)
class Run:
    id: int
    guild_id: int
    channel_id: int
    local_date: dt.date
    status: str
    reason: str | None
    attempts: int
    post_count: int
    since: dt.datetime | None
    until: dt.datetime | None
    claimed_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class DigestPost:
    id: int
    title: str
    date: dt.date
    source: str | None
    summary: str
    articles: list[str]
    comment_count: int
    newest_commenter: str | None
    thread_id: int | None = None
    link: str | None = None


@dataclass(frozen=True)
class Digest:
    local_date: dt.date
    timezone: str
    since: dt.datetime
    until: dt.datetime
    posts: list[DigestPost]
    most_discussed: DigestPost | None = None
    most_discussed_comments: int = 0  # comments written in the window

    @property
    def empty(self) -> bool:
        return not self.posts

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(zoneinfo.ZoneInfo(self.timezone))


@dataclass(frozen=True)
class Job:
    """A claimed digest, ready to send."""

    subscription: Subscription
    run: Run
    digest: Digest


@dataclass
class StatusInfo:
    subscription: Subscription
    last_run: Run | None
    next_run: dt.datetime | None
    recent: list[Run] = field(default_factory=list)


# ----------------------------------------------------------------- parsing and time

_TIME = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)


def parse_time(text: str) -> dt.time:
    """ "08:00", "8:00", "20.30", "8am", "8:30 pm" -> a time; anything else is a user error."""
    match = _TIME.match(text or "")
    if match:
        hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
        if meridiem and 1 <= hour <= 12:
            hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
            meridiem = ""
        if not meridiem and hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise UserFacingError(f"`{text}` is not a time of day. Use 24-hour HH:MM, e.g. `08:00` or `18:30`.")


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def parse_timezone(name: str) -> str:
    """The canonical IANA name ("europe/berlin" -> "Europe/Berlin"), or a user error."""
    wanted = (name or "").strip()
    by_fold = {n.casefold(): n for n in timezone_names()}
    canonical = by_fold.get(wanted.casefold())
    if canonical is None:
        raise UserFacingError(
            f"`{wanted}` is not an IANA timezone. Pick one from the list, e.g. `Europe/Berlin` or `America/New_York`."
        )
    return canonical


def match_timezones(current: str, limit: int = 25) -> list[str]:
    """Autocomplete: names starting with the typed text first, then names containing it."""
    needle = current.strip().casefold().replace(" ", "_")
    names = timezone_names()
    if not needle:
        return list(names[:limit])
    starts = [n for n in names if n.casefold().startswith(needle)]
    parts = [n for n in names if needle in n.casefold() and n not in starts]
    return (starts + parts)[:limit]


def scheduled_at(day: dt.date, time: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of `time` on local `day`. A time skipped by a DST gap (02:30 in Berlin on the
    last Sunday of March) falls an hour later in wall-clock terms; a repeated one uses the first."""
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.timezone.utc)


def format_local(moment: dt.datetime, timezone: str) -> str:
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


# ----------------------------------------------------------------- subscriptions


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
        status=row.status,
        reason=row.reason,
        attempts=row.attempts,
        post_count=row.post_count,
        since=row.since,
        until=row.until,
        claimed_at=row.claimed_at,
        finished_at=row.finished_at,
    )


def set_subscription(
    db: Database, *, guild_id: int, channel_id: int, time: dt.time, timezone: str, quiet: bool, now: dt.datetime
) -> Subscription:
    """Create the channel's digest, or replace its time, timezone and quiet setting."""
    with db.session() as session:
        row = session.exec(
            select(DigestSubscription).where(DigestSubscription.guild_id == guild_id, DigestSubscription.channel_id == channel_id)
        ).scalar_one_or_none()
        if row is None:
            row = DigestSubscription(guild_id=guild_id, channel_id=channel_id, time="", timezone="", created_at=now)
            session.add(row)
        row.time = f"{time:%H:%M}"
        row.timezone = timezone
        row.quiet = quiet
        row.created_at = now
        session.flush()
        return _subscription(row)


def remove_subscriptions(db: Database, *, guild_id: int, channel_id: int | None = None) -> list[int]:
    """Stop the channel's digest (or every digest of the server); returns the channels stopped."""
    with db.session() as session:
        query = select(DigestSubscription.channel_id).where(DigestSubscription.guild_id == guild_id)
        if channel_id is not None:
            query = query.where(DigestSubscription.channel_id == channel_id)
        channels = list(session.execute(query).scalars())
        if channels:
            session.execute(
                delete(DigestSubscription).where(DigestSubscription.guild_id == guild_id, DigestSubscription.channel_id.in_(channels))
            )
        return channels


def list_subscriptions(db: Database, *, guild_id: int | None = None) -> list[Subscription]:
    with db.session() as session:
        query = select(DigestSubscription).order_by(DigestSubscription.guild_id, DigestSubscription.id)
        if guild_id is not None:
            query = query.where(DigestSubscription.guild_id == guild_id)
        return [_subscription(r) for r in session.exec(query).scalars()]


def get_subscription(db: Database, *, guild_id: int, channel_id: int) -> Subscription | None:
    subs = [s for s in list_subscriptions(db, guild_id=guild_id) if s.channel_id == channel_id]
    return subs[0] if subs else None


# ----------------------------------------------------------------- the claim


def claim_digest(
    db: Database,
    *,
    guild_id: int,
    channel_id: int,
    local_date: dt.date,
    now: dt.datetime,
    retry_failed: bool = True,
) -> Run | None:
    """Claim (channel, local date) for this caller; None when someone else already has it.

    Inserting the unique row is the claim. A failed run may be claimed again (for a retry) by
    exactly one caller: the UPDATE only matches while the row still says "failed".
    """
    since = _previous_until(db, channel_id=channel_id, before=local_date) or now - FIRST_WINDOW
    try:
        with db.session() as session:
            run_id = session.execute(
                insert(DigestRun)
                .values(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    local_date=local_date,
                    status=CLAIMED,
                    attempts=1,
                    post_count=0,
                    since=since,
                    until=now,
                    claimed_at=now,
                )
                .returning(DigestRun.id)
            ).scalar_one()
    except IntegrityError:
        if not retry_failed:
            return None
        with db.session() as session:
            run_id = session.execute(
                update(DigestRun)
                .where(DigestRun.channel_id == channel_id, DigestRun.local_date == local_date, DigestRun.status == FAILED)
                .values(status=CLAIMED, attempts=DigestRun.attempts + 1, since=since, until=now, claimed_at=now)
                .returning(DigestRun.id)
            ).scalar()
        if run_id is None:
            return None
    return get_run(db, run_id=run_id)


def _previous_until(db: Database, *, channel_id: int, before: dt.date) -> dt.datetime | None:
    """Where the channel's previous delivered digest ended: the next one starts there."""
    with db.session() as session:
        return session.execute(
            select(DigestRun.until)
            .where(DigestRun.channel_id == channel_id, DigestRun.local_date < before, DigestRun.status.in_(DELIVERED))
            .order_by(DigestRun.local_date.desc())
            .limit(1)
        ).scalar()


def record_skipped(db: Database, *, guild_id: int, channel_id: int, local_date: dt.date, now: dt.datetime, reason: str) -> bool:
    """Note a digest that will not be sent; False when the date already has a run."""
    try:
        with db.session() as session:
            session.execute(
                insert(DigestRun).values(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    local_date=local_date,
                    status=SKIPPED,
                    reason=reason,
                    attempts=0,
                    post_count=0,
                    claimed_at=now,
                    finished_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def finish_run(db: Database, *, run_id: int, status: str, now: dt.datetime, reason: str | None = None, post_count: int = 0) -> None:
    with db.session() as session:
        session.execute(
            update(DigestRun)
            .where(DigestRun.id == run_id)
            .values(status=status, reason=reason, post_count=post_count, finished_at=now)
        )


def get_run(db: Database, *, run_id: int) -> Run | None:
    with db.session() as session:
        row = session.get(DigestRun, run_id)
        return _run(row) if row else None


def runs_for(db: Database, *, channel_id: int, limit: int = 5) -> list[Run]:
    """The channel's latest runs, newest first."""
    with db.session() as session:
        rows = session.exec(
            select(DigestRun).where(DigestRun.channel_id == channel_id).order_by(DigestRun.local_date.desc()).limit(limit)
        ).scalars()
        return [_run(r) for r in rows]


# ----------------------------------------------------------------- what is due


def due_jobs(db: Database, *, now: dt.datetime) -> list[Job]:
    """Claim every digest due at `now`, build it, and record the ones missed on earlier days.

    Called by the scheduler each minute. A broken subscription is logged and skipped; it never
    stops the others.
    """
    subscriptions = list_subscriptions(db)
    if not subscriptions:
        return []
    with db.session() as session:
        rows = session.exec(
            select(DigestRun).where(
                DigestRun.channel_id.in_([s.channel_id for s in subscriptions]),
                DigestRun.local_date >= (now - dt.timedelta(days=2)).date(),
            )
        ).scalars()
        runs = {(r.channel_id, r.local_date): _run(r) for r in rows}
    jobs = []
    for sub in subscriptions:
        try:
            job = _due_job(db, sub, runs, now)
        except Exception:
            log.exception("digest of channel %s (guild %s) could not be prepared", sub.channel_id, sub.guild_id)
            continue
        if job is not None:
            jobs.append(job)
    return jobs


def latest_occurrence(sub: Subscription, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The most recent digest time at or before `now`: today's if it has passed, else yesterday's."""
    today = sub.local_date(now)
    at = sub.scheduled_at(today)
    if at <= now:
        return today, at
    yesterday = today - dt.timedelta(days=1)
    return yesterday, sub.scheduled_at(yesterday)


def _due_job(db: Database, sub: Subscription, runs: dict, now: dt.datetime) -> Job | None:
    day, at = latest_occurrence(sub, now)
    if at < sub.created_at:
        return None
    existing = runs.get((sub.channel_id, day))
    if day != sub.local_date(now):
        if existing is None:
            record_skipped(db, guild_id=sub.guild_id, channel_id=sub.channel_id, local_date=day, now=now, reason=OFFLINE_REASON)
            log.info("digest of channel %s for %s skipped: %s", sub.channel_id, day, OFFLINE_REASON)
        return None
    if existing is not None and not (existing.status == FAILED and now < at + RETRY_WINDOW):
        return None
    run = claim_digest(db, guild_id=sub.guild_id, channel_id=sub.channel_id, local_date=day, now=now)
    if run is None:
        return None
    return Job(subscription=sub, run=run, digest=build_for_run(db, sub, run))


def build_for_run(db: Database, sub: Subscription, run: Run) -> Digest:
    with db.session() as session:
        return build_digest(
            session, since=run.since, until=run.until, local_date=run.local_date, timezone=sub.timezone, guild_id=sub.guild_id
        )


def claim_now(db: Database, *, sub: Subscription, now: dt.datetime) -> Job:
    """`/digest now`: claim today's digest for the channel (a failed one again), or say why not."""
    day = sub.local_date(now)
    run = claim_digest(db, guild_id=sub.guild_id, channel_id=sub.channel_id, local_date=day, now=now)
    if run is None:
        with db.session() as session:
            row = session.exec(
                select(DigestRun).where(DigestRun.channel_id == sub.channel_id, DigestRun.local_date == day)
            ).scalar_one_or_none()
        done = _run(row) if row else None
        when = format_local(done.claimed_at, sub.timezone) if done else "earlier"
        raise UserFacingError(
            f"Today's digest for <#{sub.channel_id}> was already taken care of ({describe_run(done) if done else 'claimed'}, {when}); "
            "a channel gets one digest per day."
        )
    return Job(subscription=sub, run=run, digest=build_for_run(db, sub, run))


def preview_digest(db: Database, *, guild_id: int, channel_id: int | None, timezone: str, now: dt.datetime) -> Digest:
    """What the channel's next digest would contain if it were sent now (nothing is claimed)."""
    since = None
    if channel_id is not None:
        since = _previous_until(db, channel_id=channel_id, before=now.astimezone(zoneinfo.ZoneInfo(timezone)).date() + dt.timedelta(days=1))
    with db.session() as session:
        return build_digest(
            session,
            since=since or now - FIRST_WINDOW,
            until=now,
            local_date=now.astimezone(zoneinfo.ZoneInfo(timezone)).date(),
            timezone=timezone,
            guild_id=guild_id,
        )


def digest_for_date(db: Database, *, day: dt.date, timezone: str) -> Digest:
    """The CLI's digest: the posts loaded during local `day`."""
    zone = zoneinfo.ZoneInfo(timezone)
    since = scheduled_at(day, dt.time(0, 0), zone)
    until = scheduled_at(day + dt.timedelta(days=1), dt.time(0, 0), zone)
    with db.session() as session:
        return build_digest(session, since=since, until=until, local_date=day, timezone=timezone)


# ----------------------------------------------------------------- the digest


def build_digest(
    session: Session,
    *,
    since: dt.datetime,
    until: dt.datetime,
    local_date: dt.date,
    timezone: str,
    guild_id: int | None = None,
) -> Digest:
    """Posts loaded in (since, until], newest first, and the post with the most comments written then."""
    posts = session.execute(
        select(Post.id, Post.title, Post.date, Post.source, Post.body, Post.link)
        .where(Post.loaded_at > since, Post.loaded_at <= until)
        .order_by(Post.date.desc(), Post.id.desc())
    ).all()
    ids = [p.id for p in posts]
    discussed = session.execute(
        select(Comment.post_id, func.count().label("n"))
        .where(Comment.created_at > since, Comment.created_at <= until)
        .group_by(Comment.post_id)
        .order_by(func.count().desc(), Comment.post_id.desc())
        .limit(1)
    ).first()
    top_id = discussed.post_id if discussed else None
    if top_id is not None and top_id not in ids:
        extra = session.execute(
            select(Post.id, Post.title, Post.date, Post.source, Post.body, Post.link).where(Post.id == top_id)
        ).all()
    else:
        extra = []
    details = _details(session, [*posts, *extra], guild_id)
    items = [details[p.id] for p in posts]
    return Digest(
        local_date=local_date,
        timezone=timezone,
        since=since,
        until=until,
        posts=items,
        most_discussed=details.get(top_id) if top_id is not None else None,
        most_discussed_comments=discussed.n if discussed else 0,
    )


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _details(session: Session, posts: list, guild_id: int | None) -> dict[int, DigestPost]:
    """Summary, quoted articles, comment count, newest commenter and thread of each post, in a few queries."""
    ids = [p.id for p in posts]
    counts: dict[int, int] = {}
    newest: dict[int, str] = {}
    articles: dict[int, list[str]] = {i: [] for i in ids}
    threads: dict[int, int] = {}
    for chunk in _chunks(ids):
        comments = session.execute(
            select(Comment.post_id, Comment.author)
            .where(Comment.post_id.in_(chunk))
            .order_by(Comment.post_id, (Comment.origin == ORIGIN_DISCORD), Comment.position, Comment.posted_at, Comment.id)
        )
        for post_id, author in comments:  # post_comments' order: the last one is the newest
            counts[post_id] = counts.get(post_id, 0) + 1
            newest[post_id] = author
        quotes = session.execute(
            select(Quote.post_id, Quote.number, Treaty.name)
            .outerjoin(Treaty, Treaty.id == Quote.treaty_id)
            .where(Quote.post_id.in_(chunk), Quote.comment_id.is_(None))
            .order_by(Quote.post_id, Quote.offset)
        )
        for post_id, number, treaty in quotes:
            label = f"Article {number} ({treaty})" if treaty else f"Article {number}"
            if label not in articles[post_id]:
                articles[post_id].append(label)
        if guild_id is not None:
            threads.update(
                session.execute(
                    select(PostThread.post_id, PostThread.thread_id).where(PostThread.post_id.in_(chunk), PostThread.guild_id == guild_id)
                ).all()
            )
    return {
        p.id: DigestPost(
            id=p.id,
            title=p.title,
            date=p.date,
            source=p.source,
            summary=summarize(p.body) if p.body.strip() else "",
            articles=articles[p.id],
            comment_count=counts.get(p.id, 0),
            newest_commenter=newest.get(p.id),
            thread_id=threads.get(p.id),
            link=p.link,
        )
        for p in posts
    }


# ----------------------------------------------------------------- status


def status_info(db: Database, *, guild_id: int, now: dt.datetime) -> list[StatusInfo]:
    infos = []
    for sub in list_subscriptions(db, guild_id=guild_id):
        recent = runs_for(db, channel_id=sub.channel_id)
        infos.append(StatusInfo(subscription=sub, last_run=recent[0] if recent else None, next_run=next_run(sub, recent, now), recent=recent))
    return infos


def next_run(sub: Subscription, recent: list[Run], now: dt.datetime) -> dt.datetime:
    """The next digest time that has no run yet (a `/digest now` today moves it to tomorrow)."""
    taken = {r.local_date for r in recent}
    day = sub.local_date(now)
    for offset in range(3):
        candidate = day + dt.timedelta(days=offset)
        at = sub.scheduled_at(candidate)
        if candidate not in taken and at > now and at >= sub.created_at:
            return at
        if candidate not in taken and offset == 0 and sub.created_at <= at <= now:
            return now  # due: the next wake-up sends it (or retries it)
    return sub.scheduled_at(day + dt.timedelta(days=3))


def describe_run(run: Run) -> str:
    """One phrase for a run's result, with the reason when nothing was posted."""
    plural = "s" if run.post_count != 1 else ""
    if run.status == SENT:
        return f"sent, {run.post_count} new post{plural}"
    if run.status == EMPTY:
        return "no new posts, so nothing was posted (quiet digest)" if run.reason == QUIET else "no new posts; posted “No new posts”"
    if run.status == FAILED:
        return f"failed after {run.attempts} attempt{'s' if run.attempts != 1 else ''}: {run.reason or 'unknown error'}"
    if run.status == PARTIAL:
        return f"partly sent: {run.reason}"
    if run.status == SKIPPED:
        return f"skipped: {run.reason or OFFLINE_REASON}"
    return "claimed, but the result was never recorded (the bot stopped while sending?)"


def status_lines(info: StatusInfo, *, now: dt.datetime, channel_problem: str | None = None) -> list[str]:
    """The text `/digest status` shows for one channel's digest."""
    sub = info.subscription
    lines = [
        f"**<#{sub.channel_id}>** — daily at {sub.time:%H:%M} {sub.timezone}"
        + (" (quiet: empty days post nothing)" if sub.quiet else " (empty days post “No new posts”)")
    ]
    if channel_problem:
        lines.append(f"⚠️ {channel_problem}")
    if info.next_run is not None:
        when = "at the next wake-up (due now)" if info.next_run <= now else format_local(info.next_run, sub.timezone)
        lines.append(f"Next run: {when}")
    last = info.last_run
    if last is None:
        lines.append("Last run: none yet")
    else:
        at = last.finished_at or last.claimed_at
        lines.append(f"Last run: {last.local_date:%a %d %b %Y} ({format_local(at, sub.timezone)}) — {describe_run(last)}")
        if last.status == FAILED:
            retry_until = sub.scheduled_at(last.local_date) + RETRY_WINDOW
            if now < retry_until and last.local_date == sub.local_date(now):
                lines.append(f"Retrying each minute until {format_local(retry_until, sub.timezone)}.")
            else:
                lines.append("No more retries for that day; fix the channel and use `/digest now`, or wait for the next run.")
    return lines
