"""Daily digests: the service (claim, due times, DST, content, rendering) and the cog under simcord's virtual time.

simcord's clock starts at 2026-01-01 00:00 UTC; 08:00 in Europe/Berlin is 07:00 UTC in winter.
Downtime is simulated by stopping the scheduler, moving the clock, and starting a fresh bot on the
same database (`restart_bot`), which is also how a restart at the same moment is tested.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import discord
import pytest
import simcord
from sqlalchemy import insert, select

from bot import create_bot
from bot.db import Database
from bot.errors import UserFacingError
from bot.ingest.posts import ParsedPost
from bot.ingest.sentences import split_sentences
from bot.models import Comment, CommentOrigin, DigestRun, DigestStatus, Quote, Treaty
from bot.render import EMBED_TOTAL_LIMIT, EMBEDS_PER_MESSAGE
from bot.render.digest import digest_messages, digest_text
from bot.services import digest as service
from bot.services.loading import post_row
from bot.services.views import DigestView, PostCard
from bot.store.digests import Subscription
from bot.store.posts import upsert_posts

from .helpers import SAMPLE, World, add_post, assert_user_error, one_shard, race, shown

# Advancing virtual hours runs the minute loop 60 times an hour: leave room for a loaded machine
# (still below the loop's 60 s, so its sleeps stay virtual), and advance days with `advance`.
pytestmark = pytest.mark.simcord(settle_timeout=20)

UTC = dt.timezone.utc
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)  # simcord's epoch


def subscription(*, channel_id: int = 2, time: dt.time = dt.time(8, 0), timezone: str = "UTC") -> Subscription:
    """A digest subscription as the service sees one (guild 1), set up at simcord's epoch."""
    return Subscription(id=0, guild_id=1, channel_id=channel_id, time=time, timezone=timezone, quiet=True, created_at=T0)


def runs(db: Database, channel_id: int) -> list[DigestRun]:
    with db.session() as session:
        return list(session.execute(select(DigestRun).where(DigestRun.channel_id == channel_id).order_by(DigestRun.local_date)).scalars())


def digests_in(channel) -> list[discord.Message]:
    return [m for m in channel.history() if m.embeds and m.embeds[0].title.startswith("Daily digest")]


def card_fields(embed: discord.Embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields}


def moment(at: dt.datetime) -> str:
    """A moment as the bot shows it: Discord's full date and time, then how far from now."""
    return f"<t:{int(at.timestamp())}:f> (<t:{int(at.timestamp())}:R>)"


async def advance(env: simcord.Env, seconds: float) -> None:
    """Advance virtual time an hour at a time, each hour within its own settle deadline, so that a
    day's 1,440 minute ticks on a loaded machine (CI under -n auto) do not run out of one."""
    while seconds > 0:
        step = min(seconds, 3600)
        await env.advance_time(step)
        seconds -= step


def command_id(bot, name: str) -> int:
    return bot.command_ids[name]


# ----------------------------------------------------------------- service


def test_parse_time_and_timezone():
    assert service.parse_time("08:00") == dt.time(8, 0)
    assert service.parse_time("8:30 pm") == dt.time(20, 30)
    assert service.parse_time("7") == dt.time(7, 0)
    for bad in ("25:00", "8:75", "noon", "", "13pm"):
        with pytest.raises(UserFacingError, match="HH:MM"):
            service.parse_time(bad)
    assert service.parse_timezone("europe/berlin") == "Europe/Berlin"
    with pytest.raises(UserFacingError, match="IANA"):
        service.parse_timezone("Mars/Olympus")
    assert service.match_timezones("berl") == ["Europe/Berlin"]
    assert len(service.match_timezones("")) == 25
    assert service.match_timezones("new york")[0] == "America/New_York"


