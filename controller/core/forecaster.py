"""Outdoor temperature and heat demand forecasts that learn only from what was measured.

The one forecaster of the controller: `PlannerService` owns one and feeds it every cycle, in
`hpctl run`, `hpctl demo`, `hpctl plan` and the evaluator's `mpc` alike.

A plant without a weather service still has its own history. Temperature: the mean daily
profile of the last week plus today's anomaly, which fades with lead time at the rate the
anomalies of the last four weeks actually persisted (fitted per lead hour, from three days of
history; before that over 12 hours, as yesterday's-shape persistence does). Demand: a linear
regression on heating degrees (below the network's heating limit), hour of day and weekend,
refitted daily on the last four weeks, plus the latest error of the fit, fading over 6 hours.
Before three days of metered demand, demand follows the network's design curve scaled by the
ratio of metered to modelled demand over the last 48 hours (1 with none), and says so
(`basis`).

The forecaster is a cycle observer: it learns from the plant's meters (outdoor temperature,
network heat), hour by hour, and nothing else; `add_hour` refuses an hour that has not ended.
A plant's history database (a scenario's past rows, the weeks before a replay) is handed in
hour by hour the same way. Every forecast for an hour start is scored against what then
happened (MAE and RMSE over all lead times).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from controller.core.forecast import network_demand_kw
from controller.core.report import CycleReport
from drivers.site import NetworkSpec

HOUR = timedelta(hours=1)
WINDOW_H = 28 * 24
PROFILE_H = 7 * 24
MIN_FIT_H = 3 * 24
MAX_LEAD_H = 96
ERROR_FADE_H = 6.0
SETTLE_H = 12.0  # how fast the present anomaly fades before its rate is fitted
CORRECTION_H = 48  # the design curve's scaling looks this far back
CORRECTION_RANGE = (0.2, 3.0)


class LookaheadError(AssertionError):
    """The forecaster was given an hour that had not ended yet."""


class _Score:
    def __init__(self) -> None:
        self.count = 0
        self.abs_sum = 0.0
        self.sq_sum = 0.0

    def add(self, error: float) -> None:
        self.count += 1
        self.abs_sum += abs(error)
        self.sq_sum += error * error

    @property
    def mae(self) -> float:
        return self.abs_sum / self.count if self.count else math.nan

    @property
    def rmse(self) -> float:
        return math.sqrt(self.sq_sum / self.count) if self.count else math.nan


class Forecaster:
    """Learns hourly outdoor temperature and demand; forecasts both for the planner."""

    def __init__(self, network: NetworkSpec, timezone: str) -> None:
        self._network = network
        self._zone = ZoneInfo(timezone)
        self._hours: list[datetime] = []
        self._outdoor: list[float] = []
        self._demand: list[float] = []  # NaN: the hour had no demand reading
        self._coef: np.ndarray | None = None
        self._coef_hours = 0
        self._persist = np.exp(-np.arange(MAX_LEAD_H + 1) / SETTLE_H)
        self._persist_fitted = False
        self._fitted_at: datetime | None = None
        self._pending: dict[datetime, list[tuple[float, float]]] = {}
        self._temp_score = _Score()
        self._demand_score = _Score()
        self._demand_sum = 0.0
        self._acc_hour: datetime | None = None
        self._acc = [0.0, 0, 0.0, 0]
        self.basis: dict[str, str] = {}  # what the last forecast stood on, in words

    # --- learning ------------------------------------------------------------------------
    def add_hour(
        self, hour_utc: datetime, now_utc: datetime, outdoor_c: float, demand_kw: float | None
    ) -> None:
        """The measured mean of a completed hour; it must have ended by `now_utc`. The demand
        may be unknown (a plant or a file without a network heat meter)."""
        if hour_utc + HOUR > now_utc:
            raise LookaheadError(
                f"hour {hour_utc.isoformat()} given at {now_utc.isoformat()}, before it ended"
            )
        if self._hours and hour_utc <= self._hours[-1]:
            raise ValueError(f"hour {hour_utc.isoformat()} is not after the last one learned")
        demand = math.nan if demand_kw is None else float(demand_kw)
        self._hours.append(hour_utc)
        self._outdoor.append(outdoor_c)
        self._demand.append(demand)
        for stale in [when for when in self._pending if when < hour_utc]:
            del self._pending[stale]  # an hour that was never measured is never scored
        for predicted_c, predicted_kw in self._pending.pop(hour_utc, []):
            self._temp_score.add(predicted_c - outdoor_c)
            if not math.isnan(demand):
                self._demand_score.add(predicted_kw - demand)
                self._demand_sum += demand
        if len(self._hours) > WINDOW_H + 48:
            del self._hours[:-WINDOW_H], self._outdoor[:-WINDOW_H], self._demand[:-WINDOW_H]

    def observe(self, report: CycleReport) -> None:
        """Hourly means of the meters, from every control cycle."""
        state = report.state
        now = state.now_utc
        # a reading describes the step that just ended: at the top of the hour, the last hour
        hour = (now - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)
        if self._acc_hour is not None and hour != self._acc_hour:
            self._flush(now)
        self._acc_hour = hour
        if state.outdoor_temp_c is not None:
            self._acc[0] += state.outdoor_temp_c
            self._acc[1] += 1
            if state.network_heat_kw is not None:
                self._acc[2] += state.network_heat_kw
                self._acc[3] += 1
        if now == hour + HOUR:
            self._flush(now)
            self._acc_hour = None

    def _flush(self, now_utc: datetime) -> None:
        total_c, count_c, total_kw, count_kw = self._acc
        hour = self._acc_hour
        # an hour the history database already holds (seeded up to the start) stays as it was
        if count_c and hour is not None and (not self._hours or hour > self._hours[-1]):
            demand = float(total_kw) / count_kw if count_kw else None
            self.add_hour(hour, now_utc, float(total_c) / count_c, demand)
        self._acc = [0.0, 0, 0.0, 0]

    # --- what it knows -------------------------------------------------------------------
    @property
    def history_hours(self) -> int:
        """Hours of outdoor temperature it has learned (at most four weeks and two days)."""
        return len(self._hours)

    @property
    def demand_hours(self) -> int:
        """Hours of those with a demand reading."""
        return sum(1 for value in self._demand if not math.isnan(value))

    @property
    def learned_demand(self) -> bool:
        """True once demand comes from the fitted regression, not the design curve."""
        return self._coef is not None

    # --- fitting -------------------------------------------------------------------------
    def _features(self, hours: Sequence[datetime], outdoor_c: Sequence[float]) -> np.ndarray:
        rows = np.zeros((len(hours), 26))
        limit_c = self._network.heating_limit_temp_c
        for i, (when, temp) in enumerate(zip(hours, outdoor_c, strict=True)):
            local = when.astimezone(self._zone)
            rows[i, 0] = 1.0
            rows[i, 1] = max(0.0, limit_c - temp)
            if local.hour:
                rows[i, 1 + local.hour] = 1.0
            rows[i, 25] = 1.0 if local.weekday() >= 5 else 0.0
        return rows

    def _refit(self, now_utc: datetime) -> None:
        self._fitted_at = now_utc
        outdoor = np.asarray(self._outdoor[-WINDOW_H:])
        if outdoor.size < MIN_FIT_H:
            return
        y = np.asarray(self._demand[-WINDOW_H:])
        known = np.isfinite(y)
        if int(known.sum()) >= MIN_FIT_H:
            x = self._features(self._hours[-WINDOW_H:], self._outdoor[-WINDOW_H:])
            self._coef = np.linalg.lstsq(x[known], y[known], rcond=None)[0]
            self._coef_hours = int(known.sum())
        anomaly = outdoor - self._profile_at(self._hours[-WINDOW_H:])
        energy = float(anomaly @ anomaly)
        for lead in range(1, MAX_LEAD_H + 1):
            if energy > 0 and anomaly.size > lead:
                phi = float(anomaly[:-lead] @ anomaly[lead:]) / energy
                self._persist[lead] = min(1.0, max(0.0, phi))
        self._persist[0] = 1.0
        self._persist_fitted = True

    def _profile(self) -> np.ndarray:
        """Mean outdoor temperature per UTC hour of day over the last week."""
        sums, counts = np.zeros(24), np.zeros(24)
        for when, temp in zip(self._hours[-PROFILE_H:], self._outdoor[-PROFILE_H:], strict=True):
            sums[when.hour] += temp
            counts[when.hour] += 1
        mean = float(np.mean(self._outdoor[-PROFILE_H:])) if self._outdoor else 0.0
        return np.where(counts > 0, sums / np.maximum(counts, 1), mean)

    def _profile_at(self, hours: Sequence[datetime]) -> np.ndarray:
        profile = self._profile()
        return np.array([profile[when.hour] for when in hours])

    def _design_correction(self, now_utc: datetime) -> tuple[float, int]:
        """Metered over modelled demand in the last 48 hours (1 with none), and its hours."""
        since = now_utc.replace(minute=0, second=0, microsecond=0) - CORRECTION_H * HOUR
        metered = modelled = 0.0
        hours = 0
        for index in range(len(self._hours) - 1, -1, -1):
            if self._hours[index] < since:
                break
            demand = self._demand[index]
            if not math.isnan(demand):
                metered += demand
                modelled += network_demand_kw(self._network, self._outdoor[index])
                hours += 1
        if modelled <= 0:
            return 1.0, 0
        low, high = CORRECTION_RANGE
        return min(high, max(low, metered / modelled)), hours

    # --- forecasting ---------------------------------------------------------------------
    def forecast(
        self, now_utc: datetime, steps_utc: Sequence[datetime], current_outdoor_c: float | None
    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Outdoor temperature and heat demand for each step after `now_utc` (hour or
        quarter-hour starts); `basis` says afterwards what they stood on."""
        if not self._hours:
            temp = current_outdoor_c if current_outdoor_c is not None else 0.0
            held = tuple(temp for _ in steps_utc)
            self.basis = {
                "outdoor": (
                    "measured now, held (no history yet)"
                    if current_outdoor_c is not None
                    else "no measurement and no history: 0 °C assumed"
                ),
                "demand": "design curve (plant file) on the outdoor forecast: no metered "
                "demand yet (learned after 3 days of it)",
            }
            return held, tuple(network_demand_kw(self._network, t) for t in held)
        if self._fitted_at is None or now_utc - self._fitted_at >= timedelta(hours=24):
            self._refit(now_utc)
        profile = self._profile()
        last_hour = self._hours[-1]
        # today's anomaly, measured now if the plant's sensor reads, else the last hour's mean
        if current_outdoor_c is not None:
            reference = now_utc.replace(minute=0, second=0, microsecond=0)
            anomaly = current_outdoor_c - profile[reference.hour]
        else:
            reference = last_hour
            anomaly = self._outdoor[-1] - profile[last_hour.hour]
        outdoor: list[float] = []
        for when in steps_utc:
            lead = min(MAX_LEAD_H, max(0, round((when - reference) / HOUR)))
            outdoor.append(float(profile[when.hour] + self._persist[lead] * anomaly))
        demand: list[float]
        if self._coef is None:
            correction, hours = self._design_correction(now_utc)
            demand = [correction * network_demand_kw(self._network, temp) for temp in outdoor]
            known_h = self.demand_hours
            if hours:
                demand_basis = (
                    f"design curve (plant file) x {correction:.2f}, metered over modelled in "
                    f"the last {hours} h; learned after 3 days of metered demand ({known_h} h "
                    "so far)"
                )
            elif known_h:
                demand_basis = (
                    "design curve (plant file) on the outdoor forecast: no metered demand in "
                    f"the last {CORRECTION_H} h ({known_h} h before)"
                )
            else:
                demand_basis = (
                    "design curve (plant file) on the outdoor forecast: no metered demand yet "
                    "(learned after 3 days of it)"
                )
        else:
            error_kw = 0.0
            if not math.isnan(self._demand[-1]):
                fitted_last = float(
                    self._features([last_hour], [self._outdoor[-1]])[0] @ self._coef
                )
                error_kw = self._demand[-1] - fitted_last
            predicted = self._features(list(steps_utc), outdoor) @ self._coef
            demand = []
            for when, value in zip(steps_utc, predicted.tolist(), strict=True):
                lead_h = max(0.0, (when - last_hour) / HOUR - 1.0)
                demand.append(max(0.0, value + error_kw * math.exp(-lead_h / ERROR_FADE_H)))
            demand_basis = (
                f"learned forecaster: heating degrees, hour of day and weekend fitted on "
                f"{self._coef_hours / 24:.1f} days of metered demand, the latest error fading "
                f"over {ERROR_FADE_H:g} h"
            )
        fade = (
            "at the rate fitted on its history"
            if self._persist_fitted
            else f"over {SETTLE_H:g} h (the rate is fitted from 3 days of history)"
        )
        self.basis = {
            "outdoor": f"learned forecaster, {len(self._hours) / 24:.1f} days of history: the "
            f"last week's mean daily profile plus the present anomaly, fading {fade}",
            "demand": demand_basis,
        }
        for when, temp, kw in zip(steps_utc, outdoor, demand, strict=True):
            if when > last_hour and when == Forecaster.hour_of(when):
                self._pending.setdefault(when, []).append((temp, kw))
        return tuple(outdoor), tuple(demand)

    def errors(self) -> dict[str, float]:
        """How far the forecasts were from what happened, over every issued lead time."""
        count = self._demand_score.count
        mean_kw = self._demand_sum / count if count else math.nan
        return {
            "scored_forecast_hours": float(self._temp_score.count),
            "outdoor_mae_k": self._temp_score.mae,
            "outdoor_rmse_k": self._temp_score.rmse,
            "demand_mae_kw": self._demand_score.mae,
            "demand_rmse_kw": self._demand_score.rmse,
            # no demand at all (a summer of a heating-only network) has no percentage error
            "demand_mae_pct": (
                100.0 * self._demand_score.mae / mean_kw if count and mean_kw > 0 else math.nan
            ),
        }

    @staticmethod
    def hour_of(when: datetime) -> datetime:
        return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
