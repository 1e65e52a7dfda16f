"""Scenario 2, commands: `/article`, `/post show`, `/search`, `/comments` end to end through simcord.

The bot is the real one (`create_bot(Settings(database_url=...))`) on a generated store of N
posts / ~10N comments spread over the library and 20 servers (built once by bench.generate and
cached; a private copy is used so the cache stays pristine); the member asks in one of those
servers, so every answer is scoped as in production. Each command runs a few times to warm up (excluded), then R times
with varying arguments (seeded) - 200 (quick 30), or as many as fit in 60 s (quick 10 s) but at
least 50 (quick 20) for a command that takes seconds; the figure is the latency from invocation until
the bot's final answer reached (simulated) Discord - the last interaction callback or followup
request - p50 and p99. (Not until simcord settles: settling polls worker threads every 50 ms,
which would add simcord's own polling interval to every command that uses the database.)

Baseline: a trivial command (`/benchping`, registered only here) through the same path - the
cost of simcord plus discord.py, which no bot code can go below.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.framework import (
    Context,
    Row,
    console,
    fmt_count,
    not_available,
    scratch_postgres,
    summary,
)
from bench.generate import BENCH_GUILD, build_store, cached_sqlite_store, private_copy, visible_post_ids
from cogs import _ui

TARGETS_MS = {"article": 50.0, "post show": 50.0, "search": 100.0, "comments": 50.0}
BACKEND_TARGETS_MS = {"postgresql": {"search": 50.0}}  # issue #14: PostgreSQL /search p99 <= 50 ms
ARTICLES = [("5", None), ("5", "North Atlantic Treaty"), ("4", None), ("6", "NATO"), ("10", "NPT"), ("1", "NPT"), ("51", "UN Charter"), ("3", None), ("2", None)]
QUERIES = ["nuclear deterrence", "sanctions", "Article 5", "pyongyang summit", "energy trade", "self-defence",
           "collective", "escalation risk", "kyiv", "ratified agreement"]


def run(ctx: Context) -> list[Row]:
    n = ctx.size(100_000, 2_000)
    console.print(f"  commands: store of {n:,} posts (cached under bench/.cache/) ...")
    path, built = cached_sqlite_store(n, ctx.seed, progress=_progress(n))
    if built:
        console.print(f"  built the store in {built:.0f} s (setup, not measured)")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="postbot-bench-cmd-") as tmp:
        copy = Path(tmp) / "store.db"
        private_copy(path, copy)
        rows += asyncio.run(measure(ctx, f"sqlite:///{copy}", n, "sqlite"))
    if ctx.postgres_admin_url:
        n_pg = ctx.size(100_000, 500)  # quick: small, CI runs it on every push
        with scratch_postgres(ctx.postgres_admin_url, "cmd") as url:
            started = time.perf_counter()
            build_store(url, n_pg, ctx.seed, progress=_progress(n_pg))
            console.print(f"  built the PostgreSQL store in {time.perf_counter() - started:.0f} s (setup, not measured)")
            rows += asyncio.run(measure(ctx, url, n_pg, "postgresql"))
    return rows


def _progress(n: int):
    step = max(n // 10, 1)
    marks = set()

    def report(counts: dict) -> None:
        mark = counts["posts"] // step
        if mark not in marks and counts["posts"] < n:
            marks.add(mark)
            console.print(f"    ... {counts['posts']:,} posts, {counts['comments']:,} comments")

    return report


def _command_exists(bot, name: str) -> bool:
    parts = name.split()
    command = bot.tree.get_command(parts[0])
    for part in parts[1:]:
        if command is None or not hasattr(command, "get_command"):
            return False
        command = command.get_command(part)
    return command is not None


@contextmanager
def answer_clock() -> Iterator[list[float]]:
    """perf_counter() after each interaction response/followup request simcord's Discord handled."""
    from simcord.http.client import FakeWebhookAdapter

    stamps: list[float] = []
    real = FakeWebhookAdapter.request

    async def request(self, *args, **kwargs):
        try:
            return await real(self, *args, **kwargs)
        finally:
            stamps.append(time.perf_counter())

    FakeWebhookAdapter.request = request
    try:
        yield stamps
    finally:
        FakeWebhookAdapter.request = real


