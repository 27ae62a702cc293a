"""Scenario CSV: the time series a replay, demo or simulation runs on.

Columns: `timestamp_utc` (ISO 8601, UTC) and `price_eur_per_mwh` are required; optional
`carbon_g_per_kwh`, `outdoor_temp_c`, `heat_demand_kw`, `source_temp_c`,
`fuel_price_eur_per_mwh` (the boiler's fuel, per MWh of fuel: overrides the plant file's
constant where given) and `it_load_kw` (a data centre's IT power, which its waste-heat source
follows: see drivers/datacentre.py; absent, the plant file's default profile); other columns are ignored. Rows are hourly or finer, strictly increasing.
Every value must be a plain decimal number inside its column's range (`COLUMN_RANGES`). A bad
file is refused with its line number and the reason, never half-read. Values hold from their
timestamp until the next row.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drivers.csv_input import CsvRows, InputFileError, ValueRange, parse_number, read_lines, shown

REQUIRED_COLUMNS = ("timestamp_utc", "price_eur_per_mwh")
OPTIONAL_COLUMNS = (
    "carbon_g_per_kwh",
    "outdoor_temp_c",
    "heat_demand_kw",
    "source_temp_c",
    "fuel_price_eur_per_mwh",
    "it_load_kw",
)
# Physical or market limits, wide enough for every real series (DK1/DK2 2021-2024 prices span
# -60..936 EUR/MWh, DK2 carbon 13..467 g/kWh, TTF gas 15..339 EUR/MWh) and narrow enough that a
# unit slip or a corrupted number cannot reach the planner as a finite but absurd input.
COLUMN_RANGES: dict[str, ValueRange] = {
    # SDAC (the European day-ahead market coupling) clears only between its harmonised minimum
    # and maximum prices, -500 and +4000 EUR/MWh since the 2022 increase from +3000 (the
    # methodology can raise the maximum again after a price near it: raise this bound with it);
    # the MQTT market feed accepts the same range.
    "price_eur_per_mwh": ValueRange(
        -500.0, 4000.0, "EUR/MWh", "the day-ahead market's harmonised clearing limits"
    ),
    # lignite, the dirtiest fuel on any grid, emits about 1.1-1.2 kg CO2 per kWh
    "carbon_g_per_kwh": ValueRange(0.0, 2000.0, "g/kWh", "above any grid's intensity"),
    # the extremes measured in inhabited places: Oymyakon -68 °C, Death Valley 57 °C
    "outdoor_temp_c": ValueRange(-70.0, 60.0, "°C", "the climate's extremes"),
    # an air source is the outdoor air; water sources and waste heat stay below boiling
    "source_temp_c": ValueRange(-70.0, 100.0, "°C", "outdoor air to water below boiling"),
    # 10 GW is above the peak load of the largest district-heating networks (a few GW); more
    # is a unit slip, W written for kW
    "heat_demand_kw": ValueRange(0.0, 1.0e7, "kW", "10 GW, above any heating network's peak"),
    # per MWh of fuel; TTF gas peaked near 340 in 2022; the MQTT fuel feed's range
    "fuel_price_eur_per_mwh": ValueRange(
        0.0, 2000.0, "EUR/MWh", "several times the 2022 gas price peak"
    ),
    # the largest data-centre campuses announced draw 1-2 GW of IT power; more is a unit slip,
    # W written for kW. 0 is a data centre that is idle or off.
    "it_load_kw": ValueRange(0.0, 2.0e6, "kW", "2 GW, above the largest data-centre campus"),
}
# market and weather records begin after 1900; a later year than 2100 is a typing slip, and the
# bounds keep every time arithmetic (an hour past the end) inside datetime's range
EARLIEST_UTC = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_UTC = datetime(2100, 1, 1, tzinfo=UTC)
MAX_STEP = timedelta(hours=1)


class ScenarioError(InputFileError):
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
    it_load_kw: float | None = None


@dataclass(frozen=True)
class Scenario:
    """Rows in time order; `at` gives the row in force at a moment (step-wise hold)."""

    source: str
    rows: tuple[ScenarioRow, ...]
    columns: frozenset[str]
    line_numbers: tuple[int, ...] = ()  # the file line of each row, when read from a file

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

    def where(self, index: int) -> str:
        """'source, line N' of row `index`, for messages about it."""
        if index < len(self.line_numbers):
            return f"{self.source}, line {self.line_numbers[index]}"
        return f"{self.source}, row {index + 1}"

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
    stripped = text.strip()
    try:
        value = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"timestamp '{shown(stripped)}' is not ISO 8601 (e.g. 2024-01-08T00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise ValueError(f"timestamp '{text}' has no time zone (expected UTC, e.g. ...Z)")
    if value.utcoffset() != timedelta(0):
        raise ValueError(f"timestamp '{text}' is not UTC")
    return value.astimezone(UTC)


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario CSV; raises ScenarioError naming the line of the first problem."""
    try:
        lines = read_lines(path, "scenario file")
    except InputFileError as exc:
        raise ScenarioError(str(exc)) from None
    return parse_scenario(lines, str(path))


def parse_scenario(lines: list[str], source: str) -> Scenario:
    try:
        return _parse(lines, source)
    except ScenarioError:
        raise
    except InputFileError as exc:
        raise ScenarioError(str(exc)) from None


def _parse(lines: list[str], source: str) -> Scenario:
    table = CsvRows(lines, source)
    table.missing(REQUIRED_COLUMNS)
    header = table.header
    position = {
        name: header.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in header
    }
    rows: list[ScenarioRow] = []
    line_numbers: list[int] = []
    for line_number, fields in table:
        where = f"{source}, line {line_number}"
        try:
            row = _parse_row(fields, position)
        except ValueError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        if rows:
            step = row.timestamp_utc - rows[-1].timestamp_utc
            if step <= timedelta(0):
                raise ScenarioError(
                    f"{where}: timestamp {fields[position['timestamp_utc']].strip()} is not "
                    f"after the previous row (line {line_numbers[-1]})"
                )
            if step > MAX_STEP:
                raise ScenarioError(
                    f"{where}: gap of {step} after the previous row (hourly or finer)"
                )
        rows.append(row)
        line_numbers.append(line_number)
    if not rows:
        raise ScenarioError(f"{source}: no data rows")
    present = frozenset(name for name in position)
    return Scenario(
        source=source, rows=tuple(rows), columns=present, line_numbers=tuple(line_numbers)
    )


def _parse_row(fields: list[str], position: dict[str, int]) -> ScenarioRow:
    stamp_text = fields[position["timestamp_utc"]].strip()
    timestamp = parse_timestamp(stamp_text)
    if not EARLIEST_UTC <= timestamp < LATEST_UTC:
        raise ValueError(
            f"timestamp {stamp_text} is outside {EARLIEST_UTC.year}..{LATEST_UTC.year - 1}"
        )
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
        values[name] = parse_number(text, name, COLUMN_RANGES[name])
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
        it_load_kw=values["it_load_kw"],
    )
