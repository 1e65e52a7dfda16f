"""Daily digests: subscriptions, what is due when, the exactly-once claim, and the digest itself.

Exactly once: before a digest is built or sent, a run row for (channel, local date) is
claimed (`store.digests.claim_run`); only one claimer wins, whether the other is a second bot
process on the same database, the same bot after a restart, or an earlier `/digest now`. The
claim commits on its own before the digest is built and sent (the one use case here that needs
several transactions); the cog sends what it claimed, records each message as it goes
(`record_sent`, which also renews the claim's lease) and records the result with `finish_run`.

A claim is a lease of LEASE: a run still claimed after its lease ran out was lost with its
process (killed, or its machine gone, between the claim and the result). The next wake-up of any
process, or a `/digest now`, takes it over, once, and sends the same digest's messages that were
not sent yet. A sender that finds its claim taken over (it stalled past its lease) stops.

Decisions the issues leave open:
- "new" means loaded (Post.loaded_at) after the previous delivered (sent/empty/partial) digest
  of the channel, up to the claim; the first digest covers the last 24 hours.
- a failure is retried at each wake-up for RETRY_WINDOW after the digest time, the same local day;
  a digest whose time passed while the bot was down is sent when it comes back the same local
  day, else recorded as skipped (only the most recent missed day is recorded).
- a digest never fires for a time before its setup (setting up at 10:00 for 08:00 starts tomorrow).
- "most discussed" counts the comments that arrived in the window: written in Discord (in the
  digest's server) during it. A post file's own comments never count, however new the post: they
  come with it, dated by its readers long before, and are stored again whenever the file changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import Callable
from functools import lru_cache

from sqlmodel import Session

from bot.db import Database
from bot.errors import UserFacingError
from bot.services.posts import cards
from bot.services.views import DigestJob, DigestStatus, DigestStyle, DigestView, Run, StatusInfo, Subscription
from bot.store import digests, posts

log = logging.getLogger(__name__)

FIRST_WINDOW = dt.timedelta(days=1)
LEASE = dt.timedelta(minutes=5)  # a claim not renewed for this long is taken to be lost with its process
RETRY_WINDOW = dt.timedelta(hours=1)
MAX_POSTS = 60  # the most a digest names one by one (`/digest setup max_posts`); beyond it, a count
QUIET = "quiet"  # reason of an empty run that posted nothing
OFFLINE_REASON = "the bot was offline at the digest time and came back on a later day"


# ----------------------------------------------------------------- parsing what admins type

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
    canonical = {n.casefold(): n for n in timezone_names()}.get(wanted.casefold())
    if canonical is None:
        raise UserFacingError(f"`{wanted}` is not an IANA timezone. Pick one from the list, e.g. `Europe/Berlin` or `America/New_York`.")
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


# ----------------------------------------------------------------- subscriptions


def set_subscription(
    db: Database, *, guild_id: int, channel_id: int, time: dt.time, timezone: str, quiet: bool, now: dt.datetime,
    max_posts: int | None = None, style: DigestStyle | str = DigestStyle.FULL, role_id: int | None = None,
) -> tuple[Subscription, dt.datetime, list[Subscription]]:
    """Create the channel's digest (or replace all its settings).

    Returns it, its next run, and the server's other digests.
    """
    try:
        style = DigestStyle(style)
    except ValueError:
        raise UserFacingError(f"Unknown digest style {style!r}; use {' or '.join(DigestStyle)}.") from None
    if max_posts is not None and not 1 <= max_posts <= MAX_POSTS:
        raise UserFacingError(f"max_posts must be between 1 and {MAX_POSTS}.")
    with db.session() as session:
        sub = digests.set_subscription(
            session, guild_id=guild_id, channel_id=channel_id, time=time, timezone=timezone, quiet=quiet, now=now,
            max_posts=max_posts, style=style, role_id=role_id,
        )
        recent = digests.latest_runs(session, channel_id=channel_id)
        others = [s for s in digests.subscriptions(session, guild_id=guild_id) if s.channel_id != channel_id]
    return sub, next_run(sub, recent, now), others


def remove_subscriptions(db: Database, *, guild_id: int, channel_id: int | None = None) -> list[int]:
    """Stop the channel's digest (or every digest of the server); returns the channels stopped."""
    with db.session() as session:
        return digests.delete_subscriptions(session, guild_id=guild_id, channel_id=channel_id)