async def measure(ctx: Context, url: str, n: int, backend: str) -> list[Row]:
    import discord
    import simcord
    from sqlalchemy import func, select

    from bot import Settings, create_bot
    from bot.models import Comment

    bot = create_bot(Settings(database_url=url))
    with bot.database.session() as session:
        comments = session.execute(select(func.count()).select_from(Comment)).scalar_one()
    size = f"{fmt_count(n)} posts / {fmt_count(comments)} comments"

    @bot.tree.command(name="benchping")
    async def benchping(interaction: discord.Interaction) -> None:
        """Benchmark baseline: answers at once."""
        await interaction.response.send_message("pong")

    runs = ctx.size(200, 30)
    warmup = ctx.size(10, 3)
    # Seconds per command before stopping early (never under min_runs runs), so a command that
    # takes seconds at this size does not hold the suite for many minutes.
    budget, min_runs = ctx.size(60.0, 10.0), ctx.size(50, 20)
    rng = random.Random(f"commands:{ctx.seed}")
    visible = visible_post_ids(n)  # the member's server sees the library's posts and its own
    arguments = {
        "benchping": lambda: {},
        "article": lambda: dict(zip(("number", "treaty"), rng.choice(ARTICLES))),
        "post show": lambda: {"post": str(rng.choice(visible))},
        "search": lambda: {"query": rng.choice(QUERIES)},
        "comments": lambda: {"post": str(rng.choice(visible))},
    }
    rows: list[Row] = []
    with answer_clock() as answered:
        async with simcord.run(bot, shard_count=1) as env:
            figures = await _run_commands(env, arguments, answered, backend=backend, warmup=warmup, runs=runs, budget=budget, min_runs=min_runs)
    rows.append(plan_row(url, backend, size, visible[0]))
    base = figures["benchping"]
    for name, target in (TARGETS_MS | BACKEND_TARGETS_MS.get(backend, {})).items():
        if name not in figures:
            rows.append(not_available("commands", f"/{name} p99, {backend}", f"no /{name} command in the tree", f"p99 <= {target:g} ms"))
            continue
        f = figures[name]
        rows.append(
            Row(
                "commands",
                f"/{name} p99, {backend}",
                size,
                f["p99"],
                "ms",
                f"p99 <= {target:g} ms",
                f["p99"] <= target,
                baseline=f"/benchping p99 {base['p99']:.1f} ms",
                ratio=f["p99"] / base["p99"],
                note=f"p50 {f['p50']:.1f} ms, max {f['max']:.1f} ms, {f['runs']} runs",
                extra={**{k: v for k, v in f.items()}, "baseline_p50": base["p50"], "baseline_p99": base["p99"]},
            )
        )
    return rows


def plan_row(url: str, backend: str, size: str, post_id: int) -> Row:
    """The plans of every statement the commands send: none may read a whole big table."""
    from bench.plans import check_plans

    plans = check_plans(url, guild=BENCH_GUILD, post_id=post_id)
    scans = [p for p in plans if p.full_scan]
    for p in plans:  # /search on PostgreSQL, as it ran: which indexes, how long
        if p.analyzed:
            shown = [line.strip()[:150] for line in p.plan.splitlines() if "Scan" in line or "Execution Time" in line]
            console.print(f"  EXPLAIN ANALYZE {p.use_case}: {p.sql[:110]}\n    " + "\n    ".join(shown))
    for p in scans:
        console.print(f"  [yellow]full scan of {p.full_scan}[/yellow] in {p.use_case}: {p.sql}\n{p.plan}")
    note = "; ".join(f"{p.use_case}: {p.full_scan}" for p in scans) or f"{len(plans)} statements, all by index"
    return Row(
        "commands", f"query plans, {backend}", size, len(scans), "full scans", "0 full scans of post, comment, quote",
        not scans, note=note, extra={"plans": [p.__dict__ for p in plans]},
    )


async def _run_commands(env, arguments: dict, answered: list[float], *, backend: str, warmup: int, runs: int, budget: float, min_runs: int) -> dict[str, dict]:
    """Latency figures per command: warm-up runs excluded, stopping early past `budget` seconds."""
    from bot.client import APOLOGY

    guild = env.create_guild(id=BENCH_GUILD)  # one of the 20 servers the store's posts are spread over
    channel = guild.create_text_channel("general")
    member = guild.add_member(env.create_user("bench"))
    figures: dict[str, dict] = {}
    for name, make in arguments.items():
        if not _command_exists(env.bot, name):
            continue
        console.print(f"  /{name} on {backend}: {warmup} warm-up + {runs} runs")
        latencies = []
        deadline = time.perf_counter() + budget
        for i in range(warmup + runs):
            if i >= warmup + min_runs and time.perf_counter() > deadline:
                break  # a slow command: fewer runs, said in the row
            options = {k: v for k, v in make().items() if v is not None}
            errors_before = len(env.errors)
            started = time.perf_counter()
            result = await member.slash(channel, name, **options)
            if not answered or answered[-1] < started:
                raise RuntimeError(f"/{name} {options} sent no answer")
            elapsed = (answered[-1] - started) * 1000
            if len(env.errors) > errors_before:
                raise RuntimeError(f"/{name} {options} failed: {env.errors[-1]!r}")
            answer = result.response or (result.followups[0] if result.followups else None)
            if answer is None or not (answer.content or answer.embeds):
                raise RuntimeError(f"/{name} {options} got no (final) response")
            expected_ephemeral = name == "comments" and "no comments yet" in answer.content  # ~5% of posts
            if answer.content == APOLOGY or (result.ephemeral and not expected_ephemeral):
                # An error answer would be fast for the wrong reason: the figure must be the real work.
                raise RuntimeError(f"/{name} {options} answered with an error: {answer.content[:200]!r}")
            if i >= warmup:
                latencies.append(elapsed)
            # The member moves on and the answer's buttons time out, as in real use. Without this,
            # hundreds of live views pile up, and simcord scans every pending task on each loop
            # turn: the figure would grow with the run count and measure simcord, not the bot.
            await env.advance_time(_ui.TIMEOUT + 1)
        figures[name] = summary(latencies)
    return figures