def test_scheduled_at_across_dst():
    def at(day: dt.date, time: dt.time = dt.time(8, 0)) -> dt.datetime:
        return subscription(time=time, timezone="Europe/Berlin").scheduled_at(day)

    assert at(dt.date(2026, 3, 28)) == dt.datetime(2026, 3, 28, 7, tzinfo=UTC)
    assert at(dt.date(2026, 3, 29)) == dt.datetime(2026, 3, 29, 6, tzinfo=UTC)
    assert at(dt.date(2026, 10, 24)) == dt.datetime(2026, 10, 24, 6, tzinfo=UTC)
    assert at(dt.date(2026, 10, 25)) == dt.datetime(2026, 10, 25, 7, tzinfo=UTC)
    # 02:30 does not exist on 29 March: it runs at 03:30 CEST, once.
    assert at(dt.date(2026, 3, 29), dt.time(2, 30)) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 happens twice on 25 October: the first one counts.
    assert at(dt.date(2026, 10, 25), dt.time(2, 30)) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_claim_is_exactly_once_and_failed_runs_are_reclaimed_once(db):
    sub = subscription()  # UTC: T0 is local 2026-01-01
    first = service.claim_now(db, sub=sub, now=T0).run
    assert first.local_date == dt.date(2026, 1, 1)
    assert first.status == DigestStatus.CLAIMED and first.since == T0 - service.FIRST_WINDOW
    with pytest.raises(service.DigestTaken, match="already taken care of"):
        service.claim_now(db, sub=sub, now=T0)
    service.finish_run(db, run_id=first.id, status=DigestStatus.FAILED, reason="missing permission", now=T0)
    again = service.claim_now(db, sub=sub, now=T0 + dt.timedelta(minutes=1)).run
    assert again.id == first.id and again.attempts == 2
    with pytest.raises(service.DigestTaken):
        service.claim_now(db, sub=sub, now=T0 + dt.timedelta(minutes=1))
    service.finish_run(db, run_id=first.id, status=DigestStatus.SENT, post_count=3, now=T0)
    # The next day's digest starts where this one ended.
    nxt = service.claim_now(db, sub=sub, now=T0 + dt.timedelta(days=1)).run
    assert nxt.local_date == dt.date(2026, 1, 2) and nxt.since == T0 + dt.timedelta(minutes=1)


def test_concurrent_claimers_on_postgresql(postgres_url):
    """Two processes on one PostgreSQL database (threads with their own engines): exactly one wins."""
    setup = Database(postgres_url)
    setup.upgrade()
    sub = subscription(channel_id=7)
    for attempt in range(10):
        now = T0 + dt.timedelta(days=attempt)
        results = race(postgres_url, lambda database: service.claim_now(database, sub=sub, now=now).run, expected=(service.DigestTaken,))
        assert len(results) == 2 and not any(isinstance(r, Exception) for r in results), results
        assert sum(r is not None for r in results) == 1, results
    assert len(runs(setup, 7)) == 10
    setup.dispose()


def test_build_digest_content(db):
    now = T0 + dt.timedelta(hours=5)
    old = add_post(db, "Old news", date=dt.date(2025, 12, 29), now=T0 - dt.timedelta(days=3))
    new = add_post(db, "Summit ends", date=now.date(), now=now, comments=2)
    with db.session() as session:
        treaty = session.execute(insert(Treaty).values(name="Russia–DPRK Treaty", created_at=now, provenance="", has_text=False).returning(Treaty.id)).scalar_one()
        session.execute(insert(Quote).values(post_id=new, treaty_id=treaty, number=4, offset=10, post_date=now.date()))
        session.execute(insert(Quote).values(post_id=new, treaty_id=treaty, number=4, offset=50, post_date=now.date()))
        session.execute(
            insert(Comment).values(
                post_id=old, position=0, author="Zoe <@123>", text="still relevant", origin=CommentOrigin.DISCORD, created_at=now, posted_at=now
            )
        )
        session.execute(
            insert(Comment).values(post_id=old, position=1, author="Max", text="agreed", origin=CommentOrigin.DISCORD, created_at=now, posted_at=now)
        )
        session.execute(
            insert(Comment).values(post_id=old, position=2, author="Ann", text="yes", origin=CommentOrigin.DISCORD, created_at=now, posted_at=now)
        )
        digest = service.build_digest(session, scope=None, since=now - dt.timedelta(days=1), until=now, local_date=now.date(), timezone="Europe/Berlin")
    assert [p.title for p in digest.posts] == ["Summit ends"]
    post = digest.posts[0]
    assert post.articles == (("Russia–DPRK Treaty", (4,)),)
    assert post.comment_count == 2 and post.newest_commenter == "reader1"
    assert 2 <= len(split_sentences(post.summary)) <= 3
    assert digest.most_discussed.title == "Old news" and digest.most_discussed_comments == 3
    [[heading, card]] = digest_messages(digest)
    assert "Most discussed: **Old news** (3 new comments)" in heading.description
    assert card.title == "Summit ends"
    assert card_fields(card)["Articles quoted"] == "Russia–DPRK Treaty: Article 4"
    assert card_fields(card)["Comments"] == "2, newest by reader1"
    text = digest_text(digest)
    assert "Summit ends" in text and "Most discussed: Old news (3 new comments)" in text


