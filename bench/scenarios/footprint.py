"""Scenario 5, footprint: start-up time and peak RSS of the bot on a small and a large store.

Each measurement is a fresh subprocess (`python -m bench.scenarios.footprint URL`), so imports
and caches count as they would for a real start. Start-up = from launching the child process
(interpreter start and every import included) until simcord reports the bot READY (setup_hook done:
migrations checked, every cog loaded, commands synced). Peak RSS = the child's VmHWM after
start-up and one run of each read command (VmHWM, the child's own) (/article, /post show, /search, /comments that exist).
Targets: <= 2 s and <= 200 MB on the large store, and neither growing with the store's size
(large/small within 1.25x).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.framework import Context, Row, console, fmt_count
from bench.generate import cached_sqlite_store, private_copy

TARGET_SECONDS = 2.0
TARGET_MB = 200.0
GROWTH = 1.25


def run(ctx: Context) -> list[Row]:
    small, large = ctx.size(10_000, 500), ctx.size(100_000, 2_000)
    figures = {}
    for n in (small, large):
        path, _ = cached_sqlite_store(n, ctx.seed)
        samples = []
        for _ in range(ctx.size(3, 1)):
            with tempfile.TemporaryDirectory(prefix="postbot-bench-fp-") as tmp:
                copy = private_copy(path, Path(tmp) / "store.db")
                samples.append(child(f"sqlite:///{copy}"))
        # Medians of start-up, max of RSS: a peak is a peak.
        samples.sort(key=lambda s: s["startup_seconds"])
        figures[n] = {"startup_seconds": samples[len(samples) // 2]["startup_seconds"], "rss_mb": max(s["rss_mb"] for s in samples),
                      "commands": samples[0]["commands"]}
        console.print(f"  footprint: {n:,} posts: start-up {figures[n]['startup_seconds']:.2f} s, peak RSS {figures[n]['rss_mb']:.0f} MB")
    s, l = figures[small], figures[large]
    t_ratio = l["startup_seconds"] / s["startup_seconds"]
    m_ratio = l["rss_mb"] / s["rss_mb"]
    return [
        Row("footprint", "start-up to READY", f"{fmt_count(large)} posts", l["startup_seconds"], "s",
            f"<= {TARGET_SECONDS:g} s, <= {GROWTH:g}x the {fmt_count(small)} store",
            l["startup_seconds"] <= TARGET_SECONDS and t_ratio <= GROWTH,
            baseline=f"{fmt_count(small)} posts: {s['startup_seconds']:.2f} s", ratio=t_ratio, extra={"small": s, "large": l}),
        Row("footprint", "peak RSS", f"{fmt_count(large)} posts", l["rss_mb"], "MB",
            f"<= {TARGET_MB:g} MB, <= {GROWTH:g}x the {fmt_count(small)} store",
            l["rss_mb"] <= TARGET_MB and m_ratio <= GROWTH,
            baseline=f"{fmt_count(small)} posts: {s['rss_mb']:.0f} MB", ratio=m_ratio,
            note=f"after start-up and {', '.join('/' + c for c in l['commands']) or 'no commands'}"),
    ]


def child(url: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    launched = time.time()  # wall clock: comparable across the two processes
    out = subprocess.run([sys.executable, "-m", "bench.scenarios.footprint", url], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"footprint child failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["startup_seconds"] = result.pop("ready_at") - launched
    return result


async def _measure(url: str) -> dict:
    import simcord

    from bench.framework import quiet_logging
    from bench.generate import BENCH_GUILD
    from bot import Settings, create_bot

    quiet_logging()
    bot = create_bot(Settings(database_url=url))
    async with simcord.run(bot, shard_count=1) as env:
        ready_at = time.time()
        guild = env.create_guild(id=BENCH_GUILD)
        channel = guild.create_text_channel("general")
        member = guild.add_member(env.create_user("bench"))
        ran = []
        for name, options in (("article", {"number": "5"}), ("post show", {"post": "1"}), ("search", {"query": "nuclear"}), ("comments", {"post": "1"})):
            root = bot.tree.get_command(name.split()[0])
            if root is None or (" " in name and getattr(root, "get_command", lambda _: None)(name.split()[1]) is None):
                continue
            await member.slash(channel, name, **options)
            ran.append(name)
    return {"ready_at": ready_at, "rss_mb": _peak_rss_kb() / 1024, "commands": ran}


def _peak_rss_kb() -> int:
    """This process's peak RSS in KiB: VmHWM, which starts afresh at exec. (ru_maxrss survives
    exec on Linux: a child forked from a big parent would report the parent's size.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


if __name__ == "__main__":
    import asyncio

    print(json.dumps(asyncio.run(_measure(sys.argv[1]))))
