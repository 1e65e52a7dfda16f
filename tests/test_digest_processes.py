"""Exactly once across processes: a digest whose process died mid-send is finished by another, once.

A claim is a lease (`bot.services.digest.LEASE`): a run still "claimed" after its lease ran out was
lost with its process, and the next wake-up (or `/digest now`) takes it over, sending only the messages
the first process had not sent. Every bot here runs on SQLite and on the test's own PostgreSQL
database. The two-process test runs a second bot, tests/digest_child.py, in its own OS process and its
own simcord, in a server and channel with the same ids, and kills it with SIGKILL right after its first
message; simcord's clock starts at 2026-01-01 00:00 UTC in both processes.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select as query

from bot import Settings
from bot.db import Database
from bot.models import DigestRun
from bot.render.digest import DigestLayout, digest_messages
from bot.services import digest as service

from .digest_child import pinned_text_channel
from .helpers import ROOT, World, add_post, assert_user_error, race, shown

pytestmark = pytest.mark.simcord(settle_timeout=20)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # simcord's epoch
GUILD_ID = 1_000_000_000_000_000_001  # ids below what simcord hands out in 2026, pinned in both processes
CHANNEL_ID = 1_000_000_000_000_000_002
CHILD_TIMEOUT = 60  # real seconds for the child to start, claim and send its first message


@pytest.fixture
def settings(database_url) -> Settings:
    """This module's bots run on SQLite and on PostgreSQL."""
    return Settings(database_url=database_url)


def runs(db: Database, channel_id: int) -> list[DigestRun]:
    with db.session() as session:
        return list(session.execute(query(DigestRun).where(DigestRun.channel_id == channel_id).order_by(DigestRun.local_date)).scalars())


def expected_messages(db: Database, run: DigestRun, *, scope: int) -> list[list[str]]:
    """The titles of the embeds of each message of the run's digest, as the bot renders it (a card a post: several messages)."""
    with db.session() as session:
        view = service.build_digest(session, since=run.since, until=run.until, local_date=run.local_date, timezone="UTC", scope=scope)
    return [[e.title for e in embeds] for embeds in digest_messages(view, DigestLayout(max_posts=CARDS))]


def posted(channel) -> list[list[str]]:
    return [[e.title for e in m.embeds] for m in channel.history()]


async def status(world: World) -> str:
    r = await world.admin.slash(world.channel, "digest status")
    assert r.ephemeral
    return shown(r).content


CARDS = 20  # cards a digest here shows: its 25 posts make three messages


def subscribe(db: Database, *, guild_id: int, channel_id: int, time: dt.time, now: dt.datetime):
    return service.set_subscription(db, guild_id=guild_id, channel_id=channel_id, time=time, timezone="UTC", quiet=True, now=now, max_posts=CARDS)


def kill_after_first_message(database_url: str, *, seconds: float, log) -> int:
    """Run tests/digest_child.py until it is about to post the digest's second message, then SIGKILL it.

    Returns how many digest messages the child had posted (to its own simcord's channel)."""
    with open(log, "wb") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.digest_child", database_url, str(GUILD_ID), str(CHANNEL_ID), str(seconds)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
        )
    try:
        ready, _, _ = select.select([child.stdout], [], [], CHILD_TIMEOUT)
        line = child.stdout.readline().decode() if ready else "(nothing)"
        assert line.startswith("READY "), f"the child said {line!r}; its log ends:\n{log.read_text(errors='replace')[-4000:]}"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
        return int(line.split()[1])
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


