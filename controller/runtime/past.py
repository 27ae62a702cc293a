"""A plant's history database, as the planner learns from it before its first cycle: hourly
means of what was measured (outdoor temperature, heat demand, source temperature).

`hpctl plan` and `hpctl demo` take it from the scenario's rows before the start, the evaluator
from the weeks before the replayed period. Only hours that ended by the start are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from controller.core.forecast import hour_start
from controller.core.forecaster import WINDOW_H
from drivers.scenario import Scenario


@dataclass(frozen=True, slots=True)
class PastHour:
    """The measured mean of one hour; None where nothing measured it."""

    hour_utc: datetime
    outdoor_temp_c: float | None
    heat_demand_kw: float | None = None
    source_temp_c: float | None = None


@dataclass(frozen=True)
class PastRecord:
    """Hours oldest first, where they came from, and which columns the source had."""

    hours: tuple[PastHour, ...]
    origin: str
    columns: frozenset[str]


def _mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def scenario_past(scenario: Scenario, start_utc: datetime, hours: int = WINDOW_H) -> PastRecord:
    """The hours of `scenario` that ended by `start_utc`, at most `hours` of them, as hourly
    means of its rows (a file may have quarter-hour rows). Nothing at or after the start."""
    end = hour_start(start_utc)  # the hours before it have ended
    rows = scenario.between(end - timedelta(hours=hours), end)
    grouped: dict[datetime, list[tuple[float | None, float | None, float | None]]] = {}
    for row in rows:
        grouped.setdefault(hour_start(row.timestamp_utc), []).append(
            (row.outdoor_temp_c, row.heat_demand_kw, row.source_temp_c)
        )
    past = tuple(
        PastHour(
            hour_utc=hour,
            outdoor_temp_c=_mean([value[0] for value in values]),
            heat_demand_kw=_mean([value[1] for value in values]),
            source_temp_c=_mean([value[2] for value in values]),
        )
        for hour, values in sorted(grouped.items())
    )
    columns = frozenset(
        column
        for column in ("outdoor_temp_c", "heat_demand_kw", "source_temp_c")
        if scenario.has(column)
    )
    return PastRecord(hours=past, origin=f"scenario {Path(scenario.source).name}", columns=columns)
