"""What every scenario shares: result rows, the machine description, percentiles, scratch databases.

A scenario is a function ``run(ctx) -> list[Row]``. A row carries the figure and the limit it is
judged against, measured in the same run; ``passed`` is None when there is nothing to judge
(e.g. the feature does not exist yet). A missed target is a result, not an error: only an
exception escaping a scenario makes ``python -m bench`` exit non-zero.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from rich.console import Console

from tests.helpers import postgres_admin_url, scratch_postgres  # noqa: F401  (one home: the scenarios use them too)

log = logging.getLogger(__name__)

console = Console(stderr=True, highlight=False)


@dataclass
class Row:
    scenario: str
    name: str  # what this row measures, e.g. "/article p99" or "load, sqlite"
    size: str  # e.g. "20k posts / 190k comments"
    figure: float | None
    unit: str
    target: str  # human text, e.g. ">= 2,000 posts/s"
    passed: bool | None
    baseline: str = ""  # what the figure is compared against, with its value
    ratio: float | None = None  # figure / baseline where that means something
    note: str = ""
    extra: dict = field(default_factory=dict)  # further numbers for the JSON (p50, runs, ...)

    @property
    def status(self) -> str:
        if self.passed is None:
            return "n/a"
        return "pass" if self.passed else "MISS"

    def as_dict(self) -> dict:
        return {**asdict(self), "status": self.status}


@dataclass
class Context:
    quick: bool
    seed: int = 0
    postgres_admin_url: str | None = None  # from TEST_DATABASE_URL

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def not_available(scenario: str, name: str, what: str, target: str) -> Row:
    """The feature a scenario needs is not in the tree (yet): reported, never an error."""
    return Row(scenario, name, "-", None, "", target, None, note=f"not available yet: {what}")


def machine() -> dict:
    """CPU model, cores, memory, Python and SQLite versions: printed with every run."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    memory = None
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo", encoding="utf-8") as f:
            memory = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GB"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): p99 of 200 runs is the 198th smallest."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict:
    return {
        "runs": len(values),
        "p50": statistics.median(values),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


@contextlib.contextmanager
def timer() -> Iterator[Callable[[], float]]:
    """``with timer() as elapsed: ...; elapsed()`` - seconds, garbage collection left on."""
    started = time.perf_counter()
    finished: list[float] = []
    yield lambda: (finished[0] if finished else time.perf_counter()) - started
    finished.append(time.perf_counter())


def fmt_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def fmt_count(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1000:
        return f"{n / 1000:g}k" if n % 100 == 0 else f"{n / 1000:.1f}k"
    return str(n)


def quiet_logging() -> None:
    """Benchmarks print a table, not the bot's INFO lines; warnings and errors still show."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for name in ("bot", "cogs", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # discord.py's start-up notes (no voice, intents) and the simulated session's unclosed-session
    # notice at teardown are not the bot's behaviour; its errors still show.
    for name in ("discord", "simcord"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def collect() -> None:
    gc.collect()