def test_cli_digest_text_is_plain():
    """The CLI prints stored text as it is: no markdown, no escaping backslashes, none removed."""
    card = PostCard(
        id=1, title=r"C:\ drive *news*", date=dt.date(2026, 1, 1), source="RT_x", headline=None, link=None, summary="It happened.",
        articles=(("North_Atlantic Treaty", (4, 5)),), comment_count=1, newest_commenter="a_b",
    )
    now = T0 + dt.timedelta(hours=5)
    digest = DigestView(
        local_date=now.date(), timezone="UTC", since=T0, until=now, posts=(card,), most_discussed=card, most_discussed_comments=2
    )
    lines = digest_text(digest).splitlines()
    assert r"Most discussed: C:\ drive *news* (2 new comments)" in lines
    assert [r"C:\ drive *news*", "  2026-01-01 · RT_x · post #1", "  It happened.", "  Quotes North_Atlantic Treaty: Articles 4, 5", "  1 comment, newest by a_b"] == lines[-5:]


def test_large_digest_is_split_within_limits(db):
    """A thousand new posts: every message within Discord's limits (how fast: bench/scenarios/digest.py)."""
    now = T0 + dt.timedelta(hours=5)
    with db.session() as session:
        for i in range(1000):
            body = " ".join(f"Sentence {j} of post {i} talks about topic {i * j % 17} and treaty {j}." for j in range(12))
            parsed = ParsedPost(date=now.date(), title=f"Post {i} " + "x" * 300, headline=None, source="S", body=body, truncated=False, comments=[])
            upsert_posts(session, rows=[post_row(parsed, loaded_from="test")], now=now)[0]
    with db.session() as session:
        digest = service.build_digest(session, scope=None, since=T0, until=now, local_date=now.date(), timezone="UTC")
    messages = digest_messages(digest)
    assert len(digest.posts) == 1000
    for embeds in messages:
        assert len(embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in embeds) <= EMBED_TOTAL_LIMIT
        for e in embeds:
            assert len(e.title) <= 256 and len(e.description or "") <= 4096
    everything = "\n".join(e.description for embeds in messages for e in embeds)
    assert "…and 940 more new posts" in everything  # said, never cut silently


# ----------------------------------------------------------------- the cog under simcord


