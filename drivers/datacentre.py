"""A data centre's cooling loop as a heat source: recoverable heat and its temperature from the
IT load. One model for the simulator (its physics) and the planner (its forecast).

Assumptions, each a plain engineering reading of how a liquid- or rear-door-cooled hall works:
- Every kW of IT power ends as heat; `heat_capture_fraction` of it reaches the water loop (the
  rest leaves with the room air, the UPS and transformer losses). That is the recoverable heat.
- The loop runs at the constant flow sized for the design IT load: its cold side (to the
  servers) is held at `loop_cold_temp_c`, and its warm side (to the heat recovery) rises above
  it in proportion to the load, by `loop_design_rise_k` at the design load. The heat pumps'
  evaporators see the warm side: the source temperature follows the load.
- The heat pumps can cool the loop back to its cold side, no further: their evaporators take at
  most the recoverable heat. What they leave, the data centre's own dry coolers reject.
- Without a measured IT load the default profile holds: a base load with a modest diurnal swing
  peaking mid-afternoon and a lighter weekend (`default_it_load_kw`). A data centre's IT load is
  flat compared with a heating network's: servers run around the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field

from drivers.bounds import DeltaK, NetworkKw, SourceTempC
from drivers.schema import StrictModel

Fraction = Annotated[float, Field(ge=0, le=1)]
IT_LOAD_PEAK_LOCAL_HOUR = 15.0  # business traffic and batch jobs peak mid-afternoon
WEEKEND_DAYS = (5, 6)  # Saturday, Sunday (datetime.weekday)


class DataCentreSpec(StrictModel):
    """`[source.data_centre]` of a plant file: the data centre whose cooling loop is the source."""

    design_it_load_kw: NetworkKw  # the IT power the cooling loop is sized for
    # default profile (when no `it_load_kw` is given): fractions of the design load
    mean_load_fraction: Fraction = 0.8
    daily_swing_fraction: Fraction = 0.05  # amplitude of the diurnal sine
    weekend_drop_fraction: Fraction = 0.03
    heat_capture_fraction: Fraction = 0.95  # of the IT power, into the water loop
    loop_cold_temp_c: SourceTempC = 30.0  # to the servers
    loop_design_rise_k: DeltaK = 10.0  # warm minus cold side at the design IT load


@dataclass(frozen=True, slots=True)
class RecoverableHeat:
    """What the cooling loop offers the heat pumps at one moment."""

    it_load_kw: float
    heat_kw: float  # recoverable: the heat in the loop, the evaporators' ceiling
    temp_c: float  # the loop's warm side: the heat pumps' source temperature


def default_it_load_kw(spec: DataCentreSpec, when_utc: datetime, zone: ZoneInfo) -> float:
    """The default profile at `when_utc`: mean + a sine peaking at 15:00 local - the weekend drop."""
    local = when_utc.astimezone(zone)
    hour = local.hour + local.minute / 60.0 + local.second / 3600.0
    # sin peaks a quarter period (6 h) after its zero crossing
    daily = math.sin(2.0 * math.pi * (hour - (IT_LOAD_PEAK_LOCAL_HOUR - 6.0)) / 24.0)
    weekend = spec.weekend_drop_fraction if local.weekday() in WEEKEND_DAYS else 0.0
    fraction = spec.mean_load_fraction + spec.daily_swing_fraction * daily - weekend
    return spec.design_it_load_kw * max(0.0, fraction)


def recoverable_heat(spec: DataCentreSpec, it_load_kw: float) -> RecoverableHeat:
    """The loop's heat and warm-side temperature at `it_load_kw` (see the module doc)."""
    load_kw = max(0.0, it_load_kw)
    return RecoverableHeat(
        it_load_kw=load_kw,
        heat_kw=spec.heat_capture_fraction * load_kw,
        temp_c=spec.loop_cold_temp_c + spec.loop_design_rise_k * load_kw / spec.design_it_load_kw,
    )
