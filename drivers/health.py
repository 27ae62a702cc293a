"""Per-device communication health: exponential back-off on the Clock, transition-only logging.

A failing device is retried after 1 s, 2 s, 4 s ... up to 30 s of Clock time, so it costs the
connection one timeout per back-off period instead of one per cycle, and the log gets one
line when it fails and one when it recovers, not one per cycle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drivers.cache import PointCache
from drivers.clock import Clock
from drivers.errors import BackedOff, DriverError

MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """A device's communication state, for telemetry and the operator."""

    device: str
    protocol: str
    connected: bool
    good: bool
    consecutive_failures: int
    last_error: str | None
    comm_errors_total: int
    reads_total: int
    writes_total: int
    retry_at_s: float  # monotonic Clock time of the next attempt while backed off


class Backoff:
    """Exponential back-off measured on a Clock."""

    def __init__(
        self, clock: Clock, min_s: float = MIN_BACKOFF_S, max_s: float = MAX_BACKOFF_S
    ) -> None:
        self._clock = clock
        self._min_s = min_s
        self._max_s = max_s
        self.failures = 0
        self.retry_at_s = float("-inf")

    def ready(self) -> bool:
        """Whether an attempt is due (always, until something failed)."""
        return self._clock.monotonic_s() >= self.retry_at_s

    def failed(self) -> float:
        """Count a failure; returns the delay until the next attempt."""
        self.failures += 1
        delay_s: float = min(self._min_s * 2.0 ** (self.failures - 1), self._max_s)
        self.retry_at_s = self._clock.monotonic_s() + delay_s
        return delay_s

    def succeeded(self) -> None:
        self.failures = 0
        self.retry_at_s = float("-inf")


class DeviceStatus:
    """Counters and back-off of one device; logs only on failure and recovery transitions.

    It owns the device's points' quality in the cache on failure: `lost()` is the one place
    where a request that could not be made or failed turns the device's points BAD."""

    def __init__(
        self,
        device: str,
        protocol: str,
        clock: Clock,
        logger: logging.Logger,
        cache: PointCache,
    ) -> None:
        self.device = device
        self.protocol = protocol
        self.backoff = Backoff(clock)
        self._logger = logger
        self._cache = cache
        self._bad_points: set[str] = set()
        self.good = False
        self.last_error: str | None = None
        self.comm_errors_total = 0
        self.reads_total = 0
        self.writes_total = 0

    def ready(self) -> bool:
        return self.backoff.ready()

    def failure(self, error: str) -> None:
        """A request failed: back off, and log if this is the first failure in a row."""
        first = self.backoff.failures == 0
        delay_s = self.backoff.failed()
        self.comm_errors_total += 1
        self.last_error = error
        self.good = False
        if first:
            self._logger.warning(
                "device %s: communication failed (%s); retrying with back-off from %.0f s",
                self.device,
                error,
                delay_s,
            )

    def lost(self, exc: DriverError) -> None:
        """A request was not sent (backed off) or failed: the points go BAD, and it is recorded."""
        self._cache.mark_bad(self.device)
        if isinstance(exc, BackedOff):
            self.waiting(str(exc))
        else:
            self.failure(str(exc))

    def store(self, point: str, value: float | None, read_at_s: float, problem: str = "") -> None:
        """A point's value (None: BAD, with `problem` saying why); logs when it turns bad or good."""
        if value is None:
            if point not in self._bad_points:
                self._logger.warning(
                    "device %s point %s: bad value (%s)", self.device, point, problem
                )
                self._bad_points.add(point)
        elif point in self._bad_points:
            self._logger.warning("device %s point %s: value good again", self.device, point)
            self._bad_points.discard(point)
        self._cache.update(self.device, point, value, read_at_s)

    def waiting(self, error: str) -> None:
        """Nothing was sent (the connection is backed off): BAD, but not a failed attempt."""
        self.good = False
        self.last_error = error

    def success(self) -> None:
        """A full poll succeeded: clear the back-off, and log a recovery."""
        if self.backoff.failures:
            self._logger.warning(
                "device %s: communication recovered after %d failed attempts",
                self.device,
                self.backoff.failures,
            )
        self.backoff.succeeded()
        self.good = True

    def health(self, connected: bool) -> DeviceHealth:
        return DeviceHealth(
            device=self.device,
            protocol=self.protocol,
            connected=connected,
            good=self.good,
            consecutive_failures=self.backoff.failures,
            last_error=self.last_error,
            comm_errors_total=self.comm_errors_total,
            reads_total=self.reads_total,
            writes_total=self.writes_total,
            retry_at_s=self.backoff.retry_at_s,
        )