class DigestWorld(World):
    """The shared world, plus the digest's admin steps and downtime (posts dated simcord's today)."""

    def __init__(self, env: simcord.Env) -> None:
        super().__init__(env)
        self.settings = env.bot.settings
        self.first = env.bot

    def add_post(self, title: str, **kwargs) -> int:
        return super().add_post(title, **({"date": self.env.now().date()} | kwargs))

    async def setup(self, channel=None, time="08:00", timezone="Europe/Berlin", **options):
        r = await self.admin.slash(channel or self.channel, "digest setup", channel=channel or self.channel, time=time, timezone=timezone, **options)
        assert r.ephemeral
        return r.response.content

    async def status(self) -> str:
        r = await self.admin.slash(self.channel, "digest status")
        assert r.ephemeral
        return r.response.content

    async def restart(self) -> None:
        """A fresh bot process on the same database, at the same moment."""
        old = self.env.bot
        await self.env.restart_bot(create_bot(one_shard(self.settings)))
        if old is not self.first:
            await old.release()  # the first bot is released by the simcord_bot fixture
        self.bot, self.db = self.env.bot, self.env.bot.database

    async def down_for(self, seconds: float) -> None:
        """The bot is offline for a while, then a fresh process starts on the same database."""
        self.env.bot.get_cog("Digest").scheduler.cancel()
        await self.env.settle()
        self.env.backend.advance_clock(seconds)
        await self.restart()


@pytest.fixture
async def world(simcord_env):
    w = DigestWorld(simcord_env)
    yield w
    if w.bot is not w.first:
        await w.bot.release()


async def test_first_digest(world, simcord_env):
    world.add_post("Summit ends", comments=3)
    reply = await world.setup()
    assert f"Next run: {moment(dt.datetime(2026, 1, 1, 7, tzinfo=UTC))}" in reply
    await simcord_env.advance_time(7 * 3600 - 120)
    assert digests_in(world.channel) == []
    await simcord_env.advance_time(121)  # past 08:00 Berlin
    [message] = digests_in(world.channel)
    assert message.embeds[0].title == "Daily digest · Thursday, 1 January 2026"
    post = message.embeds[1]
    assert post.title == "Summit ends"
    assert "The summit opened" in post.description
    fields = card_fields(post)
    assert (fields["Date"], fields["Source"], fields["Comments"]) == ("2026-01-01", "RT", "3, newest by reader2")
    assert fields["Discussion"] == f"No thread yet: start one with </discuss:{command_id(world.bot, 'discuss')}>."
    [run] = runs(world.db, world.channel.id)
    assert (run.status, run.post_count, run.attempts) == ("sent", 1, 1)
    [sent] = [r for r in simcord_env.http_requests if r.method == "POST" and r.path == f"/channels/{world.channel.id}/messages"]
    assert sent.json["allowed_mentions"] == {"parse": []}
    status = await world.status()
    assert f"Last run: {moment(run.finished_at)} — sent, 1 new post" in status
    assert f"Next run: {moment(dt.datetime(2026, 1, 2, 7, tzinfo=UTC))}" in status
    assert "Thu 01 Jan" not in status and "2026-01-01" not in status  # one moment, said once, as Discord shows it


async def test_nothing_new_quiet_posts_nothing(world, simcord_env):
    await world.setup()
    await simcord_env.advance_time(7 * 3600 + 61)
    assert world.channel.history() == []
    [run] = runs(world.db, world.channel.id)
    assert run.status == "empty"
    assert "no new posts, so nothing was posted (quiet digest)" in await world.status()


async def test_nothing_new_not_quiet_says_so(world, simcord_env):
    await world.setup(quiet=False)
    await simcord_env.advance_time(7 * 3600 + 61)
    [message] = world.channel.history()
    assert "No new posts since" in message.content
    assert "posted “No new posts”" in await world.status()


async def test_two_days_in_a_row(world, simcord_env):
    world.add_post("Day one")
    await world.setup()
    await simcord_env.advance_time(7 * 3600 + 61)
    world.add_post("Day two A")
    world.add_post("Day two B")
    await advance(simcord_env, 86400)
    first, second = digests_in(world.channel)
    assert [e.title for e in first.embeds[1:]] == ["Day one"]
    assert {e.title for e in second.embeds[1:]} == {"Day two A", "Day two B"}
    assert second.embeds[0].title == "Daily digest · Friday, 2 January 2026"
    assert [r.status for r in runs(world.db, world.channel.id)] == ["sent", "sent"]


