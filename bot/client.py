"""The Discord client: `PostBot` (an AutoShardedBot) with its dependencies, the error-handling command
tree, `create_bot`, `run_bot` (logging, signals, one-line start-up errors) and the invite link.

Shards (DESIGN.md §9): `SHARD_COUNT` and `SHARD_IDS` say which shards this process runs; unset,
discord.py asks Discord for the count and runs every shard here. A process sends the digests and
announcements of the servers on its shards (`owns_guild`), and polls the feeds one of those servers
watches (the CLI's, guild None, belong to shard 0); the leases in the database keep each of them
exactly once whichever process holds a shard.

Shutting down (SIGTERM, SIGINT, or `close()`): stop taking new work (new commands are told the bot
is restarting; the loops stop after the tick they are in), close the gateway so no more events
arrive, let what is in flight finish (up to SHUTDOWN_GRACE), then unload the cogs (the comment
writer writes what it holds), close discord.py's HTTP, the bot's own HTTP session, the metrics
server and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import sys
import time
from collections.abc import Iterator

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import net
from bot.db import Database, reason
from bot.errors import PostbotError, UserFacingError
from bot.logs import JsonFormatter
from bot.metrics import READY_TIMEOUT, HealthServer, Metrics, Outcome
from bot.pacing import Pacer, answering_user, process_rate
from bot.settings import Settings
from bot.store.state import get_state, set_state

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side while running this command. It has been logged."
RESTARTING = "postbot is restarting right now; please try again in a minute."
SYNC_STATE_KEY = "command_tree_hash"
COMMAND_IDS_KEY = "command_ids"  # {name: id} of the synced top-level commands, for </name:id> mentions
EXTENSIONS = ("cogs.articles", "cogs.posts", "cogs.discussion", "cogs.digest", "cogs.feeds", "cogs.help")
SHUTDOWN_GRACE = 20.0  # seconds that commands and loop ticks in flight get to finish at shutdown
STARTED = "postbot_started"  # Interaction.extras key: when the command arrived (perf_counter)
RECEIVED = "postbot_received"  # Interaction.extras key: the event loop's time then (cogs/_ui.answer_soon defers by it)
# What the bot needs in a server (the invite asks for exactly this): read and post in channels and
# threads, open a post's thread, embeds for cards and digests, history for threads, files for /export.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True, create_public_threads=True,
    embed_links=True, read_message_history=True, attach_files=True,
)
INVITE_SCOPES = ("bot", "applications.commands")


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard a server's events arrive on (Discord's rule)."""
    return (guild_id >> 22) % shard_count


def user_message(error: app_commands.AppCommandError) -> str | None:
    """What to tell the user about an error, or None when it is a bug (logged, apologised for)."""
    original = getattr(error, "original", None) or error.__cause__ or error
    if isinstance(original, UserFacingError):
        return str(original)
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission to use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I am missing a permission here: {', '.join(p.replace('_', ' ') for p in error.missing_permissions)}."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CheckFailure | app_commands.TransformerError) and original is error:
        return str(error)
    return None


def command_name(interaction: discord.Interaction) -> str:
    command = interaction.command
    if command is not None:
        return command.qualified_name
    return str((interaction.data or {}).get("name", "?"))