async def test_a_digest_killed_mid_send_is_finished_by_another_process_once(simcord_env, settings, tmp_path):
    env, db = simcord_env, simcord_env.bot.database
    guild = env.create_guild(name="digest processes", id=GUILD_ID)
    channel = pinned_text_channel(env, guild, "digest", CHANNEL_ID)
    for i in range(25):
        add_post(db, f"Post {i:02d}", date=env.now().date(), now=env.now())
    subscribe(db, guild_id=GUILD_ID, channel_id=CHANNEL_ID, time=dt.time(0, 10), now=env.now())

    # The child's clock reaches 00:10, it claims the digest, posts the first message and dies.
    sent_by_child = kill_after_first_message(settings.database_url, seconds=11 * 60, log=tmp_path / "child.log")
    assert sent_by_child == 1
    [run] = runs(db, CHANNEL_ID)
    assert (run.status, run.messages_sent, run.attempts) == ("claimed", 1, 1)
    expected = expected_messages(db, run, scope=GUILD_ID)
    assert len(expected) >= 3 and expected[0][0].startswith("Daily digest")

    # This bot leaves the claim alone while its lease holds, although its process is gone...
    await env.advance_time((run.lease_until - env.now()).total_seconds() - 30)
    assert posted(channel) == []
    assert runs(db, CHANNEL_ID)[0].messages_sent == 1
    # ... and once it ran out, takes it over and sends only what the child had not sent.
    await env.advance_time(100)
    assert posted(channel) == expected[1:]
    [run] = runs(db, CHANNEL_ID)
    assert (run.status, run.messages_sent, run.attempts, run.post_count) == ("sent", len(expected), 2, 25)
    await env.advance_time(3600)  # later wake-ups send nothing again
    assert posted(channel) == expected[1:]
    assert runs(db, CHANNEL_ID)[0].status == "sent"


async def test_a_claim_whose_process_vanished_is_sent_by_the_next_wake_up_after_its_lease(simcord_env):
    world = World(simcord_env)
    for title in ("One", "Two", "Three"):
        world.add_post(title, date=simcord_env.now().date())
    subscribe(world.db, guild_id=world.guild.id, channel_id=world.channel.id, time=dt.time(0, 0), now=simcord_env.now())
    await simcord_env.advance_time(30)
    assert runs(world.db, world.channel.id) == []  # the bot's wake-up at 00:00 came before the setup
    # Another process claims the digest at 00:00:30 and vanishes before sending anything.
    assert len(service.due_jobs(world.db, now=simcord_env.now())) == 1

    await simcord_env.advance_time(155)  # 00:03:05: the claim's lease still holds
    assert world.channel.history() == []
    assert "being sent now: 0 messages out so far" in await status(world)
    await simcord_env.advance_time(155)  # 00:05:40: it ran out at 00:05:30
    assert world.channel.history() == []
    text = await status(world)
    assert "never recorded" not in text
    assert "interrupted before its first message" in text and "being retried: the next wake-up sends it" in text
    assert "Next run: at the next wake-up (due now)" in text

    await simcord_env.advance_time(30)  # the wake-up at 00:06 takes it over
    [message] = world.channel.history()
    assert message.embeds[0].title == "Daily digest · Thursday, 1 January 2026"
    assert {e.title for e in message.embeds[1:]} == {"One", "Two", "Three"}
    [run] = runs(world.db, world.channel.id)
    assert (run.status, run.attempts, run.messages_sent, run.post_count) == ("sent", 2, 1, 3)
    await simcord_env.advance_time(3600)
    assert len(world.channel.history()) == 1
    assert "sent, 3 new posts" in await status(world)


