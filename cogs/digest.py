"""/digest: daily digests of new posts at each channel's local time, and the scheduler that sends them.

One `tasks.loop` wakes each minute, claims what is due (bot/services/digest.py decides, in local
time and exactly once) and sends it. A channel that fails is recorded with the reason and never
stops the loop or the other servers' digests.

Who may use it: every /digest command needs Manage Server, `/digest preview` too. Discord gives
default permissions to a whole command group, so the group is hidden from members, and each
command checks the permission itself (a server may show the group to members: they can see it,
not use it). The preview is an admin's look at what the channel will get; members read the
digest itself, and `/post list` any day.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.client import PostBot
from bot.errors import UserFacingError
from bot.render import MESSAGE_LIMIT, NO_MENTIONS, split_text
from bot.render import timestamp
from bot.render.digest import (
    DigestLayout, digest_empty_text, digest_messages, moment, role_mentions, role_ping, settings_line, status_lines, taken_text,
)
from bot.services import digest
from bot.services.digest import describe_run
from bot.services.views import DigestJob, DigestStatus, DigestStyle, Run, Subscription
from cogs._options import timezone_autocomplete
from cogs._ui import Paginator

log = logging.getLogger(__name__)

NEEDED = ("view_channel", "send_messages", "embed_links")
SENDERS = 32  # digests being sent at once per scheduler tick


def permission_names(names: list[str]) -> str:
    return ", ".join(n.replace("_", " ").title() for n in names)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Digest(commands.GroupCog, group_name="digest", group_description="Daily digests of new posts"):
    """Daily digests per channel, sent by one scheduler loop."""

    def __init__(self, bot: PostBot) -> None:
        self.bot = bot
        self.db = bot.database

    async def cog_load(self) -> None:
        self.scheduler.start()

    async def cog_unload(self) -> None:
        self.scheduler.cancel()

    # ------------------------------------------------------------- scheduler

    @tasks.loop(minutes=1)
    async def scheduler(self) -> None:
        """Claim and send every digest that is due in this process's servers (its shards); nothing here
        may end the loop. A shutdown lets a tick finish."""
        with self.bot.working():
            try:
                jobs = await self.db.call(digest.due_jobs, now=discord.utils.utcnow(), owns=self.bot.owns_guild)
            except Exception:
                log.exception("could not compute due digests")
                return
            # A few senders at a time are enough to keep the paced rate busy (bot/pacing.py), and
            # thousands of digests due at once do not become thousands of waiting tasks.
            queue = iter(jobs)
            await asyncio.gather(*(self._deliver_each(queue) for _ in range(min(len(jobs), SENDERS))))

    async def _deliver_each(self, queue) -> None:
        """One sender: the next claimed digest until none is left; at shutdown the rest stay claimed,
        and whoever runs next takes them over once their leases run out."""
        for job in queue:
            if self.bot.stopping:
                return
            await self._deliver_safely(job)

    @scheduler.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def _deliver_safely(self, job: DigestJob) -> None:
        try:
            await self.deliver(job)
        except Exception as exc:
            log.exception("digest of channel %s (guild %s) failed", job.subscription.channel_id, job.subscription.guild_id)
            await self.db.call(
                digest.finish_run, run_id=job.run.id, attempts=job.run.attempts, status=DigestStatus.FAILED,
                reason=f"internal error ({exc.__class__.__name__})", now=discord.utils.utcnow(),
            )
            self.bot.metrics.digest_done(DigestStatus.FAILED)

    def channel_problem(self, guild_id: int, channel_id: int) -> str | None:
        """Why the bot cannot post the digest in the channel, or None."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return "the bot is no longer in this server"
        channel = guild.get_channel(channel_id)
        if channel is None:
            return "the channel was deleted; run `/digest setup` with another channel"
        missing = [name for name in NEEDED if not getattr(channel.permissions_for(guild.me), name)]
        if missing:
            return f"missing permission in #{channel.name}: {permission_names(missing)}"
        return None

    async def deliver(self, job: DigestJob) -> Run:
        """Send what of a claimed digest is not out yet and record the result; returns the run as stored.

        A claim lost midway (this process stalled past its lease and another took it over) is left
        to the one that took it."""
        sub, run = job.subscription, job.run
        status, reason, sent = await self._send(sub, job)
        if status is None:
            log.warning("digest of channel %s for %s: claim lost after %d messages, another process finishes it", sub.channel_id, run.local_date, sent)
            return await self.db.call(digest.get_run, run_id=run.id)
        finished = await self.db.call(
            digest.finish_run, run_id=run.id, attempts=run.attempts, status=status, reason=reason, post_count=len(job.digest.posts),
            messages_sent=sent, now=discord.utils.utcnow(),
        )
        log.info("digest of channel %s for %s: %s %s (%d messages)", sub.channel_id, run.local_date, status, reason or "", sent)
        self.bot.metrics.digest_done(status, quiet=reason == digest.QUIET)
        return finished

    async def _send(self, sub: Subscription, job: DigestJob) -> tuple[DigestStatus | None, str | None, int]:
        """Send the digest's messages not sent yet (a taken-over run had sent some), recording each as it
        goes: (status, reason, messages out), status None when the claim was lost midway."""
        done = job.run.messages_sent
        problem = self.channel_problem(sub.guild_id, sub.channel_id)
        if problem:
            return _stopped(done, problem)
        if job.digest.empty and sub.quiet:
            return DigestStatus.EMPTY, digest.QUIET, 0
        channel = self.bot.get_channel(sub.channel_id)
        if job.digest.empty:
            messages = [{"content": digest_empty_text(job.digest), "allowed_mentions": NO_MENTIONS}]
        else:
            pages = await asyncio.to_thread(digest_messages, job.digest, self.layout(sub))
            messages = [{"embeds": embeds, "allowed_mentions": NO_MENTIONS} for embeds in pages]
            if sub.role_id:  # the first message mentions the digest's role, and may ping only it
                messages[0] |= {"content": role_ping(sub), "allowed_mentions": role_mentions(sub)}
        # Queued behind thousands of digests (bot/pacing.py), one may wait for minutes: past half its lease
        # it is renewed before the next message, so no other process takes it over (and sends it twice).
        renew_at = (job.run.lease_until or discord.utils.utcnow()) - digest.LEASE / 2
        try:
            for message in messages[done:]:
                await self.bot.pacer.take()  # one request under Discord's global limit
                if discord.utils.utcnow() >= renew_at:
                    if not await self.db.call(digest.record_sent, run=job.run, messages_sent=done, now=discord.utils.utcnow()):
                        return None, None, done
                    renew_at = discord.utils.utcnow() + digest.LEASE / 2
                await channel.send(**message)
                done += 1
                last = done == len(messages)  # the last one is recorded with the result, by `finish_run`
                if not last and not await self.db.call(digest.record_sent, run=job.run, messages_sent=done, now=discord.utils.utcnow()):
                    return None, None, done
                renew_at = discord.utils.utcnow() + digest.LEASE / 2
        except discord.Forbidden as exc:
            reason = f"missing permission in #{channel.name} (Discord: {exc.text or exc.status})"
        except discord.NotFound:
            reason = "the channel was deleted"
        except discord.HTTPException as exc:
            reason = f"Discord error {exc.status}: {exc.text or 'no details'}"
        else:
            return (DigestStatus.EMPTY if job.digest.empty else DigestStatus.SENT), None, done
        return _stopped(done, reason, len(messages))

    # ------------------------------------------------------------- commands

    def layout(self, sub: Subscription | None) -> DigestLayout:
        return DigestLayout.of(sub, discuss=self.bot.mention("discuss"))

    async def _subscription(self, interaction: discord.Interaction, channel: discord.abc.GuildChannel | None) -> Subscription | None:
        """The digest the command means: `channel`'s, else the server's only one (None when it has none)."""
        subs = await self.db.call(digest.list_subscriptions, guild_id=interaction.guild_id)
        if channel is not None:
            for sub in subs:
                if sub.channel_id == channel.id:
                    return sub
            raise UserFacingError(f"{channel.mention} has no digest. Set one up with `/digest setup`.")
        if len(subs) > 1:
            names = ", ".join(f"<#{s.channel_id}>" for s in subs)
            raise UserFacingError(f"This server has several digests ({names}); pick one with the `channel` option.")
        return subs[0] if subs else None

    @app_commands.command(name="setup")
    @app_commands.describe(
        channel="Where the digest is posted",
        time="Local time of day, 24-hour HH:MM (e.g. 08:00)",
        timezone="IANA timezone, e.g. Europe/Berlin",
        quiet="On days without new posts: post nothing (default) or post “No new posts”",
        max_posts=f"Posts shown: cards in the full style (default 5, at most 20), lines in the compact one (default 30); at most {digest.MAX_POSTS}",
        style="full: a card a post, then a line each; compact: one linked line a post",
        role="A role the digest mentions (pings) each day; no one else is ever pinged",
    )
    @app_commands.choices(style=[app_commands.Choice(name=s.value, value=s.value) for s in DigestStyle])
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def setup_digest(
        self, interaction: discord.Interaction, channel: discord.TextChannel, time: str, timezone: str, quiet: bool = True,
        max_posts: app_commands.Range[int, 1, digest.MAX_POSTS] | None = None, style: str = DigestStyle.FULL.value,
        role: discord.Role | None = None,
    ) -> None:
        """Post a daily digest of new posts in a channel at a local time (replaces that channel's digest)."""
        at, zone = digest.parse_time(time), digest.parse_timezone(timezone)
        if role is not None and role.is_default():
            raise UserFacingError("A digest cannot ping @everyone; pick a role (or leave `role` out).")
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing may wait for the database
        sub, next_run, others = await self.db.call(
            digest.set_subscription, guild_id=interaction.guild_id, channel_id=channel.id, time=at, timezone=zone, quiet=quiet,
            max_posts=max_posts, style=style, role_id=role.id if role else None, now=discord.utils.utcnow(),
        )
        lines = [
            f"Daily digest set for {channel.mention}: {settings_line(sub, self.layout(sub))}.",
            f"Next run: {moment(next_run)}.",
        ]
        if problem := self.channel_problem(interaction.guild_id, channel.id):
            lines.append(f"⚠️ I cannot post there yet: {problem}.")
        if role is not None and not role.mentionable and not channel.permissions_for(interaction.guild.me).mention_everyone:
            lines.append(f"⚠️ {role.mention} is not mentionable: the digest names it, but Discord notifies no one unless the role allows mentions.")
        if others:
            lines.append(
                "Other digests in this server: " + ", ".join(f"<#{s.channel_id}> at {s.time:%H:%M} {s.timezone}" for s in others)
                + " (stop one with `/digest off channel:`)."
            )
        await interaction.followup.send("\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="off")
    @app_commands.describe(channel="The channel whose digest stops (default: every digest of this server)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def off(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Stop the daily digest of a channel, or of the whole server."""
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing may wait for the database
        stopped = await self.db.call(digest.remove_subscriptions, guild_id=interaction.guild_id, channel_id=channel.id if channel else None)
        if not stopped:
            where = channel.mention if channel else "This server"
            raise UserFacingError(f"{where} has no daily digest; nothing to stop.")
        names = ", ".join(f"<#{c}>" for c in stopped)
        await interaction.followup.send(f"Daily digest stopped for {names}.", ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="now")
    @app_commands.describe(channel="The digest to post (needed when the server has several)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def now(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Post today's digest now; it counts as today's, so the scheduled one will not repeat it."""
        sub = await self._subscription(interaction, channel)
        if sub is None:
            raise UserFacingError("This server has no digest yet. Set one up with `/digest setup`.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            job = await self.db.call(digest.claim_now, sub=sub, now=discord.utils.utcnow())
        except digest.DigestTaken as taken:
            raise UserFacingError(taken_text(taken)) from None
        try:
            run = await self.deliver(job)
        except Exception:
            await self.db.call(
                digest.finish_run, run_id=job.run.id, attempts=job.run.attempts, status=DigestStatus.FAILED, reason="internal error",
                now=discord.utils.utcnow(),
            )
            raise
        since = timestamp(job.digest.since, "f")
        where = f"<#{sub.channel_id}>"
        earlier = job.run.messages_sent  # a lost claim taken over: its first messages had gone out
        if run.status == DigestStatus.SENT and earlier:
            more = run.messages_sent - earlier
            text = (
                f"Posted the rest of today's digest in {where} ({describe_run(run)} since {since}): {more} more message{'s' if more != 1 else ''};"
                f" {earlier} had gone out before the bot stopped."
            )
        elif run.status == DigestStatus.SENT:
            text = f"Posted today's digest in {where} ({describe_run(run)} since {since})."
        elif run.status == DigestStatus.EMPTY:
            text = f"Today's digest for {where}: {describe_run(run)} since {since}."
        else:
            text = f"Today's digest for {where} {describe_run(run, now=discord.utils.utcnow(), timezone=sub.timezone)}."
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="preview")
    @app_commands.describe(channel="Preview this channel's digest (default: the server's only digest)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def preview(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Show, only to you, what the digest would contain if it were posted now."""
        sub = await self._subscription(interaction, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        shown = await self.db.call(
            digest.preview_digest,
            guild_id=interaction.guild_id,
            channel_id=sub.channel_id if sub else None,
            timezone=sub.timezone if sub else self.bot.settings.default_timezone,
            now=discord.utils.utcnow(),
        )
        if shown.empty:
            await interaction.followup.send(digest_empty_text(shown), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        pages = await asyncio.to_thread(digest_messages, shown, self.layout(sub))
        await Paginator(pages, owner_id=interaction.user.id).send(interaction, ephemeral=True)

    @app_commands.command(name="status")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def status(self, interaction: discord.Interaction) -> None:
        """When each digest of this server runs next, how the last run went, and why nothing was posted."""
        now = discord.utils.utcnow()
        infos = await self.db.call(digest.status_info, guild_id=interaction.guild_id, now=now)
        if not infos:
            raise UserFacingError("This server has no daily digest. Set one up with `/digest setup`.")
        blocks = [
            "\n".join(status_lines(info, now=now, channel_problem=self.channel_problem(interaction.guild_id, info.subscription.channel_id)))
            for info in infos
        ]
        chunks = split_text("\n\n".join(blocks), MESSAGE_LIMIT)
        await interaction.response.send_message(chunks[0], ephemeral=True, allowed_mentions=NO_MENTIONS)
        for chunk in chunks[1:]:
            await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=NO_MENTIONS)


def _stopped(done: int, reason: str, total: int | None = None) -> tuple[DigestStatus, str, int]:
    """A digest that could not be sent in full: failed when nothing went out, else partly sent."""
    if not done:
        return DigestStatus.FAILED, reason, 0
    return DigestStatus.PARTIAL, f"{done}{f' of {total}' if total else ''} messages sent, then {reason}", done


async def setup(bot: PostBot) -> None:
    await bot.add_cog(Digest(bot))
