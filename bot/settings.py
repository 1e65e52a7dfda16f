"""Settings from the environment and `.env`; real environment variables win.

Frozen, validated once at start-up: a malformed value stops the program with one clear line
(`SettingsError`) instead of failing later in the middle of a command.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.addresses import PUBLIC_ONLY, AddressPolicy, PolicyError

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'postbot.db'}"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
INT_SETTINGS = ("dev_guild_id", "feed_poll_minutes", "shard_count", "database_pool_size", "metrics_port")


class SettingsError(ValueError):
    """A setting has a value postbot cannot use; the message names it and says what to do."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _parse_int(name: str, raw: str) -> int | None:
    if not raw.strip():
        return None
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _parse_shard_ids(raw: str) -> tuple[int, ...] | None:
    """ "0,1", "0 1" or a range "0-3" -> (0, 1) / (0, 1, 2, 3); "all" -> None (every shard here)."""
    if raw.strip().lower() == "all":
        return None
    ids: list[int] = []
    for part in raw.replace(",", " ").split():
        first, dash, last = part.partition("-")
        try:
            ids.extend(range(int(first), int(last) + 1) if dash else [int(first)])
        except ValueError:
            raise SettingsError(f"SHARD_IDS={raw!r} is not a list of shard numbers; use e.g. 0,1 or 0-3 (or all)") from None
    return tuple(ids) or None


@dataclass(frozen=True)
class Settings:
    """Everything postbot reads from its environment. Every field is documented in .env.example."""

    discord_token: str | None = field(default=None, repr=False)
    database_url: str = DEFAULT_DATABASE_URL
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    default_timezone: str = "UTC"
    message_content_intent: bool = True
    feed_poll_minutes: int = 15
    # Which non-public addresses feeds may be fetched from. Given as the policy, a boolean
    # (True: anything, False: public only) or the variable's text; stored as the parsed policy.
    feed_allow_private_hosts: AddressPolicy = PUBLIC_ONLY
    # Sharding: None lets discord.py ask Discord for the count and run every shard in this process.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    database_pool_size: int = 5  # PostgreSQL connections this process keeps (and never exceeds)
    metrics_port: int | None = None  # None: no health/metrics server; 0: any free port
    metrics_host: str = "127.0.0.1"
    log_format: str = "text"
    # Discord requests/s that bulk sends (digests, feed announcements, paused notices) may use, for
    # all processes together; each process takes its shards' share (bot/pacing.py).
    bulk_sends_per_second: float = 45.0

    def __post_init__(self) -> None:
        try:
            url = make_url(self.database_url)
        except ArgumentError:
            raise SettingsError(
                f"DATABASE_URL={self.database_url!r} is not a database URL; "
                "use e.g. sqlite:///data/postbot.db or postgresql+psycopg://user@host/db"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise SettingsError(
                f"DATABASE_URL uses {url.get_backend_name()!r}; postbot supports sqlite and postgresql"
            )
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            # Plain postgresql:// would pick psycopg2, which postbot does not install.
            object.__setattr__(self, "database_url", url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"DEFAULT_TIMEZONE={self.default_timezone!r} is not an IANA timezone (e.g. Europe/Berlin)"
            ) from None
        level = self.log_level.upper()
        if level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL={self.log_level!r} must be one of {', '.join(LOG_LEVELS)}")
        object.__setattr__(self, "log_level", level)
        if self.feed_poll_minutes < 1:
            raise SettingsError("FEED_POLL_MINUTES must be at least 1")
        try:
            policy = AddressPolicy.coerce(self.feed_allow_private_hosts)
        except PolicyError as exc:
            raise SettingsError(f"FEED_ALLOW_PRIVATE_HOSTS={self.feed_allow_private_hosts!r}: {exc}") from None
        object.__setattr__(self, "feed_allow_private_hosts", policy)
        self._check_operations()

    def _check_operations(self) -> None:
        """Shards, the pool, the metrics server and the log format."""
        if self.shard_count is not None and self.shard_count < 1:
            raise SettingsError(f"SHARD_COUNT={self.shard_count} must be at least 1")
        if self.shard_ids is not None:
            ids = tuple(self.shard_ids)
            object.__setattr__(self, "shard_ids", ids)
            if self.shard_count is None:
                raise SettingsError("SHARD_IDS needs SHARD_COUNT: say how many shards there are in all (e.g. SHARD_COUNT=4)")
            if len(set(ids)) != len(ids) or not all(0 <= i < self.shard_count for i in ids):
                raise SettingsError(f"SHARD_IDS={','.join(map(str, ids))} must be different numbers from 0 to {self.shard_count - 1}")
        if self.database_pool_size < 1:
            raise SettingsError(f"DATABASE_POOL_SIZE={self.database_pool_size} must be at least 1")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise SettingsError(f"METRICS_PORT={self.metrics_port} is not a port (1-65535, or 0 for any free one)")
        log_format = self.log_format.strip().lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"LOG_FORMAT={self.log_format!r} must be text or json")
        object.__setattr__(self, "log_format", log_format)
        if not self.bulk_sends_per_second > 0:
            raise SettingsError(f"BULK_SENDS_PER_SECOND={self.bulk_sends_per_second} must be above 0 (Discord allows 50 requests/s)")

    @property
    def shards(self) -> str:
        """How this process shards, for its logs: "shards 0,1 of 4", "4 shards", "shards chosen by Discord"."""
        if self.shard_ids is not None:
            return f"shard{'s' if len(self.shard_ids) > 1 else ''} {','.join(map(str, self.shard_ids))} of {self.shard_count}"
        return f"{self.shard_count} shard{'s' if self.shard_count != 1 else ''}" if self.shard_count else "shards chosen by Discord"

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)

    @classmethod
    def from_env(cls, env_file: str | os.PathLike | None = ".env") -> Settings:
        """Read `.env` (if present) under the real environment, which wins."""
        values = {k: v for k, v in (dotenv_values(env_file) if env_file else {}).items() if v is not None}
        values.update(os.environ)
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            raw = values.get(f.name.upper())
            if raw is None or not raw.strip():
                continue
            if f.name in INT_SETTINGS:
                kwargs[f.name] = _parse_int(f.name.upper(), raw)
            elif f.name == "bulk_sends_per_second":
                kwargs[f.name] = _parse_float(f.name.upper(), raw)
            elif f.name == "shard_ids":
                kwargs[f.name] = _parse_shard_ids(raw)
            elif f.name == "message_content_intent":
                kwargs[f.name] = _parse_bool(f.name.upper(), raw)
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)