async def test_digest_now_waits_for_a_live_claim_and_finishes_a_lost_one(simcord_env):
    world = World(simcord_env)
    for i in range(25):
        world.add_post(f"Post {i:02d}", date=simcord_env.now().date())
    sub, _, _ = subscribe(world.db, guild_id=world.guild.id, channel_id=world.channel.id, time=dt.time(23, 0), now=simcord_env.now())
    await simcord_env.advance_time(30)
    # Another process's `/digest now`: it claims, sends the first message (to a channel we do not see), and dies.
    lost = service.claim_now(world.db, sub=sub, now=simcord_env.now())
    assert service.record_sent(world.db, run=lost.run, messages_sent=1, now=simcord_env.now())
    expected = expected_messages(world.db, runs(world.db, world.channel.id)[0], scope=world.guild.id)
    assert len(expected) >= 3

    await simcord_env.advance_time(60)
    r = await world.admin.slash(world.channel, "digest now")
    assert_user_error(simcord_env, r, f"already taken care of (being sent now: 1 message out so far, <t:{int(lost.run.claimed_at.timestamp())}:f>)")
    assert world.channel.history() == []

    await simcord_env.advance_time(250)  # 00:05:40: its lease ran out at 00:05:30
    r = await world.admin.slash(world.channel, "digest now")
    assert r.ephemeral and "Posted the rest of today's digest" in shown(r).content, shown(r).content
    assert f"{len(expected) - 1} more messages; 1 had gone out before" in shown(r).content
    assert posted(world.channel) == expected[1:]
    [run] = runs(world.db, world.channel.id)
    assert (run.status, run.attempts, run.messages_sent) == ("sent", 2, len(expected))
    await simcord_env.advance_time(3600)
    assert posted(world.channel) == expected[1:]


def test_one_taker_wins_an_expired_claim_on_postgresql(postgres_url):
    """Two processes (threads with their own engines) wake up after a lost claim's lease: one takes it."""
    setup = Database(postgres_url)
    subscribe(setup, guild_id=1, channel_id=7, time=dt.time(0, 0), now=T0)
    for day in range(5):
        claimed_at = T0 + dt.timedelta(days=day, seconds=10)
        [lost] = service.due_jobs(setup, now=claimed_at)
        taken_at = claimed_at + service.LEASE + dt.timedelta(seconds=1)
        results = race(postgres_url, lambda database: service.due_jobs(database, now=taken_at))
        assert sorted(len(r) for r in results) == [0, 1], results
        [[job]] = [r for r in results if r]
        assert (job.run.id, job.run.attempts) == (lost.run.id, 2)
    setup.dispose()


def test_a_sender_renews_its_lease_and_stops_writing_once_taken_over(db):
    """Each recorded message renews the lease; after it ran out, the taker's claim fences the old sender off."""
    subscribe(db, guild_id=1, channel_id=9, time=dt.time(0, 0), now=T0)
    [first] = service.due_jobs(db, now=T0 + dt.timedelta(seconds=10))
    assert service.record_sent(db, run=first.run, messages_sent=1, now=T0 + dt.timedelta(minutes=1))
    assert service.due_jobs(db, now=T0 + dt.timedelta(minutes=5, seconds=30)) == []  # renewed: held until 00:06
    [taker] = service.due_jobs(db, now=T0 + dt.timedelta(minutes=6, seconds=1))
    assert (taker.run.id, taker.run.attempts, taker.run.messages_sent) == (first.run.id, 2, 1)
    assert (taker.digest.since, taker.digest.until) == (first.digest.since, first.digest.until)  # the same digest
    # The first sender, had it only stalled, can no longer record anything.
    later = T0 + dt.timedelta(minutes=7)
    assert not service.record_sent(db, run=first.run, messages_sent=2, now=later)
    stored = service.finish_run(db, run_id=first.run.id, attempts=first.run.attempts, status="sent", messages_sent=3, now=later)
    assert (stored.status, stored.attempts, stored.messages_sent) == ("claimed", 2, 1)
    # The taker dies too: on a later day the run is described as not retried, and nothing takes it.
    next_day = T0 + dt.timedelta(days=1, minutes=30)
    [lost] = runs(db, 9)
    assert "not retried, as the bot was not back that day" in service.describe_run(service.get_run(db, run_id=lost.id), now=next_day, timezone="UTC")
    [tomorrow] = service.due_jobs(db, now=next_day)
    assert tomorrow.run.local_date == dt.date(2026, 1, 2)
    assert service.get_run(db, run_id=lost.id).attempts == 2
