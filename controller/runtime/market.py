"""Market information as a plant receives it: day-ahead prices after their publication time,
carbon intensity as it is observed, the boiler's fuel price as last quoted. Nothing here hands
out a value before it exists."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from controller.core.forecast import HOUR, day_ahead_known_until, hour_start, quarter_start
from drivers.scenario import Scenario, ScenarioError, load_scenario

log = logging.getLogger(__name__)

HISTORY = timedelta(days=8)
_INSTANT = timedelta(microseconds=1)


class MarketFeed(Protocol):
    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        """Prices known at `now` (past week and published future), keyed by the start of their
        period (hour or quarter-hour, as the market cleared them), and where they end."""
        ...

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        """Hourly carbon intensity observed up to and including the current hour."""
        ...

    def fuel_price(self, now_utc: datetime) -> float | None:
        """The boiler fuel price (EUR per MWh of fuel) in force now, quoted within the last
        `HISTORY`; None: no quote, the plant file's constant applies."""
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
        self._means_cache: dict[str, tuple[tuple[int, int], dict[datetime, float]]] = {}

    def known_until(self, now_utc: datetime) -> datetime:
        return min(
            day_ahead_known_until(now_utc, self._publication, self._timezone),
            self._scenario.end_utc,
        )

    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        until = self.known_until(now_utc)
        return self._means(now_utc - HISTORY, until, "price", quarter_start), until

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        if not self._scenario.has("carbon_g_per_kwh"):
            return {}
        return self._means(now_utc - HISTORY, hour_start(now_utc) + HOUR, "carbon", hour_start)

    def fuel_price(self, now_utc: datetime) -> float | None:
        if not self._scenario.has("fuel_price_eur_per_mwh"):
            return None
        # the latest quote at or before now: a row's value holds from its timestamp
        for row in reversed(self._scenario.between(now_utc - HISTORY, now_utc + _INSTANT)):
            if row.fuel_price_eur_per_mwh is not None:
                return row.fuel_price_eur_per_mwh
        return None

    def _means(
        self,
        start: datetime,
        end: datetime,
        column: str,
        period_of: Callable[[datetime], datetime],
    ) -> dict[datetime, float]:
        """Means of the column within each period over the rows in [start, end) (finer rows
        than the market's are averaged), built once per row span; callers must not change the
        dict they are given."""
        span = self._scenario.span(start, end)
        cached = self._means_cache.get(column)
        if cached is not None and cached[0] == span:
            return cached[1]
        sums: dict[datetime, tuple[float, int]] = {}
        low, high = span
        for row in self._scenario.rows[low:high]:
            value = row.price_eur_per_mwh if column == "price" else row.carbon_g_per_kwh
            if value is None:
                continue
            period = period_of(row.timestamp_utc)
            total, count = sums.get(period, (0.0, 0))
            sums[period] = (total + value, count + 1)
        means = {period: total / count for period, (total, count) in sums.items()}
        self._means_cache[column] = (span, means)
        return means


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

    def fuel_price(self, now_utc: datetime) -> float | None:
        assert self._market is not None
        return self._market.fuel_price(now_utc)
