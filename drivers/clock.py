"""The one source of time. No code reads the wall clock or sleeps directly: it takes a Clock.

`WallClock` is for live plants. `SimClock` is advanced explicitly by a harness so that plant and
controller run faster than real time in lockstep; its `sleep` returns once the harness has moved
time far enough, which keeps tasks written against a Clock runnable in both worlds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Time as the controller sees it: timezone-aware UTC, plus a monotonic seconds counter."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic_s(self) -> float:
        """Seconds on a counter that never goes backwards (for ages and durations)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class WallClock:
    """The real clock, for live plants."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_s(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SimClock:
    """Simulated time moved forward only by `advance`; deterministic and as fast as the I/O."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware (UTC)")
        self._start = start.astimezone(UTC)
        self._elapsed_s = 0.0
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed_s)

    def monotonic_s(self) -> float:
        return self._elapsed_s

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._elapsed_s += seconds
        still_waiting: list[tuple[float, asyncio.Future[None]]] = []
        for deadline_s, future in self._waiters:
            if deadline_s <= self._elapsed_s + 1e-9:
                if not future.done():
                    future.set_result(None)
            else:
                still_waiting.append((deadline_s, future))
        self._waiters = still_waiting

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._elapsed_s + seconds, future))
        await future
