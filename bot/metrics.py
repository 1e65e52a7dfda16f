"""Health and metrics over HTTP (`METRICS_PORT`, bound to `METRICS_HOST`): /healthz, /readyz, /metrics.

- `/healthz`: 200 "ok" while the process runs its event loop (a liveness probe; nothing else is checked).
- `/readyz`: 200 "ready" once every shard of this process is connected and the database answers;
  else 503 with the reason as the body (a readiness probe: take the process out of rotation, or
  wait for it after a deploy).
- `/metrics`: Prometheus text format (prometheus-client), this process's figures only; every
  process serves its own (give each its own port), and Prometheus adds them up.

No discord here: the bot hands in what the server reports (`readiness`, shard latencies, the
pool), and counts into `Metrics` from its tree and cogs. Each bot owns its own registry, so
several bots in one process (tests) never share counters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
READY_TIMEOUT = 3.0  # seconds /readyz waits for the database's answer


class Outcome:
    """Labels of the counters, in one place."""

    OK = "ok"
    USER_ERROR = "user_error"  # the member was told why (a UserFacingError, a missing permission)
    ERROR = "error"  # a bug or an outage: logged, the member got an apology
    REFUSED = "refused"  # arrived while the process was shutting down


class _Live(Collector):
    """Gauges read at scrape time: gateway latency per shard and the database pool."""

    def __init__(self, latencies: Callable[[], Iterable[tuple[int, float]]], pool: Callable[[], dict[str, int] | None]) -> None:
        self.latencies = latencies
        self.pool = pool

    def collect(self):
        latency = GaugeMetricFamily("postbot_gateway_latency_seconds", "Heartbeat latency of each shard this process runs", labels=["shard"])
        for shard_id, seconds in self.latencies():
            if seconds == seconds and seconds != float("inf"):  # not yet measured: NaN or inf
                latency.add_metric([str(shard_id)], seconds)
        yield latency
        pool = GaugeMetricFamily("postbot_database_pool_connections", "Database connections of this process's pool", labels=["state"])
        for state, count in (self.pool() or {}).items():
            pool.add_metric([state], count)
        yield pool


class Metrics:
    """What the bot counts. `bind` adds the live gauges once the bot knows its shards and pool."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.commands = Counter("postbot_commands", "Application commands run, by name and outcome", ["command", "outcome"], registry=r)
        self.command_seconds = Histogram(
            "postbot_command_seconds", "Time from an interaction's arrival until its command finished", ["command"],
            buckets=COMMAND_BUCKETS, registry=r,
        )
        self.digests = Counter(
            "postbot_digests",
            "Daily digest attempts by outcome (sent, partial, failed, empty: 'No new posts' sent, skipped: quiet and nothing new); "
            "a failed one is tried again each minute for an hour, each try counted",
            ["outcome"], registry=r,
        )
        self.feed_polls = Counter("postbot_feed_polls", "Feed subscriptions polled, by outcome (ok, not_modified, failed)", ["outcome"], registry=r)
        # Counted as a message reaches the comment writer, which keeps those of post threads (in servers
        # whose /discussion mode saves them) and drops the rest: an upper bound of the comments stored.
        self.comments = Counter("postbot_comments_captured", "Members' thread messages passed to the comment store", registry=r)
        self._bound = False

    def bind(self, *, latencies: Callable[[], Iterable[tuple[int, float]]], pool: Callable[[], dict[str, int] | None]) -> None:
        if not self._bound:
            self.registry.register(_Live(latencies, pool))
            self._bound = True

    def command_done(self, name: str, outcome: str, seconds: float | None) -> None:
        self.commands.labels(command=name, outcome=outcome).inc()
        if seconds is not None:
            self.command_seconds.labels(command=name).observe(seconds)

    def digest_done(self, status: str, *, quiet: bool = False) -> None:
        """A digest attempt's result: its status (sent, partial, failed, empty), an empty quiet one as skipped."""
        self.digests.labels(outcome="skipped" if quiet else str(status)).inc()

    def feed_polled(self, *, ok: bool, status: str) -> None:
        outcome = "failed" if not ok else "not_modified" if status.startswith("not modified") else "ok"
        self.feed_polls.labels(outcome=outcome).inc()

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The page and its content type, in the format the scraper asks for (`Accept`; else Prometheus text 0.0.4)."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


class HealthServer:
    """The aiohttp server of /healthz, /readyz and /metrics; `readiness()` returns None when ready, else why not."""

    def __init__(self, metrics: Metrics, readiness: Callable[[], Awaitable[str | None]], *, host: str, port: int) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise OSError(exc.errno, f"cannot serve metrics on {self.host}:{self.port}: {exc.strerror or exc}") from None
        if self._runner.addresses:
            self.port = self._runner.addresses[0][1]  # the port the OS chose for METRICS_PORT=0
        log.info("health and metrics on http://%s:%d (/healthz, /readyz, /metrics)", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        try:
            problem = await asyncio.wait_for(self.readiness(), READY_TIMEOUT + 1)
        except TimeoutError:
            problem = "the readiness check timed out"
        except Exception as exc:  # noqa: BLE001  (a probe answers; it never raises)
            problem = f"the readiness check failed: {exc.__class__.__name__}"
        if problem is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"not ready: {problem}\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})