def list_subscriptions(db: Database, *, guild_id: int | None = None) -> list[Subscription]:
    with db.session() as session:
        return digests.subscriptions(session, guild_id=guild_id)


# ----------------------------------------------------------------- claiming and building


def _claim(session: Session, *, sub: Subscription, local_date: dt.date, now: dt.datetime, retry_failed: bool = True) -> Run | None:
    since = digests.previous_until(session, channel_id=sub.channel_id, before=local_date) or now - FIRST_WINDOW
    return digests.claim_run(
        session, guild_id=sub.guild_id, channel_id=sub.channel_id, local_date=local_date, since=since, now=now,
        lease_until=now + LEASE, retry_failed=retry_failed,
    )


def build_digest(
    session: Session, *, since: dt.datetime, until: dt.datetime, local_date: dt.date, timezone: str, scope: int | None
) -> DigestView:
    """Posts the viewer sees loaded in (since, until], newest first, and the post with the most comments written then."""
    ids = posts.posts_loaded_between(session, since=since, until=until, scope=scope)
    top = digests.most_discussed(session, since=since, until=until, scope=scope)
    extra = [top[0]] if top and top[0] not in ids else []
    by_id = {card.id: card for card in cards(session, post_ids=ids + extra, scope=scope)}
    return DigestView(
        local_date=local_date,
        timezone=timezone,
        since=since,
        until=until,
        posts=tuple(by_id[i] for i in ids if i in by_id),
        most_discussed=by_id.get(top[0]) if top else None,
        most_discussed_comments=top[1] if top else 0,
    )


def _job(db: Database, sub: Subscription, run: Run) -> DigestJob:
    with db.session() as session:
        digest = build_digest(
            session, since=run.since, until=run.until, local_date=run.local_date, timezone=sub.timezone, scope=sub.guild_id
        )
    return DigestJob(subscription=sub, run=run, digest=digest)