async def test_dst_change_keeps_local_time(world, simcord_env):
    await world.setup(quiet=False)
    await world.down_for(dt.datetime(2026, 3, 28, 6, 30, tzinfo=UTC).timestamp() - simcord_env.now().timestamp())
    await simcord_env.advance_time(31 * 60)  # 08:01 CET on Saturday
    await advance(simcord_env, 23 * 3600)  # 08:01 CEST on Sunday (only 23 hours later)
    saturday, sunday = [r for r in runs(world.db, world.channel.id) if r.status == "empty"]
    assert saturday.local_date == dt.date(2026, 3, 28) and saturday.claimed_at.astimezone(BERLIN).hour == 8
    assert sunday.local_date == dt.date(2026, 3, 29) and sunday.claimed_at.astimezone(BERLIN).hour == 8
    assert sunday.claimed_at - saturday.claimed_at < dt.timedelta(hours=23, minutes=2)
    assert f"Next run: {moment(dt.datetime(2026, 3, 30, 6, tzinfo=UTC))}" in await world.status()


async def test_restart_at_the_same_moment_sends_no_duplicate(world, simcord_env):
    world.add_post("Only once")
    await world.setup()
    await simcord_env.advance_time(7 * 3600 + 61)
    assert len(digests_in(world.channel)) == 1
    await world.restart()  # same virtual moment, same database
    await simcord_env.advance_time(120)
    assert len(digests_in(world.channel)) == 1
    # a second claimer at that moment (another process) gets nothing either
    [sub] = service.list_subscriptions(world.db, guild_id=world.guild.id)
    with pytest.raises(service.DigestTaken):
        service.claim_now(world.db, sub=sub, now=simcord_env.now())
    assert service.due_jobs(world.db, now=simcord_env.now()) == []


async def test_catch_up_after_downtime_the_same_day(world, simcord_env):
    world.add_post("Missed at eight")
    await world.setup()
    await world.down_for(9 * 3600)  # down from 01:00 to 10:00 Berlin
    [message] = digests_in(world.channel)
    assert message.embeds[1].title == "Missed at eight"
    assert simcord_env.now().astimezone(BERLIN).hour == 10
    await simcord_env.advance_time(3600)
    assert len(digests_in(world.channel)) == 1


async def test_days_old_digest_is_skipped_and_status_says_why(world, simcord_env):
    await world.setup()
    await world.down_for(2 * 86400 + 5 * 3600)  # back at 06:00 Berlin on 3 January
    assert digests_in(world.channel) == []
    [run] = runs(world.db, world.channel.id)
    assert (run.local_date, run.status) == (dt.date(2026, 1, 2), "skipped")
    status = await world.status()
    assert "skipped: the bot was offline" in status
    world.add_post("Back again")
    await simcord_env.advance_time(2 * 3600 + 61)
    assert len(digests_in(world.channel)) == 1


async def test_missing_permission_is_recorded_retried_and_does_not_block_others(world, simcord_env):
    me = world.guild.me
    locked = world.guild.create_text_channel("locked", overwrites={me: discord.PermissionOverwrite(send_messages=False)})
    world.add_post("Everyone gets this")
    await world.setup(channel=locked)
    await world.setup(channel=world.channel)
    await simcord_env.advance_time(7 * 3600 + 61)
    assert len(digests_in(world.channel)) == 1
    assert locked.history() == []
    [run] = runs(world.db, locked.id)
    assert run.status == "failed" and "missing permission in #locked: Send Messages" in run.reason
    await simcord_env.advance_time(5 * 60)
    [run] = runs(world.db, locked.id)
    assert run.attempts >= 5
    status = await world.status()
    assert "failed after" in status and "missing permission in #locked" in status and "Retrying each minute until" in status
    await simcord_env.advance_time(3600)  # the retry window ends
    attempts = runs(world.db, locked.id)[0].attempts
    await simcord_env.advance_time(600)
    assert runs(world.db, locked.id)[0].attempts == attempts
    assert "No more retries for that day" in await world.status()


