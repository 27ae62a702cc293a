"""Scenario CSV: the time series a replay, demo or simulation runs on.

Columns: `timestamp_utc` (ISO 8601, UTC) and `price_eur_per_mwh` are required; optional
`carbon_g_per_kwh`, `outdoor_temp_c`, `heat_demand_kw`, `source_temp_c` and
`fuel_price_eur_per_mwh` (the boiler's fuel, per MWh of fuel: overrides the plant file's
constant where given); other columns are ignored. Rows are hourly or finer, strictly increasing. A bad file is refused with its line
number and the reason, never half-read. Values hold from their timestamp until the next row.
"""

from __future__ import annotations

import bisect
import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REQUIRED_COLUMNS = ("timestamp_utc", "price_eur_per_mwh")
OPTIONAL_COLUMNS = (
    "carbon_g_per_kwh",
    "outdoor_temp_c",
    "heat_demand_kw",
    "source_temp_c",
    "fuel_price_eur_per_mwh",
)
NON_NEGATIVE_COLUMNS = ("heat_demand_kw", "carbon_g_per_kwh", "fuel_price_eur_per_mwh")
MAX_STEP = timedelta(hours=1)


class ScenarioError(ValueError):
    """A scenario file that cannot be used; names the file, the line and what is wrong."""


@dataclass(frozen=True, slots=True)
class ScenarioRow:
    timestamp_utc: datetime
    price_eur_per_mwh: float
    carbon_g_per_kwh: float | None
    outdoor_temp_c: float | None
    heat_demand_kw: float | None
    source_temp_c: float | None
    fuel_price_eur_per_mwh: float | None = None


@dataclass(frozen=True)
class Scenario:
    """Rows in time order; `at` gives the row in force at a moment (step-wise hold)."""

    source: str
    rows: tuple[ScenarioRow, ...]
    columns: frozenset[str]

    @property
    def start_utc(self) -> datetime:
        return self.rows[0].timestamp_utc

    @property
    def end_utc(self) -> datetime:
        """End of the last row's interval (its timestamp plus the last spacing)."""
        if len(self.rows) == 1:
            return self.rows[0].timestamp_utc + MAX_STEP
        last_step = self.rows[-1].timestamp_utc - self.rows[-2].timestamp_utc
        return self.rows[-1].timestamp_utc + last_step

    def has(self, column: str) -> bool:
        return column in self.columns

    def at(self, when_utc: datetime) -> ScenarioRow:
        """The row in force at `when_utc`; outside the file's span it is an error, not a guess."""
        if when_utc < self.start_utc or when_utc >= self.end_utc:
            raise ScenarioError(
                f"{self.source}: {when_utc.isoformat()} is outside the scenario "
                f"({self.start_utc.isoformat()} to {self.end_utc.isoformat()})"
            )
        index = bisect.bisect_right(self._timestamps, when_utc) - 1
        return self.rows[index]

    def between(self, start_utc: datetime, end_utc: datetime) -> tuple[ScenarioRow, ...]:
        """Rows whose timestamps fall in [start, end)."""
        low, high = self.span(start_utc, end_utc)
        return self.rows[low:high]

    def span(self, start_utc: datetime, end_utc: datetime) -> tuple[int, int]:
        """Indices `low, high` of the rows whose timestamps fall in [start, end): the same
        pair means the same rows (callers key caches on it)."""
        timestamps = self._timestamps
        return bisect.bisect_left(timestamps, start_utc), bisect.bisect_left(timestamps, end_utc)

    @property
    def _timestamps(self) -> list[datetime]:
        cached: list[datetime] | None = self.__dict__.get("_timestamps_cache")
        if cached is None:
            cached = [row.timestamp_utc for row in self.rows]
            object.__setattr__(self, "_timestamps_cache", cached)
        return cached


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 with an explicit UTC offset (`Z` or `+00:00`); naive times are refused."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp '{text}' has no time zone (expected UTC, e.g. ...Z)")
    if value.utcoffset() != timedelta(0):
        raise ValueError(f"timestamp '{text}' is not UTC")
    return value.astimezone(UTC)


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario CSV; raises ScenarioError naming the line of the first problem."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return parse_scenario(handle.read().splitlines(), str(path))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc.reason})") from None


def parse_scenario(lines: list[str], source: str) -> Scenario:
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ScenarioError(f"{source}: empty file (expected a header line)") from None
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ScenarioError(f"{source}, line 1: missing column(s) {', '.join(missing)}")
    position = {
        name: header.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in header
    }
    rows: list[ScenarioRow] = []
    for line_number, fields in enumerate(reader, start=2):
        if not fields or all(not field.strip() for field in fields):
            continue
        where = f"{source}, line {line_number}"
        if len(fields) < len(header):
            raise ScenarioError(f"{where}: {len(fields)} fields, the header has {len(header)}")
        try:
            row = _parse_row(fields, position)
        except ValueError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        if rows:
            step = row.timestamp_utc - rows[-1].timestamp_utc
            if step <= timedelta(0):
                raise ScenarioError(
                    f"{where}: timestamp {fields[position['timestamp_utc']]} is not after the previous row"
                )
            if step > MAX_STEP:
                raise ScenarioError(
                    f"{where}: gap of {step} after the previous row (hourly or finer)"
                )
        rows.append(row)
    if not rows:
        raise ScenarioError(f"{source}: no data rows")
    present = frozenset(name for name in position)
    return Scenario(source=source, rows=tuple(rows), columns=present)


def _parse_row(fields: list[str], position: dict[str, int]) -> ScenarioRow:
    timestamp = parse_timestamp(fields[position["timestamp_utc"]])
    values: dict[str, float | None] = {}
    for name in (*REQUIRED_COLUMNS[1:], *OPTIONAL_COLUMNS):
        if name not in position:
            values[name] = None
            continue
        text = fields[position[name]].strip()
        if not text:
            if name in REQUIRED_COLUMNS:
                raise ValueError(f"'{name}' is empty")
            values[name] = None
            continue
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"'{name}' is not a number: '{text}'") from None
        if not math.isfinite(number):
            raise ValueError(f"'{name}' is not finite: '{text}'")
        if name in NON_NEGATIVE_COLUMNS and number < 0:
            raise ValueError(f"'{name}' is negative: {number}")
        values[name] = number
    price = values["price_eur_per_mwh"]
    assert price is not None  # required column, checked above
    return ScenarioRow(
        timestamp_utc=timestamp,
        price_eur_per_mwh=price,
        carbon_g_per_kwh=values["carbon_g_per_kwh"],
        outdoor_temp_c=values["outdoor_temp_c"],
        heat_demand_kw=values["heat_demand_kw"],
        source_temp_c=values["source_temp_c"],
        fuel_price_eur_per_mwh=values["fuel_price_eur_per_mwh"],
    )
