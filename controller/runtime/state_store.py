"""What operators and the market told the controller, kept across a restart, in SQLite.

Two things live here (`<data_dir>/state.sqlite3`): the operator overrides in force, each with
its original expiry and when it was received, and the last accepted market data that arrived
over MQTT (price updates with the time each becomes usable, carbon intensity, fuel quotes with
the time each is valid from). Without it a restart would drop an accepted curtailment with no
`override_released` event, and send the planner back to rules until the market spoke again.

Every save replaces the whole set in one transaction (a few dozen overrides at most; a week of
market data), in WAL mode with `synchronous=FULL`: a killed process or a power cut leaves the
old set or the new one, never half of one. Saves happen only on change (a request taken, a
release, a cancel, an expiry, a market message), not every cycle. A save that fails is logged
once (and again on recovery) and counted; the controller keeps running on what it holds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from controller.core.overrides import OverrideRequest

log = logging.getLogger(__name__)

STATE_FILE = "state.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS override (
    request_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    expires_utc TEXT NOT NULL,
    received_utc TEXT NOT NULL,
    operator TEXT NOT NULL,
    unit TEXT,
    unit_on INTEGER,
    heat_kw REAL,
    max_power_kw REAL,
    min_heat_kw REAL
);
CREATE TABLE IF NOT EXISTS market (
    part TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    saved_utc TEXT NOT NULL
);
"""
MARKET_PARTS = ("prices", "carbon", "fuel")


class StateStoreError(OSError):
    """The state file cannot be used at all; the message names the file and what to do."""


@dataclass(frozen=True, slots=True)
class MarketMemory:
    """The market data a feed holds: price updates (usable from, {period start: EUR/MWh}) in
    arrival order, hourly carbon intensity, fuel quotes (valid from, EUR/MWh) in time order."""

    price_updates: tuple[tuple[datetime, Mapping[datetime, float]], ...] = ()
    carbon: Mapping[datetime, float] = field(default_factory=dict)
    fuel: tuple[tuple[datetime, float], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.price_updates or self.carbon or self.fuel)


