"""/digest: daily digests of new posts at each channel's local time, and the scheduler that sends them.

One `tasks.loop` wakes each minute, claims what is due (bot/services/digest.py decides, in local
time and exactly once) and sends it. A channel that fails is recorded with the reason and never
stops the loop or the other servers' digests.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.errors import UserFacingError
from bot.paginator import Paginator
from bot.render import AUTOCOMPLETE_MAX, MESSAGE_LIMIT, NO_MENTIONS, digest_empty_text, digest_messages, split_text
from bot.services import digest as service

log = logging.getLogger(__name__)

NEEDED = ("view_channel", "send_messages", "embed_links")


def permission_names(names: list[str]) -> str:
    return ", ".join(n.replace("_", " ").title() for n in names)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Digest(commands.GroupCog, group_name="digest", group_description="Daily digests of new posts"):
    """Daily digests per channel, sent by one scheduler loop."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.database = bot.database

    async def cog_load(self) -> None:
        self.scheduler.start()

    async def cog_unload(self) -> None:
        self.scheduler.cancel()

    # ------------------------------------------------------------- scheduler

    @tasks.loop(minutes=1)
    async def scheduler(self) -> None:
        """Claim and send every digest that is due; nothing here may end the loop."""
        now = discord.utils.utcnow()
        try:
            jobs = await self.database.run(service.due_jobs, self.database, now=now)
        except Exception:
            log.exception("could not compute due digests")
            return
        if jobs:
            await asyncio.gather(*(self._deliver_safely(job) for job in jobs))

    @scheduler.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def _deliver_safely(self, job: service.Job) -> None:
        try:
            await self.deliver(job)
        except Exception as exc:
            log.exception("digest of channel %s (guild %s) failed", job.subscription.channel_id, job.subscription.guild_id)
            await self.database.run(
                service.finish_run,
                self.database,
                run_id=job.run.id,
                status=service.FAILED,
                reason=f"internal error ({exc.__class__.__name__})",
                now=discord.utils.utcnow(),
            )

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

    async def deliver(self, job: service.Job) -> service.Run:
        """Send a claimed digest and record the result; returns the finished run."""
        sub, run, digest = job.subscription, job.run, job.digest
        status, reason, sent = await self._send(sub, digest)
        await self.database.run(
            service.finish_run,
            self.database,
            run_id=run.id,
            status=status,
            reason=reason,
            post_count=len(digest.posts),
            now=discord.utils.utcnow(),
        )
        log.info("digest of channel %s for %s: %s %s (%d messages)", sub.channel_id, run.local_date, status, reason or "", sent)
        return await self.database.run(service.get_run, self.database, run_id=run.id)

    async def _send(self, sub: service.Subscription, digest: service.Digest) -> tuple[str, str | None, int]:
        problem = self.channel_problem(sub.guild_id, sub.channel_id)
        if problem:
            return service.FAILED, problem, 0
        if digest.empty and sub.quiet:
            return service.EMPTY, service.QUIET, 0
        channel = self.bot.get_channel(sub.channel_id)
        sent = 0
        try:
            if digest.empty:
                await channel.send(digest_empty_text(digest), allowed_mentions=NO_MENTIONS)
                return service.EMPTY, None, 1
            messages = await asyncio.to_thread(digest_messages, digest)
            for embeds in messages:
                await channel.send(embeds=embeds, allowed_mentions=NO_MENTIONS)
                sent += 1
        except discord.Forbidden as exc:
            reason = f"missing permission in #{channel.name} (Discord: {exc.text or exc.status})"
        except discord.NotFound:
            reason = "the channel was deleted"
        except discord.HTTPException as exc:
            reason = f"Discord error {exc.status}: {exc.text or 'no details'}"
        else:
            return service.SENT, None, sent
        if sent:
            return service.PARTIAL, f"{sent} of {len(messages)} messages sent, then {reason}", sent
        return service.FAILED, reason, 0

    # ------------------------------------------------------------- commands

    def _subscription_for(self, subs: list[service.Subscription], channel: discord.abc.GuildChannel | None) -> service.Subscription:
        if channel is not None:
            for sub in subs:
                if sub.channel_id == channel.id:
                    return sub
            raise UserFacingError(f"{channel.mention} has no digest. Set one up with `/digest setup`.")
        if not subs:
            raise UserFacingError("This server has no digest yet. Set one up with `/digest setup`.")
        if len(subs) > 1:
            names = ", ".join(f"<#{s.channel_id}>" for s in subs)
            raise UserFacingError(f"This server has several digests ({names}); pick one with the `channel` option.")
        return subs[0]

    @app_commands.command(name="setup")
    @app_commands.describe(
        channel="Where the digest is posted",
        time="Local time of day, 24-hour HH:MM (e.g. 08:00)",
        timezone="IANA timezone, e.g. Europe/Berlin",
        quiet="On days without new posts: post nothing (default) or post “No new posts”",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def setup_digest(
        self, interaction: discord.Interaction, channel: discord.TextChannel, time: str, timezone: str, quiet: bool = True
    ) -> None:
        """Post a daily digest of new posts in a channel at a local time (replaces that channel's digest)."""
        at = service.parse_time(time)
        zone = service.parse_timezone(timezone)
        now = discord.utils.utcnow()
        sub = await self.database.run(
            service.set_subscription,
            self.database,
            guild_id=interaction.guild_id,
            channel_id=channel.id,
            time=at,
            timezone=zone,
            quiet=quiet,
            now=now,
        )
        others = [s for s in await self.database.run(service.list_subscriptions, self.database, guild_id=interaction.guild_id) if s.channel_id != channel.id]
        recent = await self.database.run(service.runs_for, self.database, channel_id=channel.id)
        next_run = service.next_run(sub, recent, now)
        lines = [
            f"Daily digest set for {channel.mention} at {at:%H:%M} {zone}"
            + (" (quiet on empty days)." if quiet else " (posts “No new posts” on empty days)."),
            f"Next run: {service.format_local(next_run, zone)}.",
        ]
        problem = self.channel_problem(interaction.guild_id, channel.id)
        if problem:
            lines.append(f"⚠️ I cannot post there yet: {problem}.")
        if others:
            lines.append("Other digests in this server: " + ", ".join(f"<#{s.channel_id}> at {s.time:%H:%M} {s.timezone}" for s in others)
                         + " (stop one with `/digest off channel:`).")
        await interaction.response.send_message("\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @setup_digest.autocomplete("timezone")
    async def timezone_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in service.match_timezones(current, AUTOCOMPLETE_MAX)]

    @app_commands.command(name="off")
    @app_commands.describe(channel="The channel whose digest stops (default: every digest of this server)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def off(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Stop the daily digest of a channel, or of the whole server."""
        stopped = await self.database.run(
            service.remove_subscriptions, self.database, guild_id=interaction.guild_id, channel_id=channel.id if channel else None
        )
        if not stopped:
            where = channel.mention if channel else "This server"
            raise UserFacingError(f"{where} has no daily digest; nothing to stop.")
        names = ", ".join(f"<#{c}>" for c in stopped)
        await interaction.response.send_message(f"Daily digest stopped for {names}.", ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="now")
    @app_commands.describe(channel="The digest to post (needed when the server has several)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def now(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Post today's digest now; it counts as today's, so the scheduled one will not repeat it."""
        subs = await self.database.run(service.list_subscriptions, self.database, guild_id=interaction.guild_id)
        sub = self._subscription_for(subs, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.database.run(service.claim_now, self.database, sub=sub, now=discord.utils.utcnow())
        try:
            run = await self.deliver(job)
        except Exception:
            await self.database.run(
                service.finish_run, self.database, run_id=job.run.id, status=service.FAILED, reason="internal error", now=discord.utils.utcnow()
            )
            raise
        since = service.format_local(job.digest.since, sub.timezone)
        if run.status == service.SENT:
            text = f"Posted today's digest in <#{sub.channel_id}> ({service.describe_run(run)} since {since})."
        elif run.status == service.EMPTY:
            text = f"Today's digest for <#{sub.channel_id}>: {service.describe_run(run)} since {since}."
        else:
            text = f"Today's digest for <#{sub.channel_id}> {service.describe_run(run)}."
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="preview")
    @app_commands.describe(channel="Preview this channel's digest (default: the server's only digest)")
    async def preview(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Show, only to you, what the digest would contain if it were posted now."""
        subs = await self.database.run(service.list_subscriptions, self.database, guild_id=interaction.guild_id)
        sub = self._subscription_for(subs, channel) if subs or channel else None
        timezone = sub.timezone if sub else self.bot.settings.default_timezone
        await interaction.response.defer(ephemeral=True, thinking=True)
        digest = await self.database.run(
            service.preview_digest,
            self.database,
            guild_id=interaction.guild_id,
            channel_id=sub.channel_id if sub else None,
            timezone=timezone,
            now=discord.utils.utcnow(),
        )
        if digest.empty:
            await interaction.followup.send(digest_empty_text(digest), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        pages = await asyncio.to_thread(digest_messages, digest)
        if len(pages) == 1:
            await interaction.followup.send(embeds=pages[0], ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await Paginator(pages, owner_id=interaction.user.id).send(interaction, ephemeral=True)

    @app_commands.command(name="status")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def status(self, interaction: discord.Interaction) -> None:
        """When each digest of this server runs next, how the last run went, and why nothing was posted."""
        now = discord.utils.utcnow()
        infos = await self.database.run(service.status_info, self.database, guild_id=interaction.guild_id, now=now)
        if not infos:
            raise UserFacingError("This server has no daily digest. Set one up with `/digest setup`.")
        blocks = [
            "\n".join(service.status_lines(info, now=now, channel_problem=self.channel_problem(interaction.guild_id, info.subscription.channel_id)))
            for info in infos
        ]
        chunks = split_text("\n\n".join(blocks), MESSAGE_LIMIT)
        await interaction.response.send_message(chunks[0], ephemeral=True, allowed_mentions=NO_MENTIONS)
        for chunk in chunks[1:]:
            await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Digest(bot))
