"""The slow loop: build the planning problem from what the plant knows, solve it off the cycle,
swap in an immutable Plan. The cycle follows it through `plan_policy.PlanPolicy`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from controller.config import Plant
from controller.core.cop import (
    condenser_inlet_forecast_c,
    condenser_inlet_now_c,
    planned_cops,
)
from controller.core.estimate import PlantState
from controller.core.forecast import (
    HOUR,
    hour_start,
    measured_source_temp_c,
    series_forecast,
    source_forecast,
)
from controller.core.forecaster import Forecaster
from controller.core.history import UnitHistory
from controller.core.lift_limit import lift_allows
from controller.core.plan import (
    Plan,
    PlanInputs,
    UnitPlanData,
    boiler_terms,
    heat_pumps_on_demand_kg,
    solve_plan,
    steps_in_state,
    with_hold,
)
from controller.core.report import CycleReport
from controller.core.rules import unit_available
from controller.core.source_limit import recoverable_forecast_kw
from controller.core.stage import supply_setpoint_c
from controller.core.tank_limit import soc_below_high_limit
from controller.runtime.market import MarketFeed
from controller.runtime.observations import HourlyLog
from controller.runtime.past import PastRecord
from drivers.clock import Clock
from drivers.heat_pump_cop import capacity_fraction

log = logging.getLogger(__name__)

START_WINDOW_S = 3600.0


@dataclass(frozen=True)
class Forecast:
    steps_utc: tuple[datetime, ...]
    price_eur_per_mwh: tuple[float, ...]
    carbon_g_per_kwh: tuple[float, ...]
    outdoor_temp_c: tuple[float, ...]
    source_temp_c: tuple[float, ...]
    heat_demand_kw: tuple[float, ...]
    prices_known_until: datetime
    fuel_price_eur_per_mwh: float | None = None  # the market's quote; None: the plant file's
    fuel_price_by_step: tuple[float, ...] | None = None  # hindsight only: a price per step
    # a data centre's recoverable heat per step, the evaporators' ceiling; None: no limit
    source_heat_kw: tuple[float, ...] | None = None
    # where each input came from, in words (price, carbon, outdoor, source, demand, fuel)
    provenance: dict[str, str] = field(default_factory=dict)


class PlannerService:
    """Owns the current and last plan; re-plans on its cadence, on new prices, on deviation."""

    def __init__(
        self,
        plant: Plant,
        market: MarketFeed,
        clock: Clock,
        observations: HourlyLog | None = None,
        forecaster: Forecaster | None = None,
    ) -> None:
        self._plant = plant
        self._market = market
        self._clock = clock
        self.observations = observations or HourlyLog()
        # the one learned forecaster of outdoor temperature and demand, fed every cycle
        self.forecaster = forecaster or Forecaster(plant.site.network, plant.site.plant.timezone)
        self.past_origin: str | None = None  # where the history before the first cycle came from
        self._past_columns: frozenset[str] = frozenset()
        self._basis_kinds: dict[str, str] = {}  # what demand and source stood on last time
        self.current: Plan | None = None
        self.reserve_kwh = 0.0  # stored energy below the current plan's storage band
        self.forecast: Forecast | None = None
        self.last_attempt: Plan | None = None
        self.solves_total = 0
        self.solve_failures_total = 0
        self._planned_at_s: float | None = None
        self._planned_at_utc: datetime | None = None
        self._planned_available: frozenset[str] = frozenset()
        self._prices_until: datetime | None = None
        self._state: PlantState | None = None
        self._histories: dict[str, UnitHistory] = {}
        self._scanned_prices: dict[datetime, float] | None = None
        self._latest_price: datetime | None = None

    # --- feeding -------------------------------------------------------------------------
    def observe(self, report: CycleReport) -> None:
        """Keep the latest state and learn the hourly past from every cycle."""
        state = report.state
        self._state = state
        self._histories = dict(report.histories)
        self.forecaster.observe(report)
        self.observations.add("outdoor_temp_c", state.now_utc, state.outdoor_temp_c)
        self.observations.add("heat_demand_kw", state.now_utc, state.network_heat_kw)
        self.observations.add("source_temp_c", state.now_utc, measured_source_temp_c(state)[0])

    def learn_past(self, past: PastRecord, now_utc: datetime) -> None:
        """The plant's history database before the first cycle, hour by hour, oldest first
        (only hours that ended by `now_utc`): the forecaster learns outdoor temperature and
        demand from it, the source forecast takes yesterday's shape from it."""
        for hour in past.hours:
            if hour.outdoor_temp_c is not None:
                self.forecaster.add_hour(
                    hour.hour_utc, now_utc, hour.outdoor_temp_c, hour.heat_demand_kw
                )
                self.observations.add("outdoor_temp_c", hour.hour_utc, hour.outdoor_temp_c)
            self.observations.add("heat_demand_kw", hour.hour_utc, hour.heat_demand_kw)
            self.observations.add("source_temp_c", hour.hour_utc, hour.source_temp_c)
        self.past_origin = past.origin
        self._past_columns = past.columns

    # --- deciding when -------------------------------------------------------------------
    def due(self) -> bool:
        state = self._state
        if state is None or state.energy_kwh is None:
            return False
        now_utc = self.plan_time(state)
        prices, known_until = self._market.prices(now_utc)
        latest = self._latest_price_hour(prices)
        if latest is None or latest < now_utc - HOUR:
            # no price for now or later: a plan would optimise against invented prices; the
            # ladder stays on the rules until the market speaks
            return False
        if self._planned_at_s is None:
            return True
        since_s = self._clock.monotonic_s() - self._planned_at_s
        config = self._plant.control.planner
        if since_s >= config.interval_s:
            return True
        if self._planned_at_utc is not None and _floor(
            self.plan_time(state), config.interval_s
        ) > _floor(self._planned_at_utc, config.interval_s):
            # the cadence on the clock's grid: the plan for a new step is made before the
            # step's first cycle follows the old plan's guess for it
            return True
        if self._available(state) != self._planned_available and since_s >= 300.0:
            return True  # a unit tripped or came back: the plan assumed otherwise
        if self._prices_until is not None and known_until > self._prices_until:
            return True  # the day-ahead results were just published
        planned_kwh = self.planned_energy_kwh(state.now_utc)
        energy_kwh = state.energy_kwh
        drifted = (
            planned_kwh is not None
            and energy_kwh is not None
            and abs(planned_kwh - energy_kwh) > config.replan_soc_deviation * state.capacity_kwh
        )
        return drifted and since_s >= 300.0

    def plan_time(self, state: PlantState) -> datetime:
        """When a plan made now starts counting: the clock's time, or the state's if later.

        The state is the last cycle's, up to a cycle old (a replay step of 5 minutes): a plan
        made on the hour belongs to the hour now beginning, not to the one the state saw."""
        return max(state.now_utc, self._clock.now())

    def _latest_price_hour(self, prices: dict[datetime, float]) -> datetime | None:
        """The last hour with a price. Asked every cycle: feeds that keep handing out the same
        dict (cached within the hour, or a whole year known at once) are scanned only once;
        a scan every cycle made a replayed year quadratic in its length."""
        if prices is not self._scanned_prices:
            self._scanned_prices = prices
            self._latest_price = max(prices, default=None)
        return self._latest_price

    def _available(self, state: PlantState) -> frozenset[str]:
        return frozenset(
            unit.name
            for unit in state.units
            if unit_available(unit, self._histories.get(unit.name)) or unit.compressor_on
        )

    async def replan_if_due(self) -> Plan | None:
        if not self.due():
            return None
        return await self.replan()

    async def replan(self) -> Plan | None:
        """Solve in a worker thread; the fast cycle never waits for this."""
        state = self._state
        if state is None:
            return None
        inputs, forecast = self.build_inputs(state, self._histories)
        self._say_basis(forecast.provenance)
        available = self._available(state)
        previous = self._warm_source(inputs, available)
        config = self._plant.control.planner
        inputs = with_hold(inputs, previous, config.hold_h, config.hold_eur_per_mwh)
        self._planned_at_s = self._clock.monotonic_s()
        self._planned_at_utc = self.plan_time(state)
        self._planned_available = available
        self._prices_until = forecast.prices_known_until
        try:
            plan = await asyncio.to_thread(solve_plan, inputs, previous, cold_start=True)
        except Exception:  # the solver must never take the controller down with it
            log.exception("planner failed")
            self.solve_failures_total += 1
            return None
        self.solves_total += 1
        self.last_attempt = plan
        if plan.usable:
            self.current = plan
            self.forecast = forecast
            self.reserve_kwh = state.capacity_kwh * self._plant.control.staging.soc_reserve_plan
            # debug, not info: one line per plan would break into the demo's progress bar
            log.debug(
                "plan %s: objective %.0f EUR, gap %.2f%%, solved in %.2f s, %s start, "
                "first solution after %.2f s",
                plan.status,
                plan.objective_eur,
                plan.mip_gap * 100.0,
                plan.solve_time_s,
                plan.start,
                plan.time_to_first_solution_s,
            )
        else:
            self.solve_failures_total += 1
            log.warning(
                "planner returned no usable plan: %s (%s), %s start, after %.2f s",
                plan.status,
                plan.message,
                plan.start,
                plan.solve_time_s,
            )
        return plan

    def _warm_source(self, inputs: PlanInputs, available: frozenset[str]) -> Plan | None:
        """The plan to shift into a warm start, or None for a cold one: none yet, a unit
        tripped or came back since (its commitment is stale), or a gap too long to bridge."""
        plan = self.current
        if plan is None or not plan.usable or available != self._planned_available:
            return None
        age_s = (inputs.start_utc - plan.inputs.start_utc).total_seconds()
        if not 0.0 <= age_s < self._plant.control.planner.max_plan_age_s:
            return None
        return plan

    async def run(self, stop: asyncio.Event, poll_s: float = 5.0) -> None:
        """Live mode: check every `poll_s` whether a new plan is due."""
        while not stop.is_set():
            await self.replan_if_due()
            await self._clock.sleep(poll_s)

    # --- building the problem ------------------------------------------------------------
    def build_forecast(self, state: PlantState) -> Forecast:
        """What the planner may know now (docs/planner.md), and where each part came from."""
        config = self._plant.control.planner
        site = self._plant.site
        step = timedelta(seconds=config.step_s)
        # the market as it is now (the last state may be a cycle older)
        now_utc = self.plan_time(state)
        start = _floor(now_utc, config.step_s)
        steps_utc = tuple(start + k * step for k in range(config.horizon_steps))
        prices, known_until = self._market.prices(now_utc)
        mean_price = sum(prices.values()) / len(prices) if prices else 0.0
        carbon = self._market.carbon(now_utc)
        mean_carbon = sum(carbon.values()) / len(carbon) if carbon else 0.0
        carbon_until = hour_start(now_utc) + HOUR
        outdoor, demand = self.forecaster.forecast(state.now_utc, steps_utc, state.outdoor_temp_c)
        source_now, source_how = measured_source_temp_c(state)
        source_past = self.observations.hourly("source_temp_c")
        timezone = site.plant.timezone
        source, source_shape = source_forecast(
            source_past,
            state.now_utc,
            source_now,
            steps_utc,
            lambda when: site.source.temp_c(when, timezone),
        )
        if site.source.kind == "air":
            # the source is the outdoor air: its forecast is the outdoor temperature's
            source, source_shape = tuple(outdoor), "outdoor air: the outdoor temperature forecast"
        fuel = self._market.fuel_price(now_utc)
        provenance = {
            "price": (
                f"published until {known_until:%Y-%m-%d %H:%M} UTC, then the last known day "
                "repeated"
                if prices
                else "no price known"
            ),
            "carbon": (
                f"measured up to the current hour (until {carbon_until:%Y-%m-%d %H:%M} UTC), "
                "then the same hour the day before"
                if carbon
                else "no carbon intensity known: 0 g/kWh assumed"
            ),
            **self.forecaster.basis,
            "source": source_shape
            if site.source.kind == "air"
            else self._source_provenance(source_now, source_how, source_past, source_shape),
            "fuel": (
                f"market quote, {fuel:g} EUR/MWh"
                if fuel is not None
                else (
                    f"plant file constant, {site.boiler.fuel_price_eur_per_mwh:g} EUR/MWh"
                    if site.boiler is not None
                    else "no boiler"
                )
            ),
        }
        if self.past_origin is not None:
            provenance["history"] = self.past_origin
        return Forecast(
            steps_utc=steps_utc,
            price_eur_per_mwh=series_forecast(prices, steps_utc, known_until, mean_price, step),
            carbon_g_per_kwh=series_forecast(carbon, steps_utc, carbon_until, mean_carbon),
            outdoor_temp_c=outdoor,
            source_temp_c=source,
            heat_demand_kw=demand,
            prices_known_until=known_until,
            fuel_price_eur_per_mwh=fuel,
            provenance=provenance,
            source_heat_kw=recoverable_forecast_kw(site, steps_utc),
        )

    def _say_basis(self, provenance: dict[str, str]) -> None:
        """Log once whenever demand or source move between learned or measured and the plant
        file's design curves: the journal of `hpctl run` says what the plans stand on. A
        forecast without provenance (the evaluator's hindsight) says nothing."""
        for name in ("demand", "source"):
            text = provenance.get(name)
            if text is None:
                continue
            kind = "design curve" if text.startswith("design curve") else "learned or measured"
            if self._basis_kinds.get(name) != kind:
                self._basis_kinds[name] = kind
                log.info("plan input %s: %s", name, text)

    def _source_provenance(
        self, now_c: float | None, how: str, past: dict[datetime, float], shape: str
    ) -> str:
        if now_c is not None:
            return f"{how}; {shape}"
        if not past:
            return "design curve (plant file): nothing measures the source"
        origin = (
            f"scenario column source_temp_c ({self.past_origin})"
            if "source_temp_c" in self._past_columns and self.past_origin is not None
            else "its measured history"
        )
        return f"not measured now: the last hour of {origin}; {shape}"

    def build_inputs(
        self, state: PlantState, histories: dict[str, UnitHistory]
    ) -> tuple[PlanInputs, Forecast]:
        forecast = self.build_forecast(state)
        config = self._plant.control.planner
        site = self._plant.site
        control = self._plant.control
        step_s = config.step_s
        supply_c = [
            supply_setpoint_c(site.network, temp, control.supply_temp_setpoint_c)
            for temp in forecast.outdoor_temp_c
        ]
        # the condenser inlet (the tank bottom) over the horizon: a charged tank's warm bottom
        # makes the next hour's heat dearer, an emptied one's cold bottom cheaper
        inlet_now_c = condenser_inlet_now_c(state, site.network.return_temp_c)
        inlet_c = condenser_inlet_forecast_c(
            site.network.return_temp_c if inlet_now_c is None else inlet_now_c,
            site,
            step_s,
            len(supply_c),
        )
        units = []
        for spec in site.units:
            unit = state.unit(spec.name)
            history = histories.get(spec.name)
            on = unit.compressor_on
            in_state_s = (
                (history.on_for_s(state.now_s) if on else history.off_for_s(state.now_s))
                if history
                else 0.0
            )
            starts_before = history.starts_last_hour(state.now_s) if history else (1 if on else 0)
            units.append(
                UnitPlanData(
                    name=spec.name,
                    heat_min_kw=spec.heat_min_kw,
                    heat_max_kw=spec.heat_max_kw,
                    cop=planned_cops(spec, inlet_c, supply_c, forecast.source_temp_c),
                    part_load_cop_factor=spec.part_load_cop_factor,
                    heat_max_fraction=tuple(
                        capacity_fraction(spec, src_c) for src_c in forecast.source_temp_c
                    )
                    if spec.capacity_by_source_temp
                    else (),
                    start_cost_eur=spec.start_cost_eur,
                    min_run_steps=math.ceil(spec.min_run_s / step_s),
                    min_off_steps=math.ceil(spec.min_off_s / step_s),
                    max_starts_per_window=spec.max_starts_per_hour,
                    start_window_steps=max(1, math.ceil(START_WINDOW_S / step_s)),
                    initially_on=on,
                    steps_in_state=steps_in_state(
                        in_state_s, spec.min_run_s if on else spec.min_off_s, step_s
                    ),
                    starts_in_window_before=starts_before,
                    available=unit_available(unit, history) or on,
                    runnable=tuple(
                        lift_allows(spec, s_c, src_c, control)
                        for s_c, src_c in zip(supply_c, forecast.source_temp_c, strict=True)
                    ),
                )
            )
        # the plan's storage is the band between a reserve (forecasts err, a unit may start
        # late) and what the stratified tank takes before its top reaches the high limit: the
        # configured soc_max_plan, and never past the tank fully mixed at the start of the
        # stager's soft band below the tank_high_temp interlock
        staging = control.staging
        reserve_kwh = state.capacity_kwh * staging.soc_reserve_plan
        soc_top = min(staging.soc_max_plan, soc_below_high_limit(site, control))
        capacity_kwh = state.capacity_kwh * max(0.0, soc_top - staging.soc_reserve_plan)
        energy_kwh = max(0.0, (state.energy_kwh or 0.0) - reserve_kwh)
        loss_kw = sum(
            tank.loss_w_per_k
            / 1000.0
            * ((tank.min_temp_c + tank.max_temp_c) / 2 - tank.ambient_temp_c)
            for tank in site.tanks
        )
        # losses as a fraction of the stored energy, scaled on the configured band (the high
        # limit's cut of the band does not change how fast the tank loses heat)
        scale_kwh = state.capacity_kwh * (staging.soc_max_plan - staging.soc_reserve_plan) / 2
        loss_fraction = min(0.05, loss_kw * step_s / 3600.0 / max(scale_kwh, 1.0))
        boiler = site.boiler
        inputs = PlanInputs(
            start_utc=forecast.steps_utc[0],
            step_s=step_s,
            steps=len(forecast.steps_utc),
            price_eur_per_mwh=forecast.price_eur_per_mwh,
            carbon_g_per_kwh=forecast.carbon_g_per_kwh,
            heat_demand_kw=forecast.heat_demand_kw,
            units=tuple(units),
            storage_capacity_kwh=capacity_kwh,
            storage_initial_kwh=min(capacity_kwh, energy_kwh),
            storage_loss_per_step=loss_fraction,
            storage_max_charge_kw=None,
            storage_max_discharge_kw=None,
            storage_terminal_kwh=state.capacity_kwh
            * (staging.soc_target - staging.soc_reserve_plan),
            storage_terminal_value_eur_per_kwh=None,
            # gas is bought a day ahead: the price quoted now holds over the horizon
            **boiler_terms(boiler, forecast.fuel_price_eur_per_mwh),
            boiler_fuel_price_by_step=forecast.fuel_price_by_step,
            source_heat_max_kw=forecast.source_heat_kw,
            carbon_price_eur_per_t=config.carbon_price_eur_per_t,
            grid_import_limit_kw=config.grid_import_limit_kw,
            emissions_cap_kg=config.emissions_cap_kg,
            unmet_penalty_eur_per_mwh=config.unmet_penalty_eur_per_mwh,
            time_limit_s=config.time_limit_s,
            mip_rel_gap=config.mip_rel_gap,
            emissions_guard_penalty_eur_per_t=config.co2_guard_penalty_eur_per_t,
        )
        if config.co2_guard:
            inputs = replace(inputs, emissions_guard_kg=heat_pumps_on_demand_kg(inputs))
        return inputs, forecast

    # --- reading the plan ----------------------------------------------------------------
    def planned_energy_kwh(self, now_utc: datetime) -> float | None:
        """Stored energy the current plan expects now (interpolated within its step), the
        reserve below the plan's band included."""
        plan = self.current
        if plan is None:
            return None
        step = plan.step_at(now_utc)
        if step is None:
            return None
        before = plan.inputs.storage_initial_kwh if step == 0 else plan.storage_kwh[step - 1]
        after = plan.storage_kwh[step]
        elapsed = (now_utc - plan.inputs.start_utc).total_seconds() / plan.inputs.step_s - step
        return self.reserve_kwh + before + (after - before) * elapsed


def _floor(when_utc: datetime, step_s: float) -> datetime:
    epoch = when_utc.timestamp()
    return datetime.fromtimestamp(epoch - epoch % step_s, tz=when_utc.tzinfo)
