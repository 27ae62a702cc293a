"""Each unit's measured switching history: the basis of every compressor protection (pure).

Minimum run and off times and the starts limit are counted from *confirmed* starts and stops
(the unit's own state feedback), never from what was commanded: a command that the unit did
not carry out must not use up a start, and a start it made by itself must count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from controller.core.estimate import UnitState

START_WINDOW_S = 3600.0


@dataclass(frozen=True, slots=True)
class UnitHistory:
    compressor_on: bool
    since_s: float  # time of the last confirmed transition (or first observation)
    recent_starts_s: tuple[float, ...]  # confirmed starts within the last hour
    tripped_since_s: float | None = None
    stopped_at_s: float | None = None  # last confirmed stop, for the valve run-on
    last_trip_s: float | None = None  # when the unit last tripped: staged last for a while after
    trip_cleared_s: float | None = None  # when its last trip cleared: the reset hold counts from it

    def tripped_within(self, now_s: float, window_s: float) -> bool:
        """Tripped now, or a trip seen less than `window_s` ago."""
        if self.tripped_since_s is not None:
            return True
        return self.last_trip_s is not None and now_s - self.last_trip_s < window_s

    def trip_hold_left_s(self, now_s: float, reset_s: float) -> float:
        """How much longer the unit is held off after a trip: without end while it is measured
        tripped, then `reset_s` from the moment its trip cleared, 0 once that has passed."""
        if self.tripped_since_s is not None:
            return math.inf
        if self.trip_cleared_s is None:
            return 0.0
        return max(0.0, reset_s - (now_s - self.trip_cleared_s))

    def on_for_s(self, now_s: float) -> float:
        return now_s - self.since_s if self.compressor_on else 0.0

    def off_for_s(self, now_s: float) -> float:
        return now_s - self.since_s if not self.compressor_on else 0.0

    def starts_last_hour(self, now_s: float) -> int:
        return sum(1 for start_s in self.recent_starts_s if now_s - start_s < START_WINDOW_S)


def first_history(unit: UnitState, now_s: float) -> UnitHistory:
    """On first sight the history is unknown: assume the unit has just switched.

    That is the conservative choice: a running unit is held on for its minimum run time and a
    stopped one held off for its minimum off time, and it counts as one start if running.
    """
    return UnitHistory(
        compressor_on=unit.compressor_on,
        since_s=now_s,
        recent_starts_s=(now_s,) if unit.compressor_on else (),
        tripped_since_s=now_s if unit.tripped else None,
        stopped_at_s=None if unit.compressor_on else now_s,
        last_trip_s=now_s if unit.tripped else None,
    )


def update_history(previous: UnitHistory, unit: UnitState, now_s: float) -> UnitHistory:
    """Fold one cycle's measured state into the history; unknown data changes nothing."""
    if unit.state_code is None:
        return previous
    recent = tuple(start for start in previous.recent_starts_s if now_s - start < START_WINDOW_S)
    history = replace(previous, recent_starts_s=recent)
    if unit.tripped and previous.tripped_since_s is None:
        history = replace(history, tripped_since_s=now_s, last_trip_s=now_s, trip_cleared_s=None)
    elif not unit.tripped and previous.tripped_since_s is not None:
        history = replace(history, tripped_since_s=None, trip_cleared_s=now_s)
    if unit.compressor_on and not previous.compressor_on:
        history = replace(
            history, compressor_on=True, since_s=now_s, recent_starts_s=(*recent, now_s)
        )
    elif not unit.compressor_on and previous.compressor_on:
        history = replace(history, compressor_on=False, since_s=now_s, stopped_at_s=now_s)
    return history


def fold_histories(
    known: Mapping[str, UnitHistory],
    stored: Mapping[str, UnitHistory],
    units: Iterable[UnitState],
    now_s: float,
) -> dict[str, UnitHistory]:
    """Fold one cycle's measured unit states into the histories known so far.

    A unit gets its first history only once its state is known. A stored history (from before a
    restart) is taken then, and only if the unit is still in the state it recorded: otherwise
    the unit switched while the controller was away and the conservative first history holds.
    """
    folded = dict(known)
    for unit in units:
        previous = known.get(unit.name)
        if previous is not None:
            folded[unit.name] = update_history(previous, unit, now_s)
        elif unit.state_code is not None:
            restored = stored.get(unit.name)
            if restored is not None and restored.compressor_on == unit.compressor_on:
                folded[unit.name] = update_history(restored, unit, now_s)
            else:
                folded[unit.name] = first_history(unit, now_s)
    return folded


def cycle_histories(
    known: Mapping[str, UnitHistory], units: Iterable[UnitState], now_s: float
) -> dict[str, UnitHistory]:
    """A history for every unit this cycle: a unit whose state was never known counts as just
    switched (see `first_history`), so that no protection is skipped for lack of a record."""
    return {unit.name: known.get(unit.name) or first_history(unit, now_s) for unit in units}