class PostBotTree(app_commands.CommandTree):
    """User errors shown ephemerally; anything else logged with its context and answered with an apology.
    Every command is counted (name, outcome, time) and, while it runs, kept for a graceful shutdown."""

    client: PostBot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        bot = self.client
        if interaction.type is discord.InteractionType.application_command:
            if bot.stopping:
                bot.metrics.command_done(command_name(interaction), Outcome.REFUSED, None)
                await send_ephemeral(interaction, RESTARTING)
                return False
            interaction.extras[STARTED] = time.perf_counter()
            interaction.extras[RECEIVED] = asyncio.get_running_loop().time()
        answering_user()  # what the command sends never queues behind bulk sends (bot/pacing.py)
        bot.keep_until_done(asyncio.current_task())
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        message = user_message(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            original = getattr(error, "original", None) or error.__cause__ or error
            log.error("command %r failed (user %s, guild %s)", command, interaction.user.id, interaction.guild_id, exc_info=original)
            message = APOLOGY
        self.client.command_finished(interaction, Outcome.ERROR if message == APOLOGY else Outcome.USER_ERROR)
        await send_ephemeral(interaction, message)


async def reply(interaction: discord.Interaction, **message) -> discord.InteractionMessage | discord.WebhookMessage | None:
    """Answer the interaction, or follow it up when it was deferred; the message sent. (After a public
    deferral Discord shows the followup publicly, `ephemeral` or not.)"""
    if interaction.response.is_done():
        return await interaction.followup.send(wait=True, **message)
    callback = await interaction.response.send_message(**message)
    return callback.resource if isinstance(callback.resource, discord.InteractionMessage) else None


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer or follow up, whichever the interaction still allows; mentions are never sent."""
    try:
        await reply(interaction, content=message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException:
        log.warning("could not send an error message for interaction %s", interaction.id)


def _no_voice_warnings() -> None:
    """postbot never joins voice: discord.py need not warn that PyNaCl and davey are missing."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


class PostBot(commands.AutoShardedBot):
    """postbot's Discord client: owns its settings, its database, its HTTP session and its metrics;
    cogs reach them through `self.bot`."""

    tree: PostBotTree

    def __init__(self, settings: Settings, database: Database) -> None:
        _no_voice_warnings()
        intents = discord.Intents.default()
        intents.message_content = settings.message_content_intent
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=PostBotTree,
            help_command=None,
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
        )
        self.settings = settings
        self.database = database
        self.http_session: aiohttp.ClientSession | None = None  # feeds and every other outbound request
        self.command_ids: dict[str, int] = {}  # top-level command name -> its id, learnt at sync: `mention`
        self.metrics = Metrics()
        self.pacer = Pacer(process_rate(settings))  # bulk sends (digests, announcements) under the global limit
        self.health: HealthServer | None = None
        self.stopping = False  # set at shutdown: no new commands, no new loop ticks
        self._in_flight: set[asyncio.Task] = set()
        self._shutdown: asyncio.Task | None = None
        self._closed = asyncio.Event()

    # --------------------------------------------------------------- shards

    def owns_guild(self, guild_id: int | None) -> bool:
        """Whether this process runs the server's shard (guild None - the CLI's feeds - is shard 0's)."""
        if self.shard_ids is None:
            return True  # every shard runs here
        return (0 if guild_id is None else shard_of(guild_id, self.shard_count)) in self.shard_ids

    async def readiness(self) -> str | None:
        """None when every shard of this process is connected and the database answers; else why not."""
        if self.stopping:
            return "shutting down"
        shards = self.shards
        if not shards or not self.is_ready():
            return "connecting to Discord"
        closed = sorted(shard_id for shard_id, shard in shards.items() if shard.is_closed())
        if closed:
            return f"shard {', '.join(map(str, closed))} is not connected to Discord"
        try:
            await asyncio.wait_for(asyncio.to_thread(self.database.ping), READY_TIMEOUT)
        except TimeoutError:
            return f"the database did not answer within {READY_TIMEOUT:g} s"
        except Exception as exc:  # noqa: BLE001  (the reason is the answer)
            return f"the database does not answer: {reason(exc)}"
        return None

    # --------------------------------------------------------------- start

    async def setup_hook(self) -> None:
        if self.settings.metrics_port is not None:
            await self.start_health_server()
        await self.database.call(Database.upgrade)
        self.http_session = net.http_session(self.settings.feed_allow_private_hosts)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()

    async def start_health_server(self) -> None:
        self.metrics.bind(latencies=lambda: self.latencies if self.shards else [], pool=self.database.pool_status)
        server = HealthServer(self.metrics, self.readiness, host=self.settings.metrics_host, port=self.settings.metrics_port)
        try:
            await server.start()
        except OSError as exc:
            raise PostbotError(f"{exc.strerror}; set METRICS_PORT to a free port") from None
        self.health = server

    async def sync_commands(self) -> None:
        """Sync the tree (to DEV_GUILD_ID if set) only when its commands changed since the last sync."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild:
            self.tree.copy_global_to(guild=guild)
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps([guild and guild.id, payload], sort_keys=True, default=str).encode()).hexdigest()
        key = f"{SYNC_STATE_KEY}:{self.application_id}"
        ids_key = f"{COMMAND_IDS_KEY}:{self.application_id}:{guild and guild.id}"
        if await self.database.call(_stored_state, key=key) == digest:
            log.info("application commands unchanged; not syncing")
            self.command_ids = json.loads(await self.database.call(_stored_state, key=ids_key) or "{}")
            if not self.command_ids:  # synced by a version that did not keep them: ask once
                self.command_ids = {c.name: c.id for c in await self.tree.fetch_commands(guild=guild)}
                await self.database.call(_store_state, key=ids_key, value=json.dumps(self.command_ids))
            return
        synced = await self.tree.sync(guild=guild)
        self.command_ids = {c.name: c.id for c in synced}
        await self.database.call(_store_state, key=ids_key, value=json.dumps(self.command_ids))
        await self.database.call(_store_state, key=key, value=digest)
        log.info("synced %d application commands %s", len(synced), f"to guild {guild.id}" if guild else "globally")

    def mention(self, name: str) -> str:
        """A command as Discord shows it clickable, `</comment add:123>`; as `/comment add` code before
        the bot knows its id."""
        command_id = self.command_ids.get(name.split()[0])
        return f"</{name}:{command_id}>" if command_id else f"`/{name}`"

    # --------------------------------------------------------------- work in flight

    def keep_until_done(self, task: asyncio.Task | None) -> None:
        """A command's task: a shutdown waits for it (up to SHUTDOWN_GRACE)."""
        if task is not None and task not in self._in_flight:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Around a loop's tick: a shutdown lets the tick finish (the loop then stops) instead of cancelling it."""
        task = asyncio.current_task()
        self._in_flight.add(task)
        try:
            yield
        finally:
            self._in_flight.discard(task)

    def command_finished(self, interaction: discord.Interaction, outcome: str) -> None:
        started = interaction.extras.pop(STARTED, None)
        if interaction.type is discord.InteractionType.application_command:
            self.metrics.command_done(command_name(interaction), outcome, None if started is None else time.perf_counter() - started)

    async def on_app_command_completion(self, interaction: discord.Interaction, _command) -> None:
        self.command_finished(interaction, Outcome.OK)

    # --------------------------------------------------------------- shutdown

    def request_shutdown(self, why: str) -> None:
        """A signal arrived: shut down gracefully (a second one is only logged)."""
        if self._shutdown is not None:
            log.warning("%s: already shutting down", why)
            return
        log.info("%s: shutting down", why)
        self._shutdown = asyncio.create_task(self._graceful_close(), name="postbot-shutdown")

    async def close(self) -> None:
        if self._shutdown is None:
            self._shutdown = asyncio.create_task(self._graceful_close(), name="postbot-shutdown")
        if self._shutdown is not asyncio.current_task():
            await asyncio.shield(self._shutdown)

    async def _graceful_close(self) -> None:
        self.stopping = True
        ticks = self._stop_loops()
        for shard in list(self.shards.values()):  # no more events: what arrived is all there is
            with contextlib.suppress(Exception):
                await shard.disconnect()
        await asyncio.sleep(0)  # listeners of events already received run (thread messages reach the writer)
        pending = [t for t in {*self._in_flight, *ticks} if not t.done() and t is not asyncio.current_task()]
        if pending:
            log.info("waiting for %d commands and loop ticks in flight", len(pending))
            _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)
            if late:
                log.warning("%d still running after %.0f s; they are cancelled", len(late), SHUTDOWN_GRACE)
        try:
            await super().close()  # unloads the cogs (their loops end, the comment writer flushes), closes shards and HTTP
        finally:
            await self.release()
            self._closed.set()
        log.info("stopped")

    async def __aexit__(self, *exc_info) -> None:
        """`async with bot` ends when the whole shutdown has (discord.py's own waits only for its part
        of `close()`, and `asyncio.run` would then cancel the rest: releasing what the bot owns)."""
        await self.close()

    async def wait_closed(self) -> None:
        """Until a shutdown (a signal, `close()`) has finished."""
        await self._closed.wait()

    def _stop_loops(self) -> list[asyncio.Task]:
        """Stop every cog's loops: one in the middle of a tick finishes it (its task is returned), an idle one is cancelled."""
        busy = []
        for cog in list(self.cogs.values()):
            for loop in [v for v in vars(cog).values() if isinstance(v, tasks.Loop) and v.is_running()]:
                task = loop.get_task()
                if task in self._in_flight:
                    loop.stop()
                    busy.append(task)
                else:
                    loop.cancel()
        return busy

    async def release(self) -> None:
        """Close what the bot owns (its metrics server, its HTTP session, its database connections)."""
        if self.health is not None:
            await self.health.stop()
            self.health = None
        if self.http_session is not None:
            await self.http_session.close()
        self.database.dispose()