def latest_occurrence(sub: Subscription, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The most recent digest time at or before `now`: today's if it has passed, else yesterday's."""
    today = sub.local_date(now)
    at = sub.scheduled_at(today)
    if at <= now:
        return today, at
    yesterday = today - dt.timedelta(days=1)
    return yesterday, sub.scheduled_at(yesterday)


def claim_lost(run: Run, now: dt.datetime) -> bool:
    """A run still claimed whose lease ran out: its process died before recording the result."""
    return run.status == DigestStatus.CLAIMED and (run.lease_until is None or run.lease_until <= now)


def _claimed_job(db: Database, sub: Subscription, day: dt.date, now: dt.datetime) -> DigestJob | None:
    with db.session() as session:
        run = _claim(session, sub=sub, local_date=day, now=now)
    return _job(db, sub, run) if run is not None else None


def _due(db: Database, sub: Subscription, runs: dict[tuple[int, dt.date], Run], now: dt.datetime) -> DigestJob | None:
    today = runs.get((sub.channel_id, sub.local_date(now)))
    if today is not None and claim_lost(today, now):  # also a lost `/digest now` from before the digest time
        return _claimed_job(db, sub, today.local_date, now)
    day, at = latest_occurrence(sub, now)
    if at < sub.created_at:
        return None
    existing = runs.get((sub.channel_id, day))
    if day != sub.local_date(now):
        if existing is None:
            with db.session() as session:
                digests.record_skipped(
                    session, guild_id=sub.guild_id, channel_id=sub.channel_id, local_date=day, now=now, reason=OFFLINE_REASON
                )
            log.info("digest of channel %s for %s skipped: %s", sub.channel_id, day, OFFLINE_REASON)
        return None
    if existing is not None and not (existing.status == DigestStatus.FAILED and now < at + RETRY_WINDOW):
        return None
    return _claimed_job(db, sub, day, now)


def due_jobs(db: Database, *, now: dt.datetime, owns: Callable[[int], bool] | None = None) -> list[DigestJob]:
    """Claim every digest due at `now`, build it, and record the ones missed on earlier days.

    Called by the scheduler each minute. Each claim commits on its own, and a broken
    subscription is logged and skipped: it never stops the others. `owns`: only the servers it
    accepts (a bot process runs some shards; the others' processes send theirs).
    """
    with db.session() as session:
        subs = [s for s in digests.subscriptions(session) if owns is None or owns(s.guild_id)]
        runs = digests.runs_since(session, channel_ids=[s.channel_id for s in subs], first_date=(now - dt.timedelta(days=2)).date())
    jobs = []
    for sub in subs:
        try:
            job = _due(db, sub, runs, now)
        except Exception:
            log.exception("digest of channel %s (guild %s) could not be prepared", sub.channel_id, sub.guild_id)
            continue
        if job is not None:
            jobs.append(job)
    return jobs


class DigestTaken(UserFacingError):
    """Today's digest of the channel has a run already: one digest a day. The message names the
    moment in the digest's timezone; the bot shows it with a Discord timestamp (`render.digest.taken_text`)."""

    def __init__(self, run: Run | None, *, timezone: str, now: dt.datetime | None = None) -> None:
        done = f"{describe_run(run, now=now, timezone=timezone)}, {format_local(run.claimed_at, timezone)}" if run else "claimed, earlier"
        super().__init__(f"Today's digest for this channel was already taken care of ({done}); a channel gets one digest per day.")
        self.run, self.timezone, self.now = run, timezone, now


def claim_now(db: Database, *, sub: Subscription, now: dt.datetime) -> DigestJob:
    """`/digest now`: claim today's digest for the channel (a failed or a lost one again), or say why not."""
    day = sub.local_date(now)
    with db.session() as session:
        run = _claim(session, sub=sub, local_date=day, now=now)
        if run is None:
            raise DigestTaken(digests.run_on(session, channel_id=sub.channel_id, local_date=day), timezone=sub.timezone, now=now)
    return _job(db, sub, run)


def record_sent(db: Database, *, run: Run, messages_sent: int, now: dt.datetime) -> bool:
    """The claimed digest's first `messages_sent` messages went out (one small transaction per message),
    and its lease is renewed. False when the claim was lost to a taker: the sender stops there."""
    with db.session() as session:
        return digests.record_sent(session, run_id=run.id, attempts=run.attempts, messages_sent=messages_sent, lease_until=now + LEASE)


def finish_run(
    db: Database, *, run_id: int, status: DigestStatus, now: dt.datetime, reason: str | None = None, post_count: int = 0,
    attempts: int | None = None, messages_sent: int | None = None,
) -> Run:
    """Record how a claimed digest went; returns the run as stored.

    With `attempts` (the claim's token) nothing is written once the claim was taken over: the run
    returned is then the taker's. A failure after some messages went out is recorded as partly sent.
    """
    with db.session() as session:
        current = digests.get_run(session, run_id=run_id)
        if status == DigestStatus.FAILED and current is not None and current.messages_sent and not messages_sent:
            status, reason = DigestStatus.PARTIAL, f"{_messages(current.messages_sent)} sent, then {reason}"
        digests.finish_run(
            session, run_id=run_id, status=status, now=now, reason=reason, post_count=post_count, attempts=attempts, messages_sent=messages_sent
        )
        return digests.get_run(session, run_id=run_id)


def get_run(db: Database, *, run_id: int) -> Run | None:
    with db.session() as session:
        return digests.get_run(session, run_id=run_id)


def preview_digest(db: Database, *, guild_id: int, channel_id: int | None, timezone: str, now: dt.datetime) -> DigestView:
    """What the channel's next digest would contain if it were sent now (nothing is claimed)."""
    local_date = now.astimezone(zoneinfo.ZoneInfo(timezone)).date()
    with db.session() as session:
        since = None
        if channel_id is not None:
            since = digests.previous_until(session, channel_id=channel_id, before=local_date + dt.timedelta(days=1))
        return build_digest(session, since=since or now - FIRST_WINDOW, until=now, local_date=local_date, timezone=timezone, scope=guild_id)


def digest_for_date(db: Database, *, day: dt.date, timezone: str, scope: int | None = None) -> DigestView:
    """The CLI's digest: the posts loaded during local `day` (everything, or what one server sees)."""
    zone = zoneinfo.ZoneInfo(timezone)
    since = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.timezone.utc)
    until = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone).astimezone(dt.timezone.utc)
    with db.session() as session:
        return build_digest(session, since=since, until=until, local_date=day, timezone=timezone, scope=scope)


