"""The district-heating network: heat demand, weather-compensated supply temperature, cooling.

Assumptions, kept simple on purpose:
- Space-heating demand is linear in outdoor temperature (degree-day method): design_heat_kw at
  design_outdoor_temp_c, base_load_fraction x design (domestic hot water and network losses) at
  heating_limit_temp_c and above. Colder than design, the line is extended: buildings do not stop
  needing more heat at the design point.
- The supply setpoint follows the usual weather-compensation curve between supply_temp_c (design)
  and supply_temp_warm_c (heating limit), flat outside that range.
- The substations are sized for supply_temp_min_c: at or above it every consumer is satisfied
  (a mixing valve tempers hotter water); below it the circulating flow, fixed by the design
  temperature difference, carries proportionally less heat: demand x (T_top - T_return) /
  (supply_temp_min_c - T_return). Using the minimum rather than the setpoint as the reference
  makes delivered heat continuous in the tank top temperature.
- Cooling (hospital plants): 20 % base load all year plus a part proportional to the outdoor
  temperature above 12 °C, reaching cooling_design_kw at 30 °C.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.site import NetworkSpec

COOLING_BASE_FRACTION = 0.2
COOLING_START_OUTDOOR_C = 12.0
COOLING_DESIGN_OUTDOOR_C = 30.0


@dataclass(frozen=True, slots=True)
class NetworkDraw:
    """What the network takes from storage during one step."""

    delivered_kw: float
    flow_kg_per_s: float  # drawn from the tank tops, returned to the bottoms at return_temp_c
    supply_temp_c: float  # as measured after the mixing valve
    under_supplied: bool  # the top is below supply_temp_min_c while there is demand


class NetworkModel:
    """Demand and delivery of one network described by a `NetworkSpec`."""

    def __init__(self, spec: NetworkSpec, water_cp_kj_per_kg_k: float) -> None:
        self.spec = spec
        self._cp = water_cp_kj_per_kg_k

    def heat_demand_kw(self, outdoor_temp_c: float) -> float:
        spec = self.spec
        base_kw = spec.base_load_fraction * spec.design_heat_kw
        span_c = spec.heating_limit_temp_c - spec.design_outdoor_temp_c
        if span_c <= 0:
            return spec.design_heat_kw
        fraction = (spec.heating_limit_temp_c - outdoor_temp_c) / span_c
        return max(base_kw, base_kw + (spec.design_heat_kw - base_kw) * fraction)

    def supply_setpoint_c(self, outdoor_temp_c: float) -> float:
        spec = self.spec
        span_c = spec.heating_limit_temp_c - spec.design_outdoor_temp_c
        if span_c <= 0:
            return spec.supply_temp_c
        fraction = (spec.heating_limit_temp_c - outdoor_temp_c) / span_c
        fraction = min(1.0, max(0.0, fraction))
        return spec.supply_temp_warm_c + (spec.supply_temp_c - spec.supply_temp_warm_c) * fraction

    def cooling_demand_kw(self, outdoor_temp_c: float) -> float:
        design_kw = self.spec.cooling_design_kw
        if design_kw <= 0:
            return 0.0
        span_c = COOLING_DESIGN_OUTDOOR_C - COOLING_START_OUTDOOR_C
        fraction = min(1.0, max(0.0, (outdoor_temp_c - COOLING_START_OUTDOOR_C) / span_c))
        return design_kw * (COOLING_BASE_FRACTION + (1.0 - COOLING_BASE_FRACTION) * fraction)

    def draw(self, demand_kw: float, top_temp_c: float, setpoint_c: float) -> NetworkDraw:
        """Heat delivered from water at `top_temp_c`, and the flow that carries it."""
        spec = self.spec
        return_c = spec.return_temp_c
        supply_c = min(top_temp_c, setpoint_c)
        usable_k = top_temp_c - return_c
        if demand_kw <= 0 or usable_k <= 0:
            return NetworkDraw(0.0, 0.0, supply_c, demand_kw > 0)
        if top_temp_c >= spec.supply_temp_min_c:
            delivered_kw = demand_kw
        else:
            design_k = max(spec.supply_temp_min_c - return_c, 1e-6)
            delivered_kw = demand_kw * min(1.0, usable_k / design_k)
        flow = delivered_kw / (self._cp * usable_k)
        return NetworkDraw(delivered_kw, flow, supply_c, top_temp_c < spec.supply_temp_min_c)