def _stored_state(db: Database, *, key: str) -> str | None:
    with db.session() as session:
        return get_state(session, key=key)


def _store_state(db: Database, *, key: str, value: str) -> None:
    with db.session() as session:
        set_state(session, key=key, value=value)


def create_bot(settings: Settings | None = None) -> PostBot:
    """The bot, unstarted: `setup_hook` prepares the database, opens its HTTP session, loads every cog and syncs the tree."""
    settings = settings or Settings.from_env()
    return PostBot(settings, Database(settings.database_url, pool_size=settings.database_pool_size))


# ------------------------------------------------------------------- running it


def configure_logging(settings: Settings) -> None:
    """discord.py's logging setup, once: its coloured lines, or one JSON object per line (LOG_FORMAT=json)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "postbot", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.postbot = True
    formatter = JsonFormatter() if settings.log_format == "json" else None
    discord.utils.setup_logging(handler=handler, formatter=formatter or discord.utils.MISSING, level=settings.log_level_number)


def install_signal_handlers(bot: PostBot) -> None:
    """SIGTERM and SIGINT shut the bot down gracefully (where the platform has signal handlers)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, bot.request_shutdown, sig.name)


async def check_database(database: Database) -> None:
    """Reach and upgrade the database before connecting to Discord: one line when it cannot be used."""
    try:
        await asyncio.to_thread(database.upgrade)
    except Exception as exc:  # unreachable server, bad credentials, a missing database, ...
        where = database.engine.url.render_as_string(hide_password=True)
        raise PostbotError(f"cannot use the database {where}: {reason(exc)} (check DATABASE_URL and that the server runs)") from None


