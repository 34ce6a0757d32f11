"""The backfill's share of Discord's global rate limit: its page requests spaced evenly.

hikari keeps each route bucket within what Discord's headers say, but every guild's audit log is
a bucket of its own (the guild is its major parameter), and Discord's global limit of 50
requests/s is on their sum. hikari learns of that one only from a 429 (its global limiter
throttles after the fact), and each guild's bucket starts full: a bot backfilling 50 guilds
would send the first pages of all of them at once. So the backfill spaces its own page requests;
the buckets stay hikari's, and the rest of the global limit stays free for what acts for people
(role changes, member fetches, messages).
"""

from __future__ import annotations

import asyncio

#: Backfill page requests per second, across every guild: half of Discord's global limit.
PAGES_PER_S = 25.0


class Pace:
    """At most ``per_s`` starts a second, evenly spaced, in the order they were asked for."""

    def __init__(self, per_s: float = PAGES_PER_S) -> None:
        if per_s <= 0:
            raise ValueError("a pace needs a positive rate")
        self._interval = 1.0 / per_s
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(now, self._next)
        self._next = at + self._interval  # reserved before sleeping: callers queue in order
        if at > now:
            await asyncio.sleep(at - now)
