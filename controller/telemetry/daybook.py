"""The plant's day as it happened: energy, cost and emissions counted from every cycle, in the
plant's local calendar day, with the hourly prices, carbon and heat the controller observed.

A finished, completely observed day is what `regret.hindsight_regret` plans again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from controller.config import ControlConfig
from controller.core.estimate import PlantState
from controller.core.forecast import hour_start
from drivers.site import SiteConfig

COMPLETE_COVERAGE = 0.98  # a day counts as observed when cycles cover this much of it


@dataclass
class HourRecord:
    """What one hour of the day looked like: market values and measured means."""

    start_utc: datetime
    price_eur_per_mwh: float | None = None
    carbon_g_per_kwh: float | None = None
    heat_delivered_kwh: float = 0.0
    seconds: float = 0.0
    outdoor_temp_sum: float = 0.0
    outdoor_seconds: float = 0.0
    source_temp_sum: float = 0.0
    source_seconds: float = 0.0
    unit_heat_kwh: dict[str, float] = field(default_factory=dict)
    unit_electricity_kwh: dict[str, float] = field(default_factory=dict)

    def measured_cop(self, unit: str) -> float | None:
        """The unit's COP over the hour, if it ran long enough to tell."""
        electricity_kwh = self.unit_electricity_kwh.get(unit, 0.0)
        heat_kwh = self.unit_heat_kwh.get(unit, 0.0)
        if electricity_kwh <= 0.0 or heat_kwh <= 0.0 or self.seconds <= 0.0:
            return None
        return heat_kwh / electricity_kwh

    def mean_outdoor_c(self) -> float | None:
        return self.outdoor_temp_sum / self.outdoor_seconds if self.outdoor_seconds > 0 else None

    def mean_source_c(self) -> float | None:
        return self.source_temp_sum / self.source_seconds if self.source_seconds > 0 else None