async def test_channel_deleted(world, simcord_env):
    gone = world.guild.create_text_channel("gone")
    await world.setup(channel=gone)
    simcord_env.backend.delete_channel(gone.id)
    await simcord_env.settle()
    world.add_post("Nowhere to go")
    await simcord_env.advance_time(7 * 3600 + 61)
    [run] = runs(world.db, gone.id)
    assert run.status == "failed" and "channel was deleted" in run.reason
    r = await world.admin.slash(world.channel, "digest status")
    assert "the channel was deleted" in r.response.content


async def test_digest_now_counts_as_todays(world, simcord_env):
    world.add_post("Early bird")
    await world.setup()
    r = await world.admin.slash(world.channel, "digest now")
    assert r.ephemeral and "Posted today's digest" in shown(r).content
    assert len(digests_in(world.channel)) == 1
    await simcord_env.advance_time(7 * 3600 + 61)
    assert len(digests_in(world.channel)) == 1
    r = await world.admin.slash(world.channel, "digest now")
    [run] = runs(world.db, world.channel.id)
    assert_user_error(
        simcord_env, r, f"Today's digest for this channel was already taken care of (sent, 1 new post, <t:{int(run.claimed_at.timestamp())}:f>)"
    )
    assert f"Next run: {moment(dt.datetime(2026, 1, 2, 7, tzinfo=UTC))}" in await world.status()


async def test_preview_is_ephemeral_and_claims_nothing(world, simcord_env):
    world.add_post("Preview me", body=SAMPLE.read_text(encoding="utf-8").split("\n\n", 3)[-1][:3000])
    await world.setup()
    r = await world.admin.slash(world.channel, "digest preview")
    assert r.ephemeral
    assert shown(r).embeds[1].title == "Preview me"
    assert runs(world.db, world.channel.id) == []
    assert world.channel.history() == []


async def test_setup_errors_replace_and_off(world, simcord_env):
    r = await world.admin.slash(world.channel, "digest setup", channel=world.channel, time="25:99", timezone="Europe/Berlin")
    assert_user_error(simcord_env, r, "not a time of day")
    r = await world.admin.slash(world.channel, "digest setup", channel=world.channel, time="08:00", timezone="Berlin/Nowhere")
    assert_user_error(simcord_env, r, "not an IANA timezone")
    r = await world.admin.autocomplete(world.channel, "digest setup", "timezone", "new_y")
    assert [c["value"] for c in r] == ["America/New_York"]
    other = world.guild.create_text_channel("other")
    await world.setup()
    reply = await world.setup(time="09:30", timezone="America/New_York")
    assert "09:30 America/New_York" in reply
    reply = await world.setup(channel=other, time="07:00")
    assert "Other digests in this server" in reply
    subs = service.list_subscriptions(world.db, guild_id=world.guild.id)
    assert sorted((s.channel_id, f"{s.time:%H:%M}") for s in subs) == sorted([(world.channel.id, "09:30"), (other.id, "07:00")])
    r = await world.admin.slash(world.channel, "digest off", channel=other)
    assert "stopped" in r.response.content
    assert [s.channel_id for s in service.list_subscriptions(world.db, guild_id=world.guild.id)] == [world.channel.id]


async def test_manage_server_required(world, simcord_env):
    bob = world.bob  # no Manage Server
    with pytest.raises(Exception, match="default-member-permissions"):
        await bob.slash(world.channel, "digest setup", channel=world.channel, time="08:00", timezone="UTC")
    # Even where a server lets everyone see the command, the check still refuses.
    [command] = [c for c in await simcord_env.bot.tree.fetch_commands() if c.name == "digest"]
    world.guild.set_command_permissions(command, {bob: True})
    r = await bob.slash(world.channel, "digest setup", channel=world.channel, time="08:00", timezone="UTC")
    assert r.ephemeral and "Manage Server" in r.response.content
    simcord.assert_error(simcord_env, discord.app_commands.MissingPermissions)
    assert service.list_subscriptions(world.db) == []
