"""Hourly means of what the plant measured (outdoor temperature, demand, source temperature):
the past that forecasts learn from."""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.core.forecast import hour_start

KEEP = timedelta(days=8)


class HourlyLog:
    def __init__(self) -> None:
        self._sums: dict[str, dict[datetime, tuple[float, int]]] = {}

    def add(self, name: str, when_utc: datetime, value: float | None) -> None:
        if value is None:
            return
        series = self._sums.setdefault(name, {})
        hour = hour_start(when_utc)
        total, count = series.get(hour, (0.0, 0))
        series[hour] = (total + value, count + 1)
        if count == 0 and len(series) > KEEP.total_seconds() / 3600 + 24:
            oldest = hour - KEEP
            for stale in [h for h in series if h < oldest]:
                del series[stale]

    def hourly(self, name: str) -> dict[datetime, float]:
        return {hour: total / count for hour, (total, count) in self._sums.get(name, {}).items()}
