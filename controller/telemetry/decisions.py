"""Decision metrics: the market as the controller sees it, the plan and how it was found, the
fallback level, energy, cost and CO2 so far today, and each day's hindsight regret.

The regret of a finished day is solved in a worker thread (one at a time), never on the cycle.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge

from controller.config import ControlConfig
from controller.core.estimate import PlantState
from controller.core.forecast import hour_start, quarter_start
from controller.core.plan import Plan
from controller.runtime.dispatch import TargetPolicy
from controller.runtime.market import MarketFeed
from controller.runtime.plan_policy import PlanPolicy
from controller.telemetry.counters import CounterMirror
from controller.telemetry.daybook import DayBook, DayRecord
from controller.telemetry.regret import Regret, hindsight_regret
from controller.telemetry.savings import PriceBlindDay
from controller.telemetry.sources import PlannerView
from drivers.site import SiteConfig

log = logging.getLogger(__name__)

KW_TO_W = 1000.0
KWH_TO_J = 3.6e6
NAN = math.nan
SOLVER_STARTS = ("warm", "cold", "none")  # what a solve started from (core.plan.solve)
SOLVER_STATUSES = (
    "optimal",
    "time_limit_feasible",
    "time_limit_no_solution",
    "infeasible",
    "error",
)
MARKET_REFRESH = timedelta(minutes=1)
MAX_INTERVAL_S = 60.0  # a longer gap between cycles is not integrated at the last power


class DecisionMetrics:
    def __init__(self, registry: CollectorRegistry, site: SiteConfig, control: ControlConfig):
        r = registry
        self._site = site
        self._control = control
        self.book = DayBook(site, control)
        self.price_blind = PriceBlindDay(site, control)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hindsight")
        self.regret_futures: list[Future[Regret]] = []
        self.last_day: DayRecord | None = None
        self._period_key: datetime | None = None
        self._asked_utc: datetime | None = None
        self._market_now: tuple[float | None, float | None] = (None, None)
        self._seen_plan: Plan | None = None
        self._plan_seen_at_s = 0.0
        self._last_now_s: float | None = None
        units = [u.name for u in site.units]

        self.price = Gauge(
            "hpctl_market_price_eur_per_mwh", "Electricity price of the current hour", registry=r
        )
        self.carbon = Gauge(
            "hpctl_market_carbon_intensity_grams_per_kwh",
            "Grid carbon intensity of the current hour (gCO2/kWh)",
            registry=r,
        )
        self.prices_known_until = Gauge(
            "hpctl_market_prices_known_until_timestamp_seconds",
            "End of the published day-ahead prices (Unix time)",
            registry=r,
        )
        self.plan_price = Gauge(
            "hpctl_plan_price_eur_per_mwh", "Price the plan assumed for this step", registry=r
        )
        self.plan_carbon = Gauge(
            "hpctl_plan_carbon_intensity_grams_per_kwh",
            "Carbon intensity the plan assumed for this step",
            registry=r,
        )
        self.plan_age = Gauge(
            "hpctl_plan_age_seconds",
            "Time since the plan in use was made (NaN while there is none)",
            registry=r,
        )
        self.plan_age.set(math.nan)
        self.plan_valid_until = Gauge(
            "hpctl_plan_valid_until_timestamp_seconds",
            "End of the plan's horizon (Unix time)",
            registry=r,
        )
        self.solver_status = Gauge(
            "hpctl_plan_solver_status",
            "Status of the last solve: 1 for the status it ended with",
            ["status"],
            registry=r,
        )
        self.mip_gap = Gauge(
            "hpctl_plan_mip_gap_ratio", "Relative MIP gap of the last solve", registry=r
        )
        self.solve_time = Gauge(
            "hpctl_plan_solve_duration_seconds", "Solver time of the last solve", registry=r
        )
        self.solver_start = Gauge(
            "hpctl_plan_solver_start",
            "What the last solve started from: 1 for warm (previous plan), cold or none",
            ["start"],
            registry=r,
        )
        self.first_solution_time = Gauge(
            "hpctl_plan_time_to_first_solution_seconds",
            "Time to the last solve's first feasible plan, its start included",
            registry=r,
        )
        self.objective = Gauge(
            "hpctl_plan_objective_eur", "Objective of the plan in use over its horizon", registry=r
        )
        self.solves = CounterMirror(
            Counter("hpctl_plan_solves_total", "Planner solves run", registry=r)
        )
        self.solve_failures = CounterMirror(
            Counter(
                "hpctl_plan_solve_failures_total",
                "Solves that gave no usable plan (including solver errors)",
                registry=r,
            )
        )
        self.planned_heat = Gauge(
            "hpctl_unit_planned_heat_watts",
            "Heat the plan wants from the unit in this step",
            ["unit"],
            registry=r,
        )
        self.planned_boiler = Gauge(
            "hpctl_plan_boiler_heat_watts", "Boiler heat the plan wants in this step", registry=r
        )
        self.planned_demand = Gauge(
            "hpctl_plan_heat_demand_watts", "Heat demand forecast for this step", registry=r
        )
        self.planned_unmet = Gauge(
            "hpctl_plan_unmet_heat_watts", "Heat the plan expects not to deliver", registry=r
        )
        self.planned_storage = Gauge(
            "hpctl_plan_storage_energy_joules", "Stored energy the plan expects now", registry=r
        )
        self.transitions = CounterMirror(
            Counter(
                "hpctl_dispatch_transitions_total",
                "Moves along the fallback ladder",
                ["from_level", "to_level"],
                registry=r,
            )
        )
        self.today_cost = Gauge(
            "hpctl_today_cost_eur",
            "Electricity and boiler fuel paid since local midnight",
            registry=r,
        )
        self.today_co2 = Gauge(
            "hpctl_today_co2_grams", "CO2 emitted since local midnight", registry=r
        )
        self.today_electricity = Gauge(
            "hpctl_today_electricity_joules", "Electricity used since local midnight", registry=r
        )
        self.today_heat = Gauge(
            "hpctl_today_heat_delivered_joules",
            "Heat delivered to the network since local midnight",
            registry=r,
        )
        self.savings_today = Gauge(
            "hpctl_savings_today_eur",
            "Since local midnight: the price-blind counterfactual's cost minus the plant's "
            "(electricity, fuel, CO2 at the carbon price; stored heat valued); positive = saved",
            registry=r,
        )
        self.co2_savings_today = Gauge(
            "hpctl_savings_today_co2_grams",
            "Since local midnight: the price-blind counterfactual's CO2 minus the plant's "
            "(stored heat valued); positive = less emitted",
            registry=r,
        )
        self.price_blind_cost_today = Gauge(
            "hpctl_price_blind_cost_today_eur",
            "Since local midnight: what running price-blind would have cost (with carbon)",
            registry=r,
        )
        self.unit_heat_energy = Counter(
            "hpctl_unit_heat_joules_total", "Heat produced by the unit", ["unit"], registry=r
        )
        self.unit_electricity = Counter(
            "hpctl_unit_electricity_joules_total",
            "Electricity used by the unit",
            ["unit"],
            registry=r,
        )
        self.heat_delivered = Counter(
            "hpctl_plant_heat_delivered_joules_total", "Heat delivered to the network", registry=r
        )
        self.boiler_heat_energy = Counter(
            "hpctl_boiler_heat_joules_total", "Heat produced by the backup boiler", registry=r
        )
        self.cost_total = Counter(
            "hpctl_cost_eur_total", "Electricity and boiler fuel paid since start", registry=r
        )
        self.co2_total = Counter("hpctl_co2_grams_total", "CO2 emitted since start", registry=r)
        self.regret = Gauge(
            "hpctl_regret_eur",
            "Last complete day: actual cost minus the perfect-foresight optimum",
            registry=r,
        )
        self.regret_actual = Gauge(
            "hpctl_regret_actual_cost_eur", "Last complete day: what the plant paid", registry=r
        )
        self.regret_hindsight = Gauge(
            "hpctl_regret_hindsight_cost_eur",
            "Last complete day: the perfect-foresight optimum",
            registry=r,
        )
        self.regret_day = Gauge(
            "hpctl_regret_day_timestamp_seconds",
            "Start of the day the regret is for (Unix time)",
            registry=r,
        )
        self.days = Counter(
            "hpctl_regret_evaluations",
            "Finished days by outcome (computed, incomplete, failed)",
            ["outcome"],
            registry=r,
        )
        for unit in units:
            for counter in (self.unit_heat_energy, self.unit_electricity):
                counter.labels(unit)
        for status in SOLVER_STATUSES:
            self.solver_status.labels(status).set(0.0)
        for outcome in ("computed", "incomplete", "failed"):
            self.days.labels(outcome)
        for gauge in (
            self.regret,
            self.regret_actual,
            self.regret_hindsight,
            self.regret_day,
            self.savings_today,
            self.co2_savings_today,
            self.price_blind_cost_today,
        ):
            gauge.set(NAN)

    # --- per cycle -------------------------------------------------------------------------
    def observe(
        self,
        state: PlantState,
        planner: PlannerView | None,
        policy: TargetPolicy | None,
        market: MarketFeed | None,
    ) -> None:
        interval_s = 0.0
        if self._last_now_s is not None:
            interval_s = min(MAX_INTERVAL_S, max(0.0, state.now_s - self._last_now_s))
        self._last_now_s = state.now_s
        midpoint = state.now_utc - timedelta(seconds=interval_s / 2)
        price, carbon = self._market_at(market, midpoint)
        self._integrate(state, interval_s)
        open_day = self.book.today
        paid_before = (0.0, 0.0) if open_day is None else _paid(open_day)
        finished = self.book.add(state, interval_s, price, carbon)
        if finished is not None:
            paid_before = (0.0, 0.0)  # this cycle opened a new day and was counted in it
            self._close_day(finished)
        today = self.book.today
        if today is not None:
            cost_eur, co2_g = _paid(today)
            self.cost_total.inc(max(0.0, cost_eur - paid_before[0]))
            self.co2_total.inc(max(0.0, co2_g - paid_before[1]))
            self.today_cost.set(cost_eur)
            self.today_co2.set(co2_g)
            self.today_electricity.set(today.electricity_kwh * KWH_TO_J)
            self.today_heat.set(today.heat_delivered_kwh * KWH_TO_J)
            self.price_blind.add(today.day, state, interval_s, price, carbon)
            savings = self.price_blind.savings(today)
            if savings is not None:
                self.savings_today.set(savings.savings_eur)
                self.co2_savings_today.set(savings.co2_savings_g)
                self.price_blind_cost_today.set(savings.price_blind_cost_eur)
        if planner is not None:
            self._observe_plan(state, planner)
        if isinstance(policy, PlanPolicy):
            for (from_level, to_level), count in policy.transitions.items():
                self.transitions.update(float(count), from_level, to_level)

    def _market_at(
        self, market: MarketFeed | None, when_utc: datetime
    ) -> tuple[float | None, float | None]:
        """The hour's price and carbon, asked of the feed each new hour and every minute: a price
        arriving mid-hour (MQTT, a new price file) shows up, and the hour still gets its cost."""
        if market is None:
            return None, None
        key = quarter_start(when_utc)  # prices may clear per quarter-hour
        stale = self._asked_utc is None or when_utc - self._asked_utc >= MARKET_REFRESH
        if key != self._period_key or stale:
            self._asked_utc = when_utc
            prices, known_until = market.prices(when_utc)
            carbon = market.carbon(when_utc)
            hour = hour_start(when_utc)
            price = prices.get(key, prices.get(hour))
            self._market_now = (price, carbon.get(hour))
            self._period_key = key
            self.prices_known_until.set(known_until.timestamp())
            self.price.set(_or_nan(self._market_now[0]))
            self.carbon.set(_or_nan(self._market_now[1]))
        return self._market_now

    def _integrate(self, state: PlantState, interval_s: float) -> None:
        """Energy counters: the measured power held over the interval that ends now."""
        if interval_s <= 0.0:
            return
        for unit in state.units:
            if unit.heat_kw is not None:
                self.unit_heat_energy.labels(unit.name).inc(
                    max(0.0, unit.heat_kw) * KW_TO_W * interval_s
                )
            if unit.power_kw is not None:
                self.unit_electricity.labels(unit.name).inc(
                    max(0.0, unit.power_kw) * KW_TO_W * interval_s
                )
        if state.network_heat_kw is not None:
            self.heat_delivered.inc(max(0.0, state.network_heat_kw) * KW_TO_W * interval_s)
        if state.boiler is not None and state.boiler.heat_kw is not None:
            self.boiler_heat_energy.inc(max(0.0, state.boiler.heat_kw) * KW_TO_W * interval_s)

    def _observe_plan(self, state: PlantState, planner: PlannerView) -> None:
        self.solves.update(float(planner.solves_total))
        self.solve_failures.update(float(planner.solve_failures_total))
        attempt = planner.last_attempt
        if attempt is not None:
            for status in SOLVER_STATUSES:
                self.solver_status.labels(status).set(1.0 if attempt.status == status else 0.0)
            self.mip_gap.set(attempt.mip_gap)
            self.solve_time.set(attempt.solve_time_s)
            for start in SOLVER_STARTS:
                self.solver_start.labels(start).set(1.0 if attempt.start == start else 0.0)
            self.first_solution_time.set(attempt.time_to_first_solution_s)
        plan = planner.current
        if plan is None:
            self.plan_age.set(math.nan)  # no plan: its age is unknown, not zero
            return
        if plan is not self._seen_plan:
            self._seen_plan = plan
            self._plan_seen_at_s = state.now_s
        self.plan_age.set(state.now_s - self._plan_seen_at_s)
        self.plan_valid_until.set(plan.valid_until_utc.timestamp())
        self.objective.set(plan.objective_eur)
        step = plan.step_at(state.now_utc)
        planned: Mapping[str, float] = {}
        if step is not None:
            planned = {
                name: plan.unit_heat_kw[index][step] * KW_TO_W
                for index, name in enumerate(plan.unit_names)
            }
            self.plan_price.set(plan.inputs.price_eur_per_mwh[step])
            self.plan_carbon.set(plan.inputs.carbon_g_per_kwh[step])
            self.planned_demand.set(plan.inputs.heat_demand_kw[step] * KW_TO_W)
            self.planned_boiler.set(plan.boiler_heat_kw[step] * KW_TO_W)
            self.planned_unmet.set(plan.unmet_heat_kw[step] * KW_TO_W)
        else:
            for gauge in (
                self.plan_price,
                self.plan_carbon,
                self.planned_demand,
                self.planned_boiler,
                self.planned_unmet,
            ):
                gauge.set(NAN)
        for unit in self._site.units:
            self.planned_heat.labels(unit.name).set(planned.get(unit.name, NAN))
        stored_kwh = planner.planned_energy_kwh(state.now_utc)
        self.planned_storage.set(NAN if stored_kwh is None else stored_kwh * KWH_TO_J)

    # --- once a day ------------------------------------------------------------------------
    def _close_day(self, day: DayRecord) -> None:
        self.last_day = day
        if not day.complete:
            log.info("day %s was not observed completely: no hindsight regret", day.day)
            self.days.labels("incomplete").inc()
            return
        future = self._executor.submit(hindsight_regret, day, self._site, self._control)
        future.add_done_callback(self._regret_done)
        self.regret_futures = [f for f in self.regret_futures if not f.done()] + [future]

    def _regret_done(self, future: Future[Regret]) -> None:
        try:
            result = future.result()
        except Exception:  # a failed hindsight solve must not reach the controller
            log.exception("hindsight regret failed")
            self.days.labels("failed").inc()
            return
        if math.isnan(result.hindsight_cost_eur):
            log.warning("hindsight solve for %s gave no plan: %s", result.day, result.status)
            self.days.labels("failed").inc()
            return
        self.regret.set(result.regret_eur)
        self.regret_actual.set(result.actual_cost_eur)
        self.regret_hindsight.set(result.hindsight_cost_eur)
        start = datetime.combine(result.day, datetime.min.time(), tzinfo=self.book.zone)
        self.regret_day.set(start.timestamp())
        self.days.labels("computed").inc()
        log.info(
            "day %s: paid %.0f EUR, hindsight optimum %.0f EUR, regret %.0f EUR",
            result.day,
            result.actual_cost_eur,
            result.hindsight_cost_eur,
            result.regret_eur,
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


def _paid(day: DayRecord) -> tuple[float, float]:
    return day.electricity_cost_eur + day.boiler_fuel_cost_eur, day.co2_g


def _or_nan(value: float | None) -> float:
    return NAN if value is None else float(value)
