"""The scenarios, in the order the table prints them. Each is `run(ctx) -> list[Row]`."""

from __future__ import annotations

from collections.abc import Callable

from bench.framework import Context, Row


def _load(ctx: Context) -> list[Row]:
    from bench.scenarios import load

    return load.run(ctx)


def _commands(ctx: Context) -> list[Row]:
    from bench.scenarios import commands

    return commands.run(ctx)


def _digest(ctx: Context) -> list[Row]:
    from bench.scenarios import digest

    return digest.run(ctx)


def _capture(ctx: Context) -> list[Row]:
    from bench.scenarios import capture

    return capture.run(ctx)


def _footprint(ctx: Context) -> list[Row]:
    from bench.scenarios import footprint

    return footprint.run(ctx)


def _references(ctx: Context) -> list[Row]:
    from bench.scenarios import references

    return references.run(ctx)


SCENARIOS: dict[str, Callable[[Context], list[Row]]] = {
    "load": _load,
    "commands": _commands,
    "digest": _digest,
    "capture": _capture,
    "footprint": _footprint,
    "references": _references,
}
