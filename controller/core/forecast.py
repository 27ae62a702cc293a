"""Forecasts from the past only (pure): prices beyond the published ones, carbon, source
temperature, and the design curves the learned forecaster (`controller.core.forecaster`) falls
back to.

The planner sees what a plant knows at that moment. Day-ahead prices are known up to the end of
the last published day; beyond that the last known day repeats. Carbon intensity is known up to
now; beyond, the same hour of the previous day. The heat source's temperature is measured now
(plant-wide, else the units' inlets), its past gives yesterday's shape; beyond its past the
plant file's declared curve, shifted to the measured level, and with no measurement at all the
declared curve itself: never an invented constant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from controller.core.estimate import PlantState
from drivers.site import NetworkSpec

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def hour_start(when_utc: datetime) -> datetime:
    return when_utc.replace(minute=0, second=0, microsecond=0)


def day_ahead_known_until(now_utc: datetime, publication: time, timezone: str) -> datetime:
    """End (exclusive, UTC) of the delivery hours whose day-ahead prices are public at `now`.

    Before the daily publication time the market has priced today; from it on, tomorrow too.
    Days are local (the bidding zone's calendar), so DST days have 23 or 25 hours.
    """
    zone = ZoneInfo(timezone)
    local = now_utc.astimezone(zone)
    days_ahead = 2 if local.time() >= publication else 1
    end_date = local.date() + timedelta(days=days_ahead)
    return datetime.combine(end_date, time(0), tzinfo=zone).astimezone(now_utc.tzinfo)


QUARTER = timedelta(minutes=15)


def quarter_start(when_utc: datetime) -> datetime:
    return when_utc.replace(minute=when_utc.minute - when_utc.minute % 15, second=0, microsecond=0)


def repeat_last_known(
    known: Mapping[datetime, float], when: datetime, known_until: datetime
) -> float | None:
    """The value in force at the same time on the latest day that is known (daily persistence).

    Keys are the starts of their periods: quarter-hours (the day-ahead market since October
    2025) or hours; a quarter-hour without its own key takes its hour's value."""
    quarter, hour = quarter_start(when), hour_start(when)
    for _ in range(14):
        for candidate in (quarter, hour):
            if candidate < known_until and candidate in known:
                return known[candidate]
        quarter -= DAY
        hour -= DAY
    return None


def series_forecast(
    known: Mapping[datetime, float],
    steps_utc: Sequence[datetime],
    known_until: datetime,
    fallback: float,
    step: timedelta | None = None,
) -> tuple[float, ...]:
    """Known values where public, else daily persistence, else `fallback` (e.g. the mean).

    With `step` longer than a quarter-hour each step takes the mean of the quarter-hours it
    spans, so an hourly plan over quarter-hour prices pays their average, as the meter does;
    without it, the value in force at the step's start."""
    out = []
    quarters = max(1, round(step / QUARTER)) if step is not None else 1
    for when in steps_utc:
        values = [
            repeat_last_known(known, when + k * QUARTER, known_until) for k in range(quarters)
        ]
        present = [value for value in values if value is not None]
        out.append(sum(present) / len(present) if present else fallback)
    return tuple(out)


def measured_source_temp_c(state: PlantState) -> tuple[float | None, str]:
    """The source temperature measured now, and where it came from: the plant-wide sensor, else
    the mean of the units' evaporator inlets (of the running units when any run: an idle
    unit's inlet may sit in still water), else None."""
    if state.source_temp_c is not None:
        return state.source_temp_c, "measured (plant)"
    reading = [unit for unit in state.units if unit.source_temp_c is not None]
    running = [unit for unit in reading if unit.compressor_on]
    chosen = running or reading
    if not chosen:
        return None, "not measured"
    mean_c = sum(unit.source_temp_c or 0.0 for unit in chosen) / len(chosen)
    which = "running units'" if running else "units'"
    return mean_c, f"measured (mean of {len(chosen)} {which} source inlets)"


def source_forecast(
    observed: Mapping[datetime, float],
    now_utc: datetime,
    current: float | None,
    steps_utc: Sequence[datetime],
    declared: Callable[[datetime], float],
    settle_h: float = 12.0,
) -> tuple[tuple[float, ...], str]:
    """Source temperature per step, and how it was made (in words).

    The present level is `current` (measured), else the last hour of the past; where the past
    has the same hour the day before, that hour at today's level (the offset fading over
    `settle_h`); otherwise the `declared` curve (the plant file's
    `SourceSpec.temp_c`) shifted to the present level. With neither a measurement nor a past,
    the declared curve itself."""
    now_hour = hour_start(now_utc)
    if current is None:
        current = observed.get(now_hour - HOUR)
        if current is None and observed:
            current = observed[max(observed)]
    if current is None:
        return tuple(declared(when) for when in steps_utc), "design curve (plant file)"
    anchor = observed.get(now_hour - DAY)
    offset = current - anchor if anchor is not None else 0.0
    shift = current - declared(now_utc)
    out = []
    from_past = 0
    for when in steps_utc:
        lead_h = max(0.0, (when - now_utc).total_seconds() / 3600.0)
        yesterday = repeat_last_known(observed, when, now_hour)
        if yesterday is None:
            out.append(declared(when) + shift)
        else:
            out.append(yesterday + offset * math.exp(-lead_h / settle_h))
            from_past += 1
    if from_past == len(out):
        shape = f"yesterday's shape from {len(observed)} h of history"
    elif from_past:
        shape = (
            f"yesterday's shape from {len(observed)} h of history, beyond it the plant file's "
            "curve shifted to that level"
        )
    else:
        shape = "the plant file's curve shifted to that level"
    return tuple(out), shape


def network_demand_kw(network: NetworkSpec, outdoor_temp_c: float) -> float:
    """The network's design curve: linear from design to the heating limit, base load above."""
    base_kw = network.design_heat_kw * network.base_load_fraction
    span_k = network.heating_limit_temp_c - network.design_outdoor_temp_c
    fraction = (network.heating_limit_temp_c - outdoor_temp_c) / span_k
    return base_kw + max(0.0, fraction) * (network.design_heat_kw - base_kw)