@dataclass
class DayRecord:
    """One local calendar day: totals so far and the hours seen."""

    day: date
    start_utc: datetime
    end_utc: datetime
    electricity_kwh: float = 0.0
    electricity_cost_eur: float = 0.0
    boiler_fuel_kwh: float = 0.0
    boiler_fuel_cost_eur: float = 0.0
    co2_g: float = 0.0
    heat_delivered_kwh: float = 0.0
    heat_produced_kwh: float = 0.0  # units and boiler
    unpriced_electricity_kwh: float = 0.0  # used while no price was known: not in the cost
    starts: dict[str, int] = field(default_factory=dict)
    hours: dict[datetime, HourRecord] = field(default_factory=dict)
    observed_s: float = 0.0
    storage_start_kwh: float | None = None
    storage_end_kwh: float | None = None
    units_on_at_start: dict[str, bool] = field(default_factory=dict)

    @property
    def length_s(self) -> float:
        return (self.end_utc - self.start_utc).total_seconds()

    @property
    def complete(self) -> bool:
        """Observed from start to end, every hour priced, the tank measured at both ends."""
        expected = int(self.length_s // 3600)
        priced = all(
            h.price_eur_per_mwh is not None and h.carbon_g_per_kwh is not None
            for h in self.hours.values()
        )
        return (
            self.observed_s >= COMPLETE_COVERAGE * self.length_s
            and len(self.hours) == expected
            and priced
            and self.storage_start_kwh is not None
            and self.storage_end_kwh is not None
        )


class DayBook:
    """Counts energy, cost and emissions per cycle; hands back each day when it ends."""

    def __init__(self, site: SiteConfig, control: ControlConfig) -> None:
        self._site = site
        self._control = control
        self.zone = ZoneInfo(site.plant.timezone)
        self.today: DayRecord | None = None
        self._was_on: dict[str, bool] = {}

    def _new_day(self, now_utc: datetime) -> DayRecord:
        local_day = now_utc.astimezone(self.zone).date()
        start = datetime.combine(local_day, datetime.min.time(), tzinfo=self.zone)
        end = datetime.combine(local_day + timedelta(days=1), datetime.min.time(), tzinfo=self.zone)
        return DayRecord(
            day=local_day,
            start_utc=start.astimezone(now_utc.tzinfo),
            end_utc=end.astimezone(now_utc.tzinfo),
        )

    def add(
        self,
        state: PlantState,
        interval_s: float,
        price_eur_per_mwh: float | None,
        carbon_g_per_kwh: float | None,
    ) -> DayRecord | None:
        """Count the interval that ended at this cycle; return the day that just ended, if any.

        An interval belongs to the day and hour of its midpoint, so the cycle at midnight still
        closes the old day and the tank's energy then is that day's end.
        """
        midpoint = state.now_utc - timedelta(seconds=interval_s / 2)
        finished = None
        today = self.today
        if today is None or midpoint >= today.end_utc:
            finished = today
            today = self.today = self._new_day(midpoint)
            today.storage_start_kwh = state.energy_kwh
            today.units_on_at_start = {
                u.name: u.compressor_on for u in state.units if u.state_code is not None
            }
            if finished is None:
                interval_s = 0.0  # the first cycle ever has no interval behind it
        self._count(today, state, midpoint, interval_s, price_eur_per_mwh, carbon_g_per_kwh)
        return finished

    def _count(
        self,
        today: DayRecord,
        state: PlantState,
        midpoint: datetime,
        interval_s: float,
        price: float | None,
        carbon: float | None,
    ) -> None:
        hours = interval_s / 3600.0
        hour_key = hour_start(midpoint)
        hour = today.hours.get(hour_key)
        if hour is None:
            hour = today.hours[hour_key] = HourRecord(start_utc=hour_key)
        electricity_kwh = sum(u.power_kw or 0.0 for u in state.units) * hours
        today.electricity_kwh += electricity_kwh
        if price is not None:
            today.electricity_cost_eur += electricity_kwh * price / 1000.0
        else:
            today.unpriced_electricity_kwh += electricity_kwh
        if carbon is not None:
            today.co2_g += electricity_kwh * carbon
        boiler = self._site.boiler
        if boiler is not None and state.boiler is not None:
            fuel_kw = state.boiler.fuel_kw
            if fuel_kw is None and state.boiler.heat_kw is not None:
                fuel_kw = state.boiler.heat_kw / boiler.efficiency
            fuel_kwh = (fuel_kw or 0.0) * hours
            today.boiler_fuel_kwh += fuel_kwh
            today.boiler_fuel_cost_eur += fuel_kwh * boiler.fuel_price_eur_per_mwh / 1000.0
            today.co2_g += fuel_kwh * boiler.fuel_carbon_g_per_kwh
        heat_kwh = (state.network_heat_kw or 0.0) * hours
        today.heat_delivered_kwh += heat_kwh
        today.heat_produced_kwh += state.heat_production_kw * hours
        today.observed_s += interval_s
        today.storage_end_kwh = state.energy_kwh
        for unit in state.units:
            if unit.state_code is None:
                continue
            if unit.compressor_on and self._was_on.get(unit.name) is False:
                today.starts[unit.name] = today.starts.get(unit.name, 0) + 1
            self._was_on[unit.name] = unit.compressor_on
        hour.price_eur_per_mwh = price if price is not None else hour.price_eur_per_mwh
        hour.carbon_g_per_kwh = carbon if carbon is not None else hour.carbon_g_per_kwh
        hour.heat_delivered_kwh += heat_kwh
        for unit in state.units:
            if unit.heat_kw is not None and unit.power_kw is not None and unit.power_kw > 1.0:
                heat = hour.unit_heat_kwh.get(unit.name, 0.0)
                hour.unit_heat_kwh[unit.name] = heat + max(0.0, unit.heat_kw) * hours
                used = hour.unit_electricity_kwh.get(unit.name, 0.0)
                hour.unit_electricity_kwh[unit.name] = used + unit.power_kw * hours
        hour.seconds += interval_s
        if state.outdoor_temp_c is not None:
            hour.outdoor_temp_sum += state.outdoor_temp_c * interval_s
            hour.outdoor_seconds += interval_s
        if state.source_temp_c is not None:
            hour.source_temp_sum += state.source_temp_c * interval_s
            hour.source_seconds += interval_s

    def actual_cost_eur(self, day: DayRecord) -> float:
        """Electricity + boiler fuel + carbon price x emissions + start costs, as the plant did."""
        specs = {spec.name: spec for spec in self._site.units}
        carbon_eur = day.co2_g * 1e-6 * self._control.planner.carbon_price_eur_per_t
        starts_eur = sum(specs[n].start_cost_eur * k for n, k in day.starts.items() if n in specs)
        return day.electricity_cost_eur + day.boiler_fuel_cost_eur + carbon_eur + starts_eur
