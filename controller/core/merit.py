"""Merit order without an optimiser: the price-aware rule a good operator runs (pure).

Each hour, heat comes from whichever is cheaper now, carbon included:

- heat pumps: (electricity price + grid carbon intensity x carbon price) / COP, the COP from the
  one model (`controller.core.cop`) at the supply temperature the units are asked for and the
  measured source temperature;
- boiler: (fuel price + fuel carbon x carbon price) / efficiency, at the market's fuel quote
  when there is one (else the plant file's constant).

With the heat pumps cheaper, the tank is charged toward `soc_max_plan` while their heat is
cheaper than the day's average (the mean of today's published prices, with the mean carbon
intensity measured so far today), and otherwise drawn down toward `soc_start_next`; the units
are staged with the measured load as the rules stage them (`controller.core.rules`), and the
boiler backs them up only as in the rules. With the boiler cheaper, it carries the load (never
charging the tank) and the units cover only what it cannot; a nearly empty tank starts them
whatever the prices. Nothing here reads the future: the runtime hands in what was published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from controller.core.commands import Targets
from controller.core.cop import condenser_inlet_now_c, mean_cop
from controller.core.rules import (
    TankBand,
    backup_boiler_kw,
    split_heat,
    stage_units,
    staging_load_kw,
    unit_available,
)
from controller.core.situation import Situation
from controller.core.stage import supply_setpoint_c
from drivers.kinds import StateCode

G_PER_KWH_TO_T_PER_MWH = 1e-3


@dataclass(frozen=True, slots=True)
class MeritPrices:
    """What the market has published by now: this hour and today's means (local day)."""

    price_eur_per_mwh: float
    carbon_g_per_kwh: float  # this hour's grid intensity (the latest measured)
    day_mean_price_eur_per_mwh: float  # today's published prices
    day_mean_carbon_g_per_kwh: float  # today's hours measured so far
    fuel_price_eur_per_mwh: float | None = None  # the market's quote; None: the plant file's


@dataclass(frozen=True, slots=True)
class MeritChoice:
    """The hour's decision and the figures it was made on (EUR per MWh of heat)."""

    heat_pump_eur_per_mwh: float
    boiler_eur_per_mwh: float | None  # None: no boiler, or none available
    day_mean_heat_pump_eur_per_mwh: float
    cop: float
    source: Literal["heat_pump", "boiler"]
    charge: bool  # heat-pump heat cheaper than the day's average: fill the tank


def plant_cop(situation: Situation) -> float:
    """The heat pumps' COP now: size-weighted over the available units (all of them when none
    is), at the supply setpoint the stager sends and the measured source temperature (the
    site's coldest source temperature when nothing measures it: the dearer guess)."""
    state, site, control = situation.state, situation.site, situation.control
    supply_c = supply_setpoint_c(site.network, state.outdoor_temp_c, control.supply_temp_setpoint_c)
    measured = [unit.source_temp_c for unit in state.units if unit.source_temp_c is not None]
    if state.source_temp_c is not None:
        source_c = state.source_temp_c
    elif measured:
        source_c = sum(measured) / len(measured)
    else:
        source_c = site.source.min_temp_c
    available = [
        spec
        for spec in site.units
        if unit_available(state.unit(spec.name), situation.histories.get(spec.name))
    ] or list(site.units)
    inlet_c = condenser_inlet_now_c(state, site.network.return_temp_c)
    return mean_cop(
        available, site.network.return_temp_c if inlet_c is None else inlet_c, supply_c, source_c
    )


def boiler_available(situation: Situation) -> bool:
    boiler = situation.state.boiler
    return (
        situation.site.boiler is not None
        and boiler is not None
        and boiler.data_good
        and boiler.state_code != StateCode.TRIPPED
    )


