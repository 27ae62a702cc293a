"""The evaluator's progress: one bar per policy replayed, in hours of the period, on stderr."""

from __future__ import annotations

from typing import Protocol, TextIO

from controller.telemetry.progress import ProgressBars


class ProgressSink(Protocol):
    def update(self, done: int) -> None: ...


class Progress:
    """One policy replayed in this process: `update` hears the hours done so far."""

    def __init__(self, total: int, stream: TextIO, label: str = "") -> None:
        self._label = label
        self._bars = ProgressBars({label: total}, stream, unit="h")

    def update(self, done: int) -> None:
        self._bars.update(self._label, done)


class MultiProgress:
    """Policies replayed side by side in worker processes: one bar each, in the given order."""

    def __init__(self, totals: dict[str, int], stream: TextIO) -> None:
        self._bars = ProgressBars(totals, stream, unit="h", line_step_percent=10)

    def update(self, name: str, done: int) -> None:
        self._bars.update(name, done)
