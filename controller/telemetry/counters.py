"""Counts kept elsewhere (the drivers, the planner, the bridge, the audit store) as counters."""

from __future__ import annotations

from prometheus_client import Counter


class CounterMirror:
    """Exports a count kept elsewhere (a cumulative int) as a Prometheus counter."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._last: dict[tuple[str, ...], float] = {}

    def update(self, value: float, *labels: str) -> None:
        target = self._counter.labels(*labels) if labels else self._counter
        last = self._last.get(labels, 0.0)
        # a source that restarted counts from zero again: its new value is all new
        target.inc(value - last if value >= last else value)
        self._last[labels] = value
