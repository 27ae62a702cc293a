"""`MqttMarket`: a `controller.runtime.market.MarketFeed` fed by price, carbon and fuel messages.

The same discipline as the file and scenario feeds: nothing is handed out before it exists. A
price update counts from when it arrived, or from its `published_utc` if that is later (a
trading system may send tomorrow's prices ahead of their publication); carbon intensity counts
only up to the current hour. A later update for the same hour replaces the earlier value.
History older than a week is forgotten, and nothing more than `AHEAD` ahead of its arrival is
taken: whatever a publisher sends, the market holds a bounded amount (prices already usable are
merged into one table; at most `MAX_WAITING` price updates wait for their publication time, at
most `MAX_FUEL_QUOTES` fuel quotes are kept).

With `on_change` every accepted update hands the whole `memory()` on (the live controller saves
it in its state store); `restore` takes a saved memory back on start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from controller.core.forecast import HOUR, QUARTER, hour_start
from controller.runtime.market import HISTORY
from controller.runtime.state_store import MarketMemory
from controller.telemetry.mqtt.messages import CarbonUpdate, FuelUpdate, MessageError, PriceUpdate

AHEAD = HISTORY  # the farthest ahead of its arrival a price, carbon value or fuel quote may lie
MAX_WAITING = 200
MAX_FUEL_QUOTES = 1000


def _not_too_far_ahead(what: str, when: datetime, received_utc: datetime) -> None:
    if when - received_utc > AHEAD:
        raise MessageError(
            f"{what} {when.isoformat()} is more than {AHEAD.days} days after its arrival"
        )


class MqttMarket:
    def __init__(self, on_change: Callable[[MarketMemory, datetime], object] | None = None) -> None:
        self._on_change = on_change
        # (usable from, {hour: price}) in arrival order; later entries win for the same hour
        self._price_updates: list[tuple[datetime, dict[datetime, float]]] = []
        self._carbon: dict[datetime, float] = {}
        self._fuel: list[tuple[datetime, float]] = []  # (valid from, EUR/MWh) in time order

    def add_prices(self, update: PriceUpdate, received_utc: datetime) -> None:
        usable_from = max(received_utc, update.published_utc or received_utc)
        _not_too_far_ahead("published_utc", usable_from, received_utc)
        latest = max(point.start_utc for point in update.prices)
        _not_too_far_ahead("a price's start_utc", latest, received_utc)
        waiting = sum(1 for entry in self._price_updates if entry[0] > received_utc)
        if usable_from > received_utc and waiting >= MAX_WAITING:
            raise MessageError(f"{waiting} price updates already wait for their publication")
        hours = {p.start_utc: p.price_eur_per_mwh for p in update.prices}
        self._price_updates.append((usable_from, hours))
        self._forget(received_utc)
        self._changed(received_utc)

    def add_carbon(self, update: CarbonUpdate, received_utc: datetime) -> None:
        latest = max(point.start_utc for point in update.values)
        _not_too_far_ahead("a carbon value's start_utc", latest, received_utc)
        for point in update.values:
            self._carbon[point.start_utc] = point.carbon_g_per_kwh
        self._forget(received_utc)
        self._changed(received_utc)

    def add_fuel(self, update: FuelUpdate, received_utc: datetime) -> None:
        valid_from = update.valid_from_utc or received_utc
        _not_too_far_ahead("valid_from_utc", valid_from, received_utc)
        # a later message for the same moment corrects the earlier one
        self._fuel = [entry for entry in self._fuel if entry[0] != valid_from]
        self._fuel.append((valid_from, update.fuel_price_eur_per_mwh))
        self._fuel.sort(key=lambda entry: entry[0])
        del self._fuel[:-MAX_FUEL_QUOTES]  # the earliest go first: the latest quotes matter
        self._forget(received_utc)
        self._changed(received_utc)

    def fuel_price(self, now_utc: datetime) -> float | None:
        """The latest fuel price in force now, if quoted within the last week."""
        oldest = now_utc - HISTORY
        for valid_from, price in reversed(self._fuel):
            if valid_from <= now_utc:
                return price if valid_from >= oldest else None
        return None

    def prices(self, now_utc: datetime) -> tuple[dict[datetime, float], datetime]:
        """Hourly prices usable now (past week and future) and where the known run ends."""
        merged: dict[datetime, float] = {}
        for usable_from, hours in self._price_updates:
            if usable_from <= now_utc:
                merged.update(hours)
        oldest = now_utc - HISTORY
        known = {hour: price for hour, price in merged.items() if hour >= oldest}
        until = hour_start(now_utc)
        while until in known:
            # quarter-hour prices step by quarters, hourly ones by hours
            quarterly = until.minute != 0 or until + QUARTER in known
            until += QUARTER if quarterly else HOUR
        return known, until

    def carbon(self, now_utc: datetime) -> dict[datetime, float]:
        """Hourly carbon intensity up to and including the current hour."""
        current = hour_start(now_utc)
        oldest = now_utc - HISTORY
        return {h: v for h, v in self._carbon.items() if oldest <= h <= current}

    def _forget(self, now_utc: datetime) -> None:
        oldest = now_utc - HISTORY
        # the updates usable now, from the first on, merge into one (later ones win as before);
        # one still waiting for its publication keeps its place among the later ones
        merged: dict[datetime, float] = {}
        merged_usable_from = oldest
        kept: list[tuple[datetime, dict[datetime, float]]] = []
        for usable_from, hours in self._price_updates:
            if not kept and usable_from <= now_utc:
                merged.update(hours)
                merged_usable_from = max(merged_usable_from, usable_from)
            else:
                kept.append((usable_from, hours))
        if merged:
            kept.insert(0, (merged_usable_from, merged))
        self._price_updates = []
        for usable_from, hours in kept:
            recent = {hour: price for hour, price in hours.items() if hour >= oldest}
            if recent:
                self._price_updates.append((usable_from, recent))
        self._carbon = {hour: value for hour, value in self._carbon.items() if hour >= oldest}
        # keep the quote in force a week ago: it may still be the latest
        in_force = [i for i, (valid_from, _) in enumerate(self._fuel) if valid_from <= oldest]
        if in_force:
            self._fuel = self._fuel[in_force[-1] :]

    def memory(self) -> MarketMemory:
        """What this feed holds, to be saved."""
        return MarketMemory(
            price_updates=tuple((start, dict(hours)) for start, hours in self._price_updates),
            carbon=dict(self._carbon),
            fuel=tuple(self._fuel),
        )

    def restore(self, memory: MarketMemory, now_utc: datetime) -> None:
        """Take a saved memory back, keeping only what this feed would still hold at `now`
        (the past week and anything ahead), as if the controller had never stopped."""
        self._price_updates = [(start, dict(hours)) for start, hours in memory.price_updates]
        self._carbon = dict(memory.carbon)
        self._fuel = sorted(memory.fuel, key=lambda entry: entry[0])
        self._forget(now_utc)

    def _changed(self, now_utc: datetime) -> None:
        if self._on_change is not None:
            self._on_change(self.memory(), now_utc)
