"""The replay's inputs: a scenario file made complete for a whole-period evaluation.

A replay needs, for every moment, a price, a carbon intensity, an outdoor temperature and a heat
demand. Real files rarely carry all four: the DK2 file has no weather, the DK1 file no carbon.
What is missing is filled in a documented way and listed in `notes`:
- `outdoor_temp_c`: from another file (`outdoor_from`) at the same calendar hour, or else the
  synthetic Danish climate curve below;
- `carbon_g_per_kwh`: from another file (`carbon_from`) at the same calendar hour, or else 0
  (CO2 then counts the boiler's fuel only);
- `fuel_price_eur_per_mwh` (the boiler's fuel): the file's column, or daily prices from another
  file (`fuel_from`, e.g. the TTF gas benchmark), or else the plant file's constant;
- `heat_demand_kw`: the file's column, rescaled to `demand_peak_kw` if given; without a column,
  the plant's network model on the outdoor temperature (the simulator's own demand function).
A bad file is refused with the line of the first problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from controller.evaluate.fuel import fuel_prices_at
from drivers.scenario import (
    COLUMN_RANGES,
    Scenario,
    ScenarioError,
    ScenarioRow,
    load_scenario,
)
from drivers.site import SiteConfig
from sim_plant.physics.network import NetworkModel
from sim_plant.physics.source import SourceModel
from sim_plant.physics.water import WATER_CP_KJ_PER_KG_K

FloatArray = npt.NDArray[np.float64]
HOUR_S = 3600
SAMPLES_PER_HOUR = 12  # hourly means of sub-hourly files: time-weighted at 5-minute resolution
# Synthetic climate (Aarhus-like): annual mean 8.5 °C, +-8 K, coldest around 20 January,
# a 2 K daily swing peaking at 14:00 UTC. Used only when no file provides temperatures.
CLIMATE_MEAN_C = 8.5
CLIMATE_ANNUAL_K = 8.0
CLIMATE_COLDEST_DAY = 20
CLIMATE_DAILY_K = 2.0
CLIMATE_PEAK_HOUR_UTC = 14


@dataclass(frozen=True)
class EvaluationData:
    """Complete hourly series over the scenario's span, plus the rows for step-wise boundaries.

    Hourly arrays are indexed by hour from `first_hour_s` (epoch seconds, UTC hour start);
    row arrays hold the file's own resolution and give the value in force at any moment.
    """

    source: str
    first_hour_s: int
    price_eur_per_mwh: FloatArray
    carbon_g_per_kwh: FloatArray
    outdoor_temp_c: FloatArray
    heat_demand_kw: FloatArray
    source_temp_c: FloatArray
    row_epoch_s: FloatArray
    row_price: FloatArray
    row_carbon: FloatArray
    row_outdoor: FloatArray
    row_demand: FloatArray
    row_source: FloatArray | None  # None: the plant's source model
    row_fuel: FloatArray | None  # EUR per MWh of fuel; None: the plant file's constant
    fuel_price_eur_per_mwh: FloatArray  # hourly, the plant file's constant where none is given
    market_scenario: Scenario  # the rows as a scenario, carbon filled in, for the market feed
    notes: tuple[str, ...]
    # a data centre's IT load per row (None: its default profile) and its recoverable heat per
    # hour (None: a source without a limit)
    row_it_load: FloatArray | None = None
    source_heat_kw: FloatArray | None = None

    @property
    def hours(self) -> int:
        return int(self.price_eur_per_mwh.size)

    @property
    def start_utc(self) -> datetime:
        return self.market_scenario.start_utc

    @property
    def end_utc(self) -> datetime:
        return self.market_scenario.end_utc

    def hour_index(self, when_utc: datetime) -> int:
        return (int(when_utc.timestamp()) - self.first_hour_s) // HOUR_S

    def hour_utc(self, index: int) -> datetime:
        return datetime.fromtimestamp(self.first_hour_s + index * HOUR_S, tz=UTC)

    def fuel_price_at(self, when_utc: datetime) -> float | None:
        """The fuel price in force at a moment, or None when the data has no fuel prices."""
        if self.row_fuel is None:
            return None
        row = int(self.rows_at(np.array([when_utc.timestamp()]))[0])
        return float(self.row_fuel[row])

    def fuel_quotes(self, start_utc: datetime, end_utc: datetime) -> list[tuple[datetime, float]]:
        """(row start, fuel price) of the rows starting in [start, end)."""
        if self.row_fuel is None:
            return []
        low, high = np.searchsorted(
            self.row_epoch_s, [start_utc.timestamp(), end_utc.timestamp()], side="left"
        )
        return [
            (datetime.fromtimestamp(float(self.row_epoch_s[i]), tz=UTC), float(self.row_fuel[i]))
            for i in range(int(low), int(high))
        ]

    def rows_at(self, epoch_s: FloatArray) -> npt.NDArray[np.int64]:
        """Index of the row in force at each moment (a value holds until the next row)."""
        index = np.searchsorted(self.row_epoch_s, epoch_s, side="right") - 1
        return np.clip(index, 0, self.row_epoch_s.size - 1).astype(np.int64)


def _calendar_lookup(donor: Scenario, column: str) -> dict[tuple[int, int, int], float]:
    """(month, day, hour) -> hourly mean of `column` in the donor file."""
    sums: dict[tuple[int, int, int], tuple[float, int]] = {}
    for row in donor.rows:
        value = getattr(row, column)
        if value is None:
            continue
        stamp = row.timestamp_utc
        key = (stamp.month, stamp.day, stamp.hour)
        total, count = sums.get(key, (0.0, 0))
        sums[key] = (total + value, count + 1)
    return {key: total / count for key, (total, count) in sums.items()}


def _borrow(times: list[datetime], donor_path: Path, column: str) -> tuple[list[float], str]:
    donor = load_scenario(donor_path)
    if not donor.has(column):
        raise ScenarioError(f"{donor_path}: has no '{column}' column to borrow")
    lookup = _calendar_lookup(donor, column)
    out: list[float] = []
    for when in times:
        key = (when.month, when.day, when.hour)
        value = lookup.get(key)
        if value is None:  # 29 February from a common year: take the 28th
            value = lookup.get((when.month, when.day - 1, when.hour))
        if value is None:
            raise ScenarioError(
                f"{donor_path}: no '{column}' for the calendar hour {when:%m-%d %H}:00 UTC"
            )
        out.append(value)
    return out, f"{column} from {donor_path.name} at the same calendar hour (month, day, hour UTC)"


def synthetic_outdoor_c(when: datetime) -> float:
    """The documented climate curve used when no file has outdoor temperatures."""
    day = when.timetuple().tm_yday + when.hour / 24.0
    annual = -CLIMATE_ANNUAL_K * math.cos(2 * math.pi * (day - CLIMATE_COLDEST_DAY) / 365.25)
    daily = CLIMATE_DAILY_K * math.cos(2 * math.pi * (when.hour - CLIMATE_PEAK_HOUR_UTC) / 24.0)
    return CLIMATE_MEAN_C + annual + daily


def load_evaluation_data(
    path: Path,
    site: SiteConfig,
    demand_peak_kw: float | None = None,
    outdoor_from: Path | None = None,
    carbon_from: Path | None = None,
    fuel_from: Path | None = None,
) -> EvaluationData:
    """Read, check and complete a scenario; ScenarioError names the file and line of a problem."""
    scenario = load_scenario(path)
    rows = scenario.rows
    times = [row.timestamp_utc for row in rows]
    notes: list[str] = []

    def require(column: str, why: str) -> list[float]:
        values: list[float] = []
        for index, row in enumerate(rows):
            value = getattr(row, column)
            if value is None:
                raise ScenarioError(f"{scenario.where(index)}: '{column}' is empty ({why})")
            values.append(value)
        return values

    if scenario.has("outdoor_temp_c"):
        outdoor = require("outdoor_temp_c", "the replay needs a temperature for every hour")
    elif outdoor_from is not None:
        outdoor, note = _borrow(times, outdoor_from, "outdoor_temp_c")
        notes.append(note)
    else:
        outdoor = [synthetic_outdoor_c(when) for when in times]
        notes.append(
            "outdoor_temp_c: synthetic climate curve (mean 8.5 °C, +-8 K annual, coldest 20 Jan, "
            "+-2 K daily): the file has none"
        )
    if scenario.has("carbon_g_per_kwh"):
        carbon = require("carbon_g_per_kwh", "the replay needs an intensity for every hour")
    elif carbon_from is not None:
        carbon, note = _borrow(times, carbon_from, "carbon_g_per_kwh")
        notes.append(note)
    else:
        carbon = [0.0] * len(rows)
        notes.append("carbon_g_per_kwh: none given, electricity counted at 0: CO2 is the boiler's")
    demand_range = COLUMN_RANGES["heat_demand_kw"]
    if demand_peak_kw is not None and not 0 < demand_peak_kw <= demand_range.high:
        raise ScenarioError(
            f"--demand-peak-kw {demand_peak_kw:g} is outside 0..{demand_range.high:.0f} kW "
            f"({demand_range.why})"
        )
    if scenario.has("heat_demand_kw"):
        demand = require("heat_demand_kw", "a demand column must be complete")
        if demand_peak_kw is not None:
            peak = max(demand)
            if peak <= 0:
                raise ScenarioError(f"{path}: heat_demand_kw is never positive; cannot rescale")
            demand = [value * demand_peak_kw / peak for value in demand]
            notes.append(f"heat_demand_kw rescaled linearly to a peak of {demand_peak_kw:.0f} kW")
    else:
        if demand_peak_kw is not None:
            raise ScenarioError(
                f"{path}: --demand-peak-kw rescales a heat_demand_kw column, and this file has "
                "none (demand then follows the plant's network model)"
            )
        network = NetworkModel(site.network, WATER_CP_KJ_PER_KG_K)
        demand = [network.heat_demand_kw(temp) for temp in outdoor]
        notes.append("heat_demand_kw: the plant's network model on the outdoor temperature")
    fuel_rows: FloatArray | None = None
    if scenario.has("fuel_price_eur_per_mwh"):
        fuel_rows = np.asarray(
            require("fuel_price_eur_per_mwh", "a fuel price column must be complete")
        )
        if fuel_from is not None:
            notes.append(f"fuel_price_eur_per_mwh: the file's own column ({fuel_from} not used)")
    elif fuel_from is not None:
        fuel_values, note = fuel_prices_at(fuel_from, times)
        fuel_rows = np.asarray(fuel_values, dtype=np.float64)
        notes.append(note)
    else:
        constant = site.boiler.fuel_price_eur_per_mwh if site.boiler else 0.0
        notes.append(
            f"fuel_price_eur_per_mwh: the plant file's constant {constant:g} EUR/MWh (no column, "
            "no --fuel-from)"
        )
    source_rows: FloatArray | None = None
    if scenario.has("source_temp_c"):
        source_rows = np.asarray(require("source_temp_c", "a source column must be complete"))
    it_load_rows: FloatArray | None = None
    if scenario.has("it_load_kw"):
        if site.source.data_centre is None:
            notes.append("it_load_kw: not used, the plant's source is not a data centre")
        else:
            it_load_rows = np.asarray(require("it_load_kw", "an IT-load column must be complete"))
            notes.append("it_load_kw: the file's own column drives the data centre's heat")
    elif site.source.data_centre is not None:
        notes.append("it_load_kw: the plant file's default IT-load profile (the file has none)")

    row_epoch = np.array([when.timestamp() for when in times])
    filled = tuple(
        ScenarioRow(
            timestamp_utc=row.timestamp_utc,
            price_eur_per_mwh=row.price_eur_per_mwh,
            carbon_g_per_kwh=carbon[i],
            outdoor_temp_c=outdoor[i],
            heat_demand_kw=demand[i],
            source_temp_c=row.source_temp_c,
            fuel_price_eur_per_mwh=None if fuel_rows is None else float(fuel_rows[i]),
        )
        for i, row in enumerate(rows)
    )
    columns = scenario.columns | {"carbon_g_per_kwh", "outdoor_temp_c", "heat_demand_kw"}
    if fuel_rows is not None:
        columns |= {"fuel_price_eur_per_mwh"}
    market = Scenario(source=scenario.source, rows=filled, columns=frozenset(columns))
    first_hour_s = int(row_epoch[0]) - int(row_epoch[0]) % HOUR_S
    end_s = market.end_utc.timestamp()
    hours = max(1, math.ceil((end_s - first_hour_s) / HOUR_S))
    samples = first_hour_s + np.arange(hours * SAMPLES_PER_HOUR, dtype=np.float64) * (
        HOUR_S / SAMPLES_PER_HOUR
    )
    index = np.clip(np.searchsorted(row_epoch, samples, side="right") - 1, 0, len(rows) - 1)

    def hourly(values: FloatArray) -> FloatArray:
        return np.asarray(values[index].reshape(hours, SAMPLES_PER_HOUR).mean(axis=1))

    prices = np.array([row.price_eur_per_mwh for row in rows])
    carbon_rows = np.asarray(carbon, dtype=np.float64)
    outdoor_rows = np.asarray(outdoor, dtype=np.float64)
    demand_rows = np.asarray(demand, dtype=np.float64)
    model = SourceModel(site.source, site.plant.timezone)
    hour_starts = [datetime.fromtimestamp(first_hour_s + k * HOUR_S, tz=UTC) for k in range(hours)]
    source_heat_hourly: FloatArray | None = None
    if source_rows is not None:
        source_hourly = hourly(source_rows)
    else:
        source_hourly = np.array([model.temp_c(when) for when in hour_starts])
    if it_load_rows is not None:
        loops = [
            model.conditions(when, float(load))
            for when, load in zip(times, it_load_rows, strict=True)
        ]
        source_heat_hourly = hourly(np.array([loop.recoverable_kw or 0.0 for loop in loops]))
        if source_rows is None:
            source_hourly = hourly(np.array([loop.temp_c for loop in loops]))
    elif site.source.data_centre is not None:
        source_heat_hourly = np.array(
            [model.conditions(when).recoverable_kw or 0.0 for when in hour_starts]
        )
    return EvaluationData(
        source=scenario.source,
        first_hour_s=first_hour_s,
        price_eur_per_mwh=hourly(prices),
        carbon_g_per_kwh=hourly(carbon_rows),
        outdoor_temp_c=hourly(outdoor_rows),
        heat_demand_kw=hourly(demand_rows),
        source_temp_c=source_hourly,
        row_epoch_s=row_epoch,
        row_price=prices,
        row_carbon=carbon_rows,
        row_outdoor=outdoor_rows,
        row_demand=demand_rows,
        row_source=source_rows,
        row_fuel=fuel_rows,
        fuel_price_eur_per_mwh=(
            hourly(fuel_rows)
            if fuel_rows is not None
            else np.full(hours, site.boiler.fuel_price_eur_per_mwh if site.boiler else 0.0)
        ),
        market_scenario=market,
        notes=tuple(notes),
        row_it_load=it_load_rows,
        source_heat_kw=source_heat_hourly,
    )


def replay_window(
    data: EvaluationData, start_utc: datetime | None, days: float | None
) -> tuple[datetime, datetime]:
    """The replayed period: by default a week after the file starts (the forecasters' past)
    for a year or up to the file's end; a window outside the file is an error."""
    first = data.start_utc
    asked = start_utc if start_utc is not None else first + timedelta(days=7)
    # whole hours keep the hourly trace and the hourly plans aligned
    start = asked.replace(minute=0, second=0, microsecond=0)
    if start < first or start >= data.end_utc:
        raise ScenarioError(  # the start as given, not the hour it was rounded to
            f"{data.source}: start {asked.isoformat()} is outside the scenario "
            f"({first.isoformat()} to {data.end_utc.isoformat()})"
        )
    if days is None:
        end = min(data.end_utc, start + timedelta(days=365))
    else:
        if not days > 0:
            raise ScenarioError(f"--days must be positive, got {days}")
        end = start + timedelta(days=days)
        if end > data.end_utc:
            raise ScenarioError(
                f"{data.source}: {days:g} days from {start.isoformat()} run past the scenario's "
                f"end {data.end_utc.isoformat()}"
            )
    return start, end