def startup_error(exc: BaseException) -> PostbotError | None:
    """The one line for a start-up failure the operator can fix, or None (a bug: its traceback is shown)."""
    if isinstance(exc, discord.LoginFailure):
        return PostbotError("Discord rejected DISCORD_TOKEN: copy a fresh token from the developer portal (Bot -> Reset Token).")
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return PostbotError(
            "the Message Content intent is not enabled for this bot: switch it on in the developer portal "
            "(Bot -> Privileged Gateway Intents) or set MESSAGE_CONTENT_INTENT=false."
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = exc.os_error.strerror or str(exc.os_error) if exc.os_error else str(exc)
        return PostbotError(f"cannot reach Discord at {exc.host}: {why} (check the network, DNS or proxy, then start again)")
    if isinstance(exc, aiohttp.ClientError | TimeoutError | discord.GatewayNotFound):
        return PostbotError(f"cannot reach Discord: {exc.__class__.__name__}: {exc} (check the network, then start again)")
    if isinstance(exc, discord.HTTPException):
        return PostbotError(f"Discord answered {exc.status} {exc.text or ''} while starting; try again later".replace("  ", " "))
    return None


def run_bot(settings: Settings) -> None:
    """Run the bot until a signal stops it; a start-up failure the operator can fix is a PostbotError saying how."""
    if not settings.discord_token:
        raise PostbotError("DISCORD_TOKEN is not set: put the bot's token in .env (see .env.example), or try `postbot demo`.")
    configure_logging(settings)
    bot = create_bot(settings)

    async def serve() -> None:
        await check_database(bot.database)
        log.info("starting with %s", settings.shards)
        async with bot:
            install_signal_handlers(bot)
            await bot.start(settings.discord_token)

    try:
        asyncio.run(serve())
    except Exception as exc:
        error = startup_error(exc)
        if error is None:
            raise
        raise error from None


# ------------------------------------------------------------------- the invite link


def invite_url(client_id: int) -> str:
    """The OAuth2 URL that adds the bot to a server with its slash commands and the permissions it needs."""
    return discord.utils.oauth_url(client_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES)


def application_id(token: str) -> int:
    """The application id of the bot's token (Discord's "application info"), or a PostbotError in one line."""
    _no_voice_warnings()

    async def ask() -> int:
        async with discord.Client(intents=discord.Intents.none()) as client:
            await client.login(token)
            return client.application_id

    try:
        return asyncio.run(ask())
    except Exception as exc:
        error = startup_error(exc)
        if error is None:
            raise
        raise error from None
