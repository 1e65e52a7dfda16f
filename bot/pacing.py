"""Pacing of bulk sends (scheduled digests, feed announcements, paused-feed notices) below Discord's
global limit.

Discord allows a bot 50 requests/s over all routes and bans its IP for an hour after 10,000 rejected
(401/403/429) requests in 10 minutes. discord.py keeps each route's own limit but meets the global
one only by its 429s, and a morning's digests for thousands of channels fall due in one minute. So
each Discord request of a bulk send first takes a slot from the process's one `Pacer`: slots are
1/rate apart, handed out first come, first served, and a sender sleeps until its own (the generic
cell rate algorithm with no burst: a bucket of N would let N through at once on top of the steady
rate). Processes share the limit by their shards: each takes `BULK_SENDS_PER_SECOND` x its shards /
SHARD_COUNT, rounded down to whole requests (`process_rate`).

Commands answering a member never queue behind it: the command tree marks the command's task
(`answering_user`), and a send from there takes the current slot only when it is free, and goes
on regardless. Time is the event loop's, and the wait a plain `asyncio.sleep` (aiolimiter's
future-and-timer waits are ones simcord's virtual clock cannot see through).
"""

from __future__ import annotations

import asyncio
import contextvars
import math

from bot.settings import Settings

_ANSWERING: contextvars.ContextVar[bool] = contextvars.ContextVar("postbot_answering_user", default=False)


def answering_user() -> None:
    """The current task (and what it starts) answers a member's command: it never waits on pacing."""
    _ANSWERING.set(True)


def process_rate(settings: Settings) -> float:
    """This process's share of BULK_SENDS_PER_SECOND (all of it unless SHARD_IDS names only some shards),
    in whole requests/s from one up: evenly spaced at r/s, any one-second window holds up to ceil(r)
    requests, so two processes at 22.5/s could meet 46 in a second; at 22/s they meet at most 44."""
    share = settings.bulk_sends_per_second
    if settings.shard_ids is not None and settings.shard_count:
        share = share * len(settings.shard_ids) / settings.shard_count
    return math.floor(share) if share >= 1 else share


class Pacer:
    """The process's outbound limiter for bulk sends: `await pacer.take()` before each request."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.interval = 1 / per_second
        self._next = -math.inf  # loop time of the next free slot

    async def take(self) -> None:
        """One request's slot: waits for it in bulk sends, never when answering a member."""
        now = asyncio.get_running_loop().time()
        if _ANSWERING.get():
            if self._next <= now:  # a free slot is taken, so bulk sends leave room for it
                self._next = now + self.interval
            return
        at = max(now, self._next)
        self._next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)
