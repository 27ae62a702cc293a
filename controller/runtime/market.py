"""Market information as a plant receives it: day-ahead prices after their publication time,
carbon intensity as it is observed. Nothing here hands out a value before it exists."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from controller.core.forecast import HOUR, day_ahead_known_until, hour_start
from drivers.scenario import Scenario, ScenarioError, load_scenario

log = logging.getLogger(__name__)

HISTORY = timedelta(days=8)


class MarketFeed(Protocol):
    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        """Hourly prices known at `now` (past week and published future) and where they end."""
        ...

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        """Hourly carbon intensity observed up to and including the current hour."""
        ...


class ScenarioMarket:
    """A scenario file released as the market would: prices at publication, carbon as it happens."""

    def __init__(self, scenario: Scenario, publication: time, timezone: str) -> None:
        self._scenario = scenario
        self._publication = publication
        self._timezone = timezone
        # per column: the rows last averaged and their hourly means. The planner asks every
        # cycle and the rows change once an hour (hourly files): the same rows give the same
        # dict back, which also lets the planner skip rescanning it
        self._hourly_cache: dict[str, tuple[tuple[int, int], dict[datetime, float]]] = {}

    def known_until(self, now_utc: datetime) -> datetime:
        return min(
            day_ahead_known_until(now_utc, self._publication, self._timezone),
            self._scenario.end_utc,
        )

    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        until = self.known_until(now_utc)
        return self._hourly(now_utc - HISTORY, until, "price"), until

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        if not self._scenario.has("carbon_g_per_kwh"):
            return {}
        return self._hourly(now_utc - HISTORY, hour_start(now_utc) + HOUR, "carbon")

    def _hourly(self, start: datetime, end: datetime, column: str) -> dict[datetime, float]:
        """Hourly means of the column over the rows in [start, end), built once per row span;
        callers must not change the dict they are given."""
        span = self._scenario.span(start, end)
        cached = self._hourly_cache.get(column)
        if cached is not None and cached[0] == span:
            return cached[1]
        sums: dict[datetime, tuple[float, int]] = {}
        low, high = span
        for row in self._scenario.rows[low:high]:
            value = row.price_eur_per_mwh if column == "price" else row.carbon_g_per_kwh
            if value is None:
                continue
            hour = hour_start(row.timestamp_utc)
            total, count = sums.get(hour, (0.0, 0))
            sums[hour] = (total + value, count + 1)
        hourly = {hour: total / count for hour, (total, count) in sums.items()}
        self._hourly_cache[column] = (span, hourly)
        return hourly


class FileMarket:
    """A price file that another system keeps current; re-read whenever it changes on disk.

    A file that turns bad keeps the last good prices in use and logs the reason once.
    """

    def __init__(self, path: Path, publication: time, timezone: str) -> None:
        self._path = path
        self._publication = publication
        self._timezone = timezone
        self._mtime_ns: int | None = None
        self._market: ScenarioMarket | None = None
        self.errors_total = 0
        self._reload()

    def _reload(self) -> None:
        try:
            mtime_ns = self._path.stat().st_mtime_ns
        except OSError as exc:
            if self._market is None:
                raise ScenarioError(f"{self._path}: price file cannot be read ({exc})") from None
            return
        if mtime_ns == self._mtime_ns:
            return
        self._mtime_ns = mtime_ns
        try:
            scenario = load_scenario(self._path)
        except ScenarioError as exc:
            self.errors_total += 1
            if self._market is None:
                raise
            log.error("price file rejected, keeping the last good prices: %s", exc)
            return
        self._market = ScenarioMarket(scenario, self._publication, self._timezone)

    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        self._reload()
        assert self._market is not None
        return self._market.prices(now_utc)

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        assert self._market is not None
        return self._market.carbon(now_utc)