# ----------------------------------------------------------------- status


def status_info(db: Database, *, guild_id: int, now: dt.datetime) -> list[StatusInfo]:
    with db.session() as session:
        subs = digests.subscriptions(session, guild_id=guild_id)
        recent = {s.id: digests.latest_runs(session, channel_id=s.channel_id) for s in subs}
    return [
        StatusInfo(subscription=s, last_run=recent[s.id][0] if recent[s.id] else None, next_run=next_run(s, recent[s.id], now), recent=tuple(recent[s.id]))
        for s in subs
    ]


def next_run(sub: Subscription, recent: list[Run], now: dt.datetime) -> dt.datetime:
    """The next digest time that has no run yet (a `/digest now` today moves it to tomorrow); now
    when today's claim was lost (the next wake-up takes it over)."""
    day = sub.local_date(now)
    if any(r.local_date == day and claim_lost(r, now) for r in recent):
        return now
    taken = {r.local_date for r in recent}
    for offset in range(3):
        candidate = day + dt.timedelta(days=offset)
        at = sub.scheduled_at(candidate)
        if candidate not in taken and at > now and at >= sub.created_at:
            return at
        if candidate not in taken and offset == 0 and sub.created_at <= at <= now:
            return now  # due: the next wake-up sends it (or retries it)
    return sub.scheduled_at(day + dt.timedelta(days=3))


def format_local(moment: dt.datetime, timezone: str) -> str:
    """"Thu 01 Jan 2026 08:00 CET": a moment in a digest's own timezone (status and claim texts)."""
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def _messages(n: int) -> str:
    return f"{n} message{'s' if n != 1 else ''}"


def describe_run(run: Run, *, now: dt.datetime | None = None, timezone: str | None = None) -> str:
    """One phrase for a run's result, with the reason when nothing was posted.

    A claimed run is being sent; once its lease ran out at `now` it was interrupted, and is being
    retried if its day (in `timezone`) is still today."""
    plural = "s" if run.post_count != 1 else ""
    if run.status == DigestStatus.SENT:
        return f"sent, {run.post_count} new post{plural}"
    if run.status == DigestStatus.EMPTY:
        return "no new posts, so nothing was posted (quiet digest)" if run.reason == QUIET else "no new posts; posted “No new posts”"
    if run.status == DigestStatus.FAILED:
        return f"failed after {run.attempts} attempt{'s' if run.attempts != 1 else ''}: {run.reason or 'unknown error'}"
    if run.status == DigestStatus.PARTIAL:
        return f"partly sent: {run.reason}"
    if run.status == DigestStatus.SKIPPED:
        return f"skipped: {run.reason or OFFLINE_REASON}"
    if now is None or not claim_lost(run, now):
        return f"being sent now: {_messages(run.messages_sent)} out so far"
    done = f"after {_messages(run.messages_sent)}" if run.messages_sent else "before its first message"
    if timezone is None or run.local_date == now.astimezone(zoneinfo.ZoneInfo(timezone)).date():
        rest = "the rest" if run.messages_sent else "it"
        return f"interrupted {done} (the bot stopped while sending); being retried: the next wake-up sends {rest}"
    return f"interrupted {done} (the bot stopped while sending); not retried, as the bot was not back that day"


def retry_until(sub: Subscription, run: Run, now: dt.datetime) -> dt.datetime | None:
    """Until when a failed run of today is retried each minute (None: no more retries that day)."""
    until = sub.scheduled_at(run.local_date) + RETRY_WINDOW
    return until if run.status == DigestStatus.FAILED and now < until and run.local_date == sub.local_date(now) else None