class StateStore:
    """Overrides in force and the last market data; used from the event loop's thread only."""

    def __init__(self, path: Path, lock_wait_s: float = 1.0) -> None:
        # a save runs on the event loop: another process holding the file (a backup copying it)
        # may delay it this long, then the save fails and is retried on the next change
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.save_errors_total = 0
        self._failing = False
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=lock_wait_s)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise _unusable(path, exc) from None

    def close(self) -> None:
        self._db.close()

    # --- overrides -----------------------------------------------------------------------------
    def save_overrides(self, requests: Iterable[OverrideRequest], now_utc: datetime) -> str | None:
        """Replace the saved overrides with `requests`; None when saved, else why not."""
        rows = [_override_row(request) for request in requests]
        return self._transaction(
            "overrides",
            [
                ("DELETE FROM override", None),
                (
                    "INSERT INTO override (request_id, kind, priority, expires_utc, received_utc, "
                    "operator, unit, unit_on, heat_kw, max_power_kw, min_heat_kw) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                ),
            ],
        )

    def load_overrides(self) -> tuple[OverrideRequest, ...]:
        """The saved overrides, oldest first; a row that cannot be read is logged and skipped."""
        out: list[OverrideRequest] = []
        try:
            rows = self._db.execute(
                "SELECT request_id, kind, priority, expires_utc, received_utc, operator, unit, "
                "unit_on, heat_kw, max_power_kw, min_heat_kw FROM override ORDER BY received_utc"
            ).fetchall()
        except sqlite3.Error as exc:
            raise _unusable(self.path, exc) from None
        for row in rows:
            try:
                out.append(_override_of(row))
            except (TypeError, ValueError) as exc:
                log.error(
                    "%s: saved override %r cannot be read, dropped: %s", self.path, row[0], exc
                )
        return tuple(out)

    # --- market --------------------------------------------------------------------------------
    def save_market(self, memory: MarketMemory, now_utc: datetime) -> str | None:
        """Replace the saved market data with `memory`; None when saved, else why not."""
        parts = {
            "prices": [
                {"usable_from_utc": _text(start), "prices": _pairs(periods.items())}
                for start, periods in memory.price_updates
            ],
            "carbon": _pairs(memory.carbon.items()),
            "fuel": _pairs(memory.fuel),
        }
        saved = _text(now_utc)
        rows = [
            (part, json.dumps(data, separators=(",", ":")), saved) for part, data in parts.items()
        ]
        return self._transaction(
            "market data",
            [("INSERT OR REPLACE INTO market (part, data, saved_utc) VALUES (?, ?, ?)", rows)],
        )

    def load_market(self) -> MarketMemory:
        """The saved market data; a part that cannot be read is logged and left empty."""
        try:
            stored = dict(self._db.execute("SELECT part, data FROM market").fetchall())
        except sqlite3.Error as exc:
            raise _unusable(self.path, exc) from None
        prices: tuple[tuple[datetime, Mapping[datetime, float]], ...] = ()
        carbon: dict[datetime, float] = {}
        fuel: tuple[tuple[datetime, float], ...] = ()
        try:
            prices = tuple(
                (_utc(update["usable_from_utc"]), dict(_read_pairs(update["prices"])))
                for update in json.loads(stored.get("prices", "[]"))
            )
        except (TypeError, ValueError, KeyError) as exc:
            log.error("%s: saved prices cannot be read, not restored: %s", self.path, exc)
        try:
            carbon = dict(_read_pairs(json.loads(stored.get("carbon", "[]"))))
        except (TypeError, ValueError) as exc:
            log.error("%s: saved carbon intensity cannot be read, not restored: %s", self.path, exc)
        try:
            fuel = tuple(sorted(_read_pairs(json.loads(stored.get("fuel", "[]")))))
        except (TypeError, ValueError) as exc:
            log.error("%s: saved fuel prices cannot be read, not restored: %s", self.path, exc)
        return MarketMemory(prices, carbon, fuel)

    # --- one transaction, failures logged on transition ---------------------------------------
    def _transaction(
        self, what: str, statements: list[tuple[str, Sequence[tuple[object, ...]] | None]]
    ) -> str | None:
        """Run each statement over its rows (None: once) in one transaction."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for sql, rows in statements:
                if rows is None:
                    self._db.execute(sql)
                else:
                    self._db.executemany(sql, rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            self.save_errors_total += 1
            if not self._failing:
                log.error("%s: %s not saved, a restart would lose them: %s", self.path, what, exc)
            self._failing = True
            return str(exc)
        if self._failing:
            log.info("%s: saving works again", self.path)
            self._failing = False
        return None


def _unusable(path: Path, exc: sqlite3.Error) -> StateStoreError:
    return StateStoreError(
        f"{path}: not a usable state store ({exc}); move it aside to start without the saved "
        "overrides and market data"
    )


def _override_row(request: OverrideRequest) -> tuple[object, ...]:
    return (
        request.request_id,
        request.kind,
        request.priority,
        _text(request.expires_utc),
        _text(request.received_utc),
        request.operator,
        request.unit,
        None if request.on is None else int(request.on),
        request.heat_kw,
        request.max_power_kw,
        request.min_heat_kw,
    )


def _override_of(row: tuple[object, ...]) -> OverrideRequest:
    request_id, kind, priority, expires, received, operator, unit, on, heat, cap, floor = row
    if not isinstance(request_id, str) or not isinstance(kind, str):
        raise ValueError("id and kind must be text")
    if not isinstance(priority, int) or not isinstance(operator, str):
        raise ValueError("priority must be an integer and operator text")
    return OverrideRequest(
        request_id=request_id,
        kind=kind,
        priority=priority,
        expires_utc=_utc(expires),
        received_utc=_utc(received),
        operator=operator,
        unit=unit if isinstance(unit, str) else None,
        on=None if on is None else bool(on),
        heat_kw=_float_or_none(heat),
        max_power_kw=_float_or_none(cap),
        min_heat_kw=_float_or_none(floor),
    )


def _float_or_none(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _text(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError(f"time {when!r} has no time zone")
    return when.astimezone(UTC).isoformat()


def _utc(text: object) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a time")
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return when.astimezone(UTC)


def _pairs(items: Iterable[tuple[datetime, float]]) -> list[list[object]]:
    return [[_text(when), value] for when, value in items]


def _read_pairs(data: object) -> list[tuple[datetime, float]]:
    if not isinstance(data, list):
        raise ValueError("not a list of [time, value] pairs")
    out: list[tuple[datetime, float]] = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2):
            raise ValueError(f"{item!r} is not a [time, value] pair")
        value = _float_or_none(item[1])
        if value is None:
            raise ValueError(f"{item!r} has no value")
        out.append((_utc(item[0]), value))
    return out
