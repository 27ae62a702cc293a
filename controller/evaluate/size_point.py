"""One point of a sizing sweep: the plant resized, one policy's replay, its operating figures.

`run_point` is what a Dask worker runs: a plain function of picklable arguments that returns a
JSON-ready dict, so a point computed on any machine is stored and read back the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from controller.config import Plant
from controller.evaluate.data import EvaluationData
from controller.evaluate.kpis import heat_value, policy_kpis
from controller.evaluate.replay import replay
from controller.evaluate.runner import factory
from controller.evaluate.size_scale import scale_plant

# Bumped whenever the scaling or the figures of a point change meaning, so that a store written
# by an older version is not taken for this one's.
POINT_VERSION = 1
# An hour counts as unmet when the network got less than this share of its demand.
UNMET_HOUR_FRACTION = 0.01


@dataclass(frozen=True)
class SizePoint:
    heat_pump_mw: float
    tank_m3: float
    boiler_mw: float | None  # None: the plant file's boiler as it is

    @property
    def key(self) -> str:
        boiler = "file" if self.boiler_mw is None else f"{self.boiler_mw:g}"
        return f"hp={self.heat_pump_mw:g}MW tank={self.tank_m3:g}m3 boiler={boiler}"


@dataclass(frozen=True)
class Replayed:
    """What the sweep needs from a point's replay: the investment is added afterwards, so a
    change of cost figures re-prices a stored sweep without replaying it."""

    unit_count: int
    boiler_mw: float  # as replayed (0: no boiler)
    operating_cost_eur: float  # electricity + fuel + carbon price x CO2, stored heat adjusted
    cash_cost_eur: float  # stored heat adjusted
    co2_t: float  # stored heat adjusted
    heat_demand_mwh: float
    heat_delivered_mwh: float
    boiler_heat_mwh: float
    boiler_share: float  # boiler heat / heat produced
    unmet_heat_mwh: float
    unmet_heat_hours: int
    tank_cycles: float  # equivalent full discharges
    electricity_mwh: float
    average_cop: float
    starts: int
    replay_wall_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            key: (value if not isinstance(value, float) or math.isfinite(value) else None)
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Replayed:
        values: dict[str, Any] = {
            name: math.nan if raw[name] is None else raw[name] for name in cls.__dataclass_fields__
        }
        return cls(**values)


def inputs_hash(
    plant: Plant,
    data: EvaluationData,
    policy: str,
    carbon_price_eur_per_t: float | None,
    start_utc: datetime,
    end_utc: datetime,
    step_s: float,
) -> str:
    """Everything a point's replay depends on besides its sizes, as one digest."""
    digest = hashlib.sha256()
    settings = {
        "version": POINT_VERSION,
        "site": plant.site.model_dump(mode="json"),
        "control": plant.control.model_dump(mode="json"),
        "maps": {name: m.model_dump(mode="json") for name, m in sorted(plant.maps.items())},
        "policy": policy,
        "carbon_price_eur_per_t": carbon_price_eur_per_t,
        "start_utc": start_utc.isoformat(),
        "end_utc": end_utc.isoformat(),
        "step_s": step_s,
        "first_hour_s": data.first_hour_s,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for array in (
        data.price_eur_per_mwh,
        data.carbon_g_per_kwh,
        data.outdoor_temp_c,
        data.heat_demand_kw,
        data.source_temp_c,
        data.row_epoch_s,
        data.row_price,
        data.row_carbon,
        data.row_outdoor,
        data.row_demand,
        data.fuel_price_eur_per_mwh,
        data.row_source,
        data.row_fuel,
    ):
        digest.update(b"-" if array is None else np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def check_point(plant: Plant, point: SizePoint) -> None:
    """Raise ConfigError now, before a sweep starts, if `point` cannot be built."""
    scale_plant(
        plant,
        point.heat_pump_mw * 1000.0,
        point.tank_m3,
        None if point.boiler_mw is None else point.boiler_mw * 1000.0,
    )


def run_point(
    plant: Plant,
    data: EvaluationData,
    point: SizePoint,
    policy: str,
    carbon_price_eur_per_t: float | None,
    start_utc: datetime,
    end_utc: datetime,
    step_s: float,
) -> dict[str, Any]:
    """Replay `policy` on `plant` resized to `point`; the figures as a JSON-ready dict."""
    boiler_kw = None if point.boiler_mw is None else point.boiler_mw * 1000.0
    sized = scale_plant(plant, point.heat_pump_mw * 1000.0, point.tank_m3, boiler_kw)
    make = factory(policy, data, start_utc, carbon_price_eur_per_t)
    result = replay(sized, data, make, start_utc, end_utc, step_s)
    price = (
        sized.control.planner.carbon_price_eur_per_t
        if carbon_price_eur_per_t is None
        else carbon_price_eur_per_t
    )
    fuel = data.fuel_price_eur_per_mwh[data.hour_index(start_utc) :]
    kpis = policy_kpis(result, sized, price, fuel, heat_value(result, sized, price, fuel))
    trace = result.trace
    produced_kwh = float(trace.unit_heat_kwh.sum() + trace.boiler_heat_kwh.sum())
    short_kwh = trace.demand_kwh - trace.delivered_kwh
    unmet_hours = int(np.count_nonzero(short_kwh > UNMET_HOUR_FRACTION * trace.demand_kwh))
    boiler = sized.site.boiler
    replayed = Replayed(
        unit_count=len(sized.site.units),
        boiler_mw=boiler.heat_max_kw / 1000.0 if boiler is not None else 0.0,
        operating_cost_eur=kpis.adjusted_cost_eur,
        cash_cost_eur=kpis.adjusted_cash_cost_eur,
        co2_t=kpis.adjusted_co2_t,
        heat_demand_mwh=kpis.heat_demand_mwh,
        heat_delivered_mwh=kpis.heat_delivered_mwh,
        boiler_heat_mwh=kpis.boiler_heat_mwh,
        boiler_share=kpis.boiler_heat_mwh * 1000.0 / produced_kwh if produced_kwh > 0 else 0.0,
        unmet_heat_mwh=kpis.unmet_heat_kwh / 1000.0,
        unmet_heat_hours=unmet_hours,
        tank_cycles=kpis.tank_cycles,
        electricity_mwh=kpis.electricity_mwh,
        average_cop=kpis.average_cop,
        starts=kpis.total_starts,
        replay_wall_s=result.wall_s,
    )
    return replayed.as_dict()
