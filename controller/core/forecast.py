"""Forecasts from the past only (pure): prices beyond the published ones, carbon, weather, demand.

The planner sees what a plant knows at that moment. Day-ahead prices are known up to the end of
the last published day; beyond that the last known day repeats. Carbon intensity and outdoor
temperature are known up to now; beyond, the same hour of the previous day, shifted toward the
present level for the first hours. Heat demand is the network's design curve on that outdoor
forecast, scaled by the ratio of measured to modelled demand over the recent past.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

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


def weather_forecast(
    observed: Mapping[datetime, float],
    now_utc: datetime,
    current: float | None,
    steps_utc: Sequence[datetime],
    settle_h: float = 12.0,
) -> tuple[float, ...]:
    """Yesterday's shape at today's level: persistence of the daily cycle, with the present
    offset decaying over `settle_h` hours. With no past at all, the present value holds."""
    now_hour = hour_start(now_utc)
    if current is None:
        current = observed.get(now_hour - HOUR)
    if current is None:
        known = list(observed.values())
        current = sum(known) / len(known) if known else 0.0
    anchor = observed.get(now_hour - DAY)
    offset = current - anchor if anchor is not None else 0.0
    out = []
    for when in steps_utc:
        lead_h = max(0.0, (when - now_utc).total_seconds() / 3600.0)
        yesterday = repeat_last_known(observed, when, now_hour)
        if yesterday is None:
            out.append(current)
        else:
            out.append(yesterday + offset * math.exp(-lead_h / settle_h))
    return tuple(out)


def network_demand_kw(network: NetworkSpec, outdoor_temp_c: float) -> float:
    """The network's design curve: linear from design to the heating limit, base load above."""
    base_kw = network.design_heat_kw * network.base_load_fraction
    span_k = network.heating_limit_temp_c - network.design_outdoor_temp_c
    fraction = (network.heating_limit_temp_c - outdoor_temp_c) / span_k
    return base_kw + max(0.0, fraction) * (network.design_heat_kw - base_kw)


def demand_correction(
    measured_kw: Mapping[datetime, float],
    outdoor_c: Mapping[datetime, float],
    network: NetworkSpec,
    now_utc: datetime,
    lookback_h: int = 48,
) -> float:
    """Ratio of measured to modelled demand over the recent past (1 with no history)."""
    measured_sum = modelled_sum = 0.0
    start = hour_start(now_utc) - timedelta(hours=lookback_h)
    for hour, demand_kw in measured_kw.items():
        if hour >= start and hour in outdoor_c:
            measured_sum += demand_kw
            modelled_sum += network_demand_kw(network, outdoor_c[hour])
    if modelled_sum <= 0:
        return 1.0
    return min(3.0, max(0.2, measured_sum / modelled_sum))


def demand_forecast(
    network: NetworkSpec,
    outdoor_forecast_c: Sequence[float],
    correction: float,
) -> tuple[float, ...]:
    return tuple(correction * network_demand_kw(network, temp) for temp in outdoor_forecast_c)
