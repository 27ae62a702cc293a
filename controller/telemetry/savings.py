"""Savings so far today against the price-blind way of running the same plant.

The counterfactual ("price-blind") serves the heat the network really took, interval by
interval, as the rules would: at the moment it is delivered, from the heat pumps up to the rated
heat of the units available in that interval. Its tank is held at the level the real tank had at
local midnight: it covers load above the heat pumps' capacity, and is refilled from their spare
capacity as soon as there is some; the boiler makes only what neither can. No heat is shifted
through the tank for price. Its heat pumps run at the supply setpoint the rules send (the
network's weather compensation, or the fixed setpoint) and the measured source temperature, at
the one COP model (`controller.core.cop`) scaled by how far today's measured COP sat from that
model at the temperatures the units really ran at, so the comparison judges the dispatch, not
the COP model. Electricity is priced at each interval's market price and carbon intensity, the
boiler's fuel at the plant file's price and carbon, CO2 at the planner's carbon price.

What the plant did is the day book's own count (electricity, fuel, CO2 at the carbon price;
start costs are left out of both sides). The heat it made since local midnight beyond what the
network took (the day's heat balance, as the hindsight regret counts the tank: a stratified
tank's state of charge misses heat below its band) is credited to the plant at the
counterfactual's average cost (and CO2) per kWh of heat made today, as `hpctl evaluate` values
heat left in the tank; heat drawn from it is charged the same way, and so is what the
counterfactual's own tank is short of its midnight level at the end. Tank losses count as heat
kept (the balance cannot tell them apart).

Signs: savings = counterfactual minus plant. Positive means the plant cost less (or emitted
less) than running price-blind would have; negative means it cost more. Intervals without a
market price count in neither side's electricity cost, intervals without a carbon intensity in
neither side's electricity CO2, exactly as the day book counts the plant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from controller.config import ControlConfig
from controller.core.cop import condenser_inlet_now_c, mean_cop, planned_cop
from controller.core.estimate import PlantState
from controller.core.stage import supply_setpoint_c
from controller.telemetry.daybook import DayRecord
from drivers.heat_pump_cop import capacity_fraction
from drivers.kinds import StateCode
from drivers.site import SiteConfig, UnitSpec

RUNNING_POWER_KW = 1.0  # below this a unit's heat and power say nothing about its COP


@dataclass(frozen=True)
class Savings:
    """Today so far: the price-blind counterfactual, the plant, and their difference."""

    price_blind_cost_eur: float
    plant_cost_eur: float  # tank-adjusted
    price_blind_co2_g: float
    plant_co2_g: float  # tank-adjusted

    @property
    def savings_eur(self) -> float:
        return self.price_blind_cost_eur - self.plant_cost_eur

    @property
    def co2_savings_g(self) -> float:
        return self.price_blind_co2_g - self.plant_co2_g


@dataclass
class _Totals:
    heat_kwh: float = 0.0  # made by the counterfactual: delivered, and refills of its tank
    model_electricity_kwh: float = 0.0  # at the COP model, before today's measured scaling
    model_electricity_eur: float = 0.0
    model_electricity_co2_g: float = 0.0
    boiler_eur: float = 0.0
    boiler_co2_g: float = 0.0
    measured_electricity_kwh: float = 0.0  # units running, for the COP scaling
    modelled_electricity_kwh: float = 0.0  # the same heat at the COP model


class PriceBlindDay:
    """Counts the counterfactual per cycle, for the day the day book counts the cycle in."""

    def __init__(self, site: SiteConfig, control: ControlConfig) -> None:
        self._site = site
        self._control = control
        self._day: date | None = None
        self._totals = _Totals()
        self._tank_full_kwh = 0.0  # the real tank's energy at local midnight
        self._tank_kwh = 0.0

    def add(
        self,
        day: date,
        state: PlantState,
        interval_s: float,
        price_eur_per_mwh: float | None,
        carbon_g_per_kwh: float | None,
    ) -> None:
        if day != self._day:
            self._day, self._totals = day, _Totals()
            self._tank_full_kwh = self._tank_kwh = max(0.0, state.energy_kwh or 0.0)
        hours = interval_s / 3600.0
        if hours <= 0.0:
            return
        totals = self._totals
        self._count_measured_cop(state, hours)
        heat_kw = max(0.0, state.network_heat_kw or 0.0)
        measured = {unit.name: unit for unit in state.units}
        available = [
            spec
            for spec in self._site.units
            if (unit := measured.get(spec.name)) is not None
            and unit.data_good
            and unit.state_code != StateCode.TRIPPED
        ]
        boiler = self._site.boiler
        capacity_kw = self.heat_pump_capacity_kw(state, available)
        above_kwh = max(0.0, heat_kw - capacity_kw) * hours
        from_tank_kwh = min(above_kwh, self._tank_kwh)
        spare_kwh = max(0.0, capacity_kw - heat_kw) * hours
        refill_kwh = min(spare_kwh, self._tank_full_kwh - self._tank_kwh + from_tank_kwh)
        self._tank_kwh += refill_kwh - from_tank_kwh
        heat_pump_kwh = min(heat_kw, capacity_kw) * hours + refill_kwh
        boiler_kwh = above_kwh - from_tank_kwh
        if boiler is None:  # nothing else to make it: the units are pushed past their rating
            heat_pump_kwh, boiler_kwh = heat_pump_kwh + boiler_kwh, 0.0
        totals.heat_kwh += heat_pump_kwh + boiler_kwh
        if heat_pump_kwh > 0.0:
            electricity_kwh = heat_pump_kwh / self._model_cop(state, available)
            totals.model_electricity_kwh += electricity_kwh
            if price_eur_per_mwh is not None:
                totals.model_electricity_eur += electricity_kwh * price_eur_per_mwh / 1000.0
            if carbon_g_per_kwh is not None:
                totals.model_electricity_co2_g += electricity_kwh * carbon_g_per_kwh
        if boiler is not None and boiler_kwh > 0.0:
            fuel_kwh = boiler_kwh / boiler.efficiency
            totals.boiler_eur += fuel_kwh * boiler.fuel_price_eur_per_mwh / 1000.0
            totals.boiler_co2_g += fuel_kwh * boiler.fuel_carbon_g_per_kwh

    def savings(self, today: DayRecord) -> Savings | None:
        """Today's figures, None before the first counted interval of `today`."""
        if self._day != today.day:
            return None
        totals = self._totals
        carbon_eur_per_g = self._control.planner.carbon_price_eur_per_t * 1e-6
        scale = 1.0  # measured electricity per modelled kWh: > 1 when the units do worse
        if totals.modelled_electricity_kwh > 0.0:
            scale = totals.measured_electricity_kwh / totals.modelled_electricity_kwh
        blind_co2_g = totals.model_electricity_co2_g * scale + totals.boiler_co2_g
        blind_cost_eur = (
            totals.model_electricity_eur * scale
            + totals.boiler_eur
            + blind_co2_g * carbon_eur_per_g
        )
        eur_per_kwh = blind_cost_eur / totals.heat_kwh if totals.heat_kwh > 0.0 else 0.0
        co2_g_per_kwh = blind_co2_g / totals.heat_kwh if totals.heat_kwh > 0.0 else 0.0
        blind_change_kwh = self._tank_kwh - self._tank_full_kwh  # <= 0: short of midnight
        blind_cost_eur -= blind_change_kwh * eur_per_kwh
        blind_co2_g -= blind_change_kwh * co2_g_per_kwh
        # by the day's heat balance, as the hindsight regret counts it: a stratified tank's
        # state of charge misses the heat it holds below its band
        stored_change_kwh = today.heat_produced_kwh - today.heat_delivered_kwh
        plant_cost_eur = (
            today.electricity_cost_eur
            + today.boiler_fuel_cost_eur
            + today.co2_g * carbon_eur_per_g
            - stored_change_kwh * eur_per_kwh
        )
        plant_co2_g = today.co2_g - stored_change_kwh * co2_g_per_kwh
        return Savings(blind_cost_eur, plant_cost_eur, blind_co2_g, plant_co2_g)

    def _source_c(self, state: PlantState) -> float:
        """The units' source now: the outdoor air for an air-source plant, else the measured
        source, else the plant file's mean."""
        source = self._site.source
        if source.kind == "air" and state.outdoor_temp_c is not None:
            return state.outdoor_temp_c
        return state.source_temp_c if state.source_temp_c is not None else source.mean_temp_c

    def heat_pump_capacity_kw(self, state: PlantState, available: list[UnitSpec]) -> float:
        """What the available units can make now, as the planner counts it: their rating on
        the capacity curve at this source, and for a data centre no more than the evaporators
        can take from the heat the servers reject (heat = recoverable x COP / (COP - 1))."""
        source_c = self._source_c(state)
        capacity_kw = sum(
            spec.heat_max_kw * capacity_fraction(spec, source_c) for spec in available
        )
        site = self._site
        loop = site.source.recoverable(state.now_utc, site.plant.timezone)
        if loop is not None and available:
            cop = self._model_cop(state, available)
            capacity_kw = min(capacity_kw, loop.heat_kw * cop / max(cop - 1.0, 1e-6))
        return capacity_kw

    def _model_cop(self, state: PlantState, available: list[UnitSpec]) -> float:
        """Size-weighted COP of the available units (all of them when none is) at the
        setpoint the rules send and the measured source temperature."""
        site = self._site
        specs = available or list(site.units)
        supply_c = supply_setpoint_c(
            site.network, state.outdoor_temp_c, self._control.supply_temp_setpoint_c
        )
        source_c = self._source_c(state)
        inlet_c = condenser_inlet_now_c(state, None)
        if inlet_c is None:
            inlet_c = site.network.return_temp_c
        return mean_cop(specs, inlet_c, supply_c, source_c)

    def _count_measured_cop(self, state: PlantState, hours: float) -> None:
        specs = {spec.name: spec for spec in self._site.units}
        for unit in state.units:
            spec = specs.get(unit.name)
            if (
                spec is None
                or unit.power_kw is None
                or unit.power_kw <= RUNNING_POWER_KW
                or unit.heat_kw is None
                or unit.heat_kw <= 0.0
                or unit.supply_temp_c is None
            ):
                continue
            source_c = unit.source_temp_c
            if source_c is None:
                source_c = state.source_temp_c
            if source_c is None:
                continue
            inlet_c = unit.return_temp_c
            if inlet_c is None:
                inlet_c = condenser_inlet_now_c(state, None)
            if inlet_c is None:
                inlet_c = self._site.network.return_temp_c
            modelled = planned_cop(spec, inlet_c, unit.supply_temp_c, source_c)
            self._totals.measured_electricity_kwh += unit.power_kw * hours
            self._totals.modelled_electricity_kwh += unit.heat_kw * hours / modelled
