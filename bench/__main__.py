"""`python -m bench [--quick] [--scenario NAME] [--json OUT]`: run the scenarios, print the table.

Exit status: 0 when every scenario ran (a missed target is reported in the table, not an
error); 1 when a scenario crashed; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.framework import Context, Row, console, fmt_number, machine, postgres_admin_url, quiet_logging
from bench.scenarios import SCENARIOS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="postbot's benchmark suite (see bench/README.md)")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute: a smoke test for CI")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS), metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results and the machine to this JSON file")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    return parser.parse_args(argv)


def table(rows: list[Row], title: str) -> Table:
    out = Table(title=title, title_justify="left")
    for column, justify in (("scenario", "left"), ("measures", "left"), ("size", "left"), ("figure", "right"),
                            ("baseline", "right"), ("ratio", "right"), ("target", "left"), ("result", "left")):
        out.add_column(column, justify=justify)
    styles = {"pass": "green", "MISS": "bold red", "n/a": "yellow", "ERROR": "bold red"}
    for row in rows:
        status = "ERROR" if row.extra.get("crashed") else row.status
        out.add_row(
            row.scenario,
            row.name + (f"\n[dim]{row.note}[/dim]" if row.note else ""),
            row.size,
            fmt_number(row.figure, row.unit),
            row.baseline or "-",
            f"{row.ratio:.2f}x" if row.ratio is not None else "-",
            row.target,
            f"[{styles[status]}]{status}[/]",
        )
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    ctx = Context(quick=args.quick, seed=args.seed, postgres_admin_url=postgres_admin_url())
    info = machine()
    started_at = dt.datetime.now(dt.timezone.utc)
    mode = "quick" if args.quick else "full"
    console.print(
        f"postbot bench ({mode}) on {info['cpu']}, {info['cores']} cores, {info['memory']} RAM, "
        f"Python {info['python']}, SQLite {info['sqlite']}; PostgreSQL: {'yes' if ctx.postgres_admin_url else 'no (TEST_DATABASE_URL unset)'}"
    )
    rows: list[Row] = []
    crashed: list[str] = []
    timings: dict[str, float] = {}
    for name in args.scenario or list(SCENARIOS):
        console.print(f"[bold]{name}[/bold]")
        began = time.perf_counter()
        try:
            rows += SCENARIOS[name](ctx)
        except Exception as exc:  # a crash is reported and fails the run; the other scenarios still run
            crashed.append(name)
            console.print(f"[red]scenario {name} crashed:[/red]\n{traceback.format_exc()}")
            rows.append(Row(name, "crashed", "-", None, "", "-", False, note=f"{type(exc).__name__}: {exc}"[:200], extra={"crashed": True}))
        timings[name] = time.perf_counter() - began
        console.print(f"  {name}: {timings[name]:.1f} s")
    title = (
        f"postbot bench, {mode}, {started_at:%Y-%m-%d %H:%M} UTC - {info['cpu']}, {info['cores']} cores, "
        f"Python {info['python']}, SQLite {info['sqlite']}"
    )
    Console(width=200).print(table(rows, title))
    if args.json:
        payload = {
            "mode": mode,
            "started_at": started_at.isoformat(),
            "machine": info,
            "postgresql": bool(ctx.postgres_admin_url),
            "scenario_seconds": timings,
            "crashed": crashed,
            "results": [r.as_dict() for r in rows],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    if crashed:
        console.print(f"[red]crashed: {', '.join(crashed)}[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
