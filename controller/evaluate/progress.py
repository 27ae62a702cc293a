"""A one-line progress bar on a stream (stderr), redrawn at most once per percent."""

from __future__ import annotations

from typing import Protocol, TextIO


class ProgressSink(Protocol):
    def update(self, done: int) -> None: ...


class Progress:
    def __init__(self, total: int, stream: TextIO, label: str = "") -> None:
        self._total = max(1, total)
        self._stream = stream
        self._label = label
        self._shown = -1

    def update(self, done: int) -> None:
        percent = done * 100 // self._total
        if percent == self._shown or not (percent % 5 == 0 or self._stream.isatty()):
            return
        self._shown = percent
        bar = "#" * (percent // 4) + "." * (25 - percent // 4)
        self._stream.write(f"\r  {self._label} [{bar}] {percent:3d}%")
        if done >= self._total:
            self._stream.write("\n")
        self._stream.flush()


class MultiProgress:
    """One line for several policies replayed side by side: `baseline 40% | mpc 12% | ...`."""

    def __init__(self, totals: dict[str, int], stream: TextIO) -> None:
        self._totals = {name: max(1, total) for name, total in totals.items()}
        self._percent = dict.fromkeys(totals, 0)
        self._stream = stream

    def update(self, name: str, done: int) -> None:
        percent = done * 100 // self._totals[name]
        if percent == self._percent[name]:
            return
        self._percent[name] = percent
        if not (percent % 10 == 0 or self._stream.isatty()):
            return
        line = " | ".join(f"{n} {p:3d}%" for n, p in self._percent.items())
        self._stream.write(f"\r  {line}")
        if all(p >= 100 for p in self._percent.values()):
            self._stream.write("\n")
        self._stream.flush()