def merit_choice(
    situation: Situation, prices: MeritPrices, carbon_price_eur_per_t: float
) -> MeritChoice:
    cop = plant_cop(situation)
    per_t = carbon_price_eur_per_t * G_PER_KWH_TO_T_PER_MWH
    electricity = prices.price_eur_per_mwh + prices.carbon_g_per_kwh * per_t
    day_mean = prices.day_mean_price_eur_per_mwh + prices.day_mean_carbon_g_per_kwh * per_t
    heat_pump = electricity / cop
    boiler_cost = None
    spec = situation.site.boiler
    if spec is not None and boiler_available(situation):
        fuel = (
            spec.fuel_price_eur_per_mwh
            if prices.fuel_price_eur_per_mwh is None
            else prices.fuel_price_eur_per_mwh
        )
        boiler_cost = (fuel + spec.fuel_carbon_g_per_kwh * per_t) / spec.efficiency
    use_boiler = boiler_cost is not None and boiler_cost < heat_pump
    return MeritChoice(
        heat_pump_eur_per_mwh=heat_pump,
        boiler_eur_per_mwh=boiler_cost,
        day_mean_heat_pump_eur_per_mwh=day_mean / cop,
        cop=cop,
        source="boiler" if use_boiler else "heat_pump",
        charge=not use_boiler and electricity < day_mean,
    )


def merit_targets(
    situation: Situation,
    previous: Targets | None,
    prices: MeritPrices,
    carbon_price_eur_per_t: float,
) -> Targets:
    """Targets for this cycle (the tank must be seen: a blind tank is the rules' case)."""
    state, site = situation.state, situation.site
    staging = situation.control.staging
    choice = merit_choice(situation, prices, carbon_price_eur_per_t)
    boiler_reason = ""
    previous_on = previous.unit_on if previous is not None else None
    boiler_was_on = previous is not None and previous.boiler_heat_kw > 0
    specs = {spec.name: spec for spec in site.units}
    hp = f"heat pumps {choice.heat_pump_eur_per_mwh:.1f} EUR/MWh heat (COP {choice.cop:.2f})"
    if choice.boiler_eur_per_mwh is not None:
        hp += f", boiler {choice.boiler_eur_per_mwh:.1f}"
    if choice.source == "heat_pump":
        if choice.charge:
            band = TankBand(staging.soc_max_plan, staging.soc_target, staging.soc_stop_one)
            why = f"{hp}, below the day's {choice.day_mean_heat_pump_eur_per_mwh:.1f}: charging"
        else:
            band = TankBand(staging.soc_start_next, staging.soc_reserve_plan, staging.soc_target)
            why = f"{hp}, above the day's {choice.day_mean_heat_pump_eur_per_mwh:.1f}: drawing"
        load_kw = staging_load_kw(state, staging, band.target)
        if load_kw is None:
            raise ValueError("merit needs the tank's state of charge")
        staged = stage_units(situation, previous_on, load_kw, band)
        heat_kw = max(0.0, load_kw)
        boiler_kw = backup_boiler_kw(situation, staged.units, heat_kw, boiler_was_on)
    else:
        # the boiler is cheaper: it carries the load toward a drawn-down tank (gas never
        # charges it); the units start only for what it cannot give, or on a nearly empty tank
        assert site.boiler is not None
        boiler = site.boiler
        band = TankBand(
            staging.soc_start_next,
            staging.soc_boiler_on,
            staging.soc_stop_one,
            stop_last_without_load=True,
        )
        load_kw = staging_load_kw(state, staging, band.target)
        if load_kw is None:
            raise ValueError("merit needs the tank's state of charge")
        residual_kw = load_kw - boiler.heat_max_kw
        staged = stage_units(situation, previous_on, residual_kw, band)
        heat_kw = max(0.0, residual_kw)
        running_min_kw = sum(
            specs[name].heat_min_kw for name in staged.units if state.unit(name).compressor_on
        )
        floor_kw = boiler.heat_max_kw * boiler.min_load_fraction
        wanted_kw = load_kw - running_min_kw
        # on until the load is a minimum load's worth below zero: no cycling around zero
        if wanted_kw > 0 or (boiler_was_on and wanted_kw > -floor_kw):
            boiler_kw = min(boiler.heat_max_kw, max(floor_kw, wanted_kw))
        else:
            boiler_kw = 0.0
        why = f"{hp}: boiler first"
        boiler_reason = f"cheaper than the heat pumps: {hp}"
    heat_by_unit = split_heat(heat_kw, [specs[name] for name in staged.units])
    reasons = {name: f"{reason}; {why}" for name, reason in staged.reasons.items()}
    return Targets(
        unit_on={name: name in staged.units for name in specs},
        unit_heat_kw={name: heat_by_unit.get(name, 0.0) for name in specs},
        boiler_heat_kw=boiler_kw,
        source="merit",
        reasons=reasons,
        boiler_reason=boiler_reason,
    )
