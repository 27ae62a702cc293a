"""Unit trips and their resets as events, from the units' measured state (pure).

A trip is seen in the unit's own state feedback (state code `tripped`), never inferred from
what was commanded: the staging drops enable for a tripped unit before safety would, so a trip
found only through an interlock would never be reported. The history fold marks the cycle in
which a trip was first seen (`tripped_since_s`) and the cycle in which it cleared
(`trip_cleared_s`); this module turns those cycles into events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from controller.core.estimate import PlantState
from controller.core.history import UnitHistory

TripKind = Literal["trip", "reset"]


@dataclass(frozen=True, slots=True)
class TripEvent:
    """A unit tripped (`trip`) or its trip cleared (`reset`), as measured this cycle."""

    unit: str
    kind: TripKind
    alarm_code: int | None  # what the unit reports now (a reset shows the cleared code, 0)
    tripped_for_s: float | None  # reset: how long the trip lasted, as measured
    hold_s: float  # reset: how long the controller now holds the unit off (trip_reset_s)

    def describe(self) -> str:
        if self.kind == "trip":
            return f"unit {self.unit} tripped (alarm {self.alarm_code})"
        lasted = "" if self.tripped_for_s is None else f" after {self.tripped_for_s:.0f} s"
        return (
            f"unit {self.unit}: trip cleared{lasted}; held off {self.hold_s:.0f} s "
            "before it may start again (and its minimum off time)"
        )


def trip_events(
    histories: Mapping[str, UnitHistory], state: PlantState, trip_reset_s: float
) -> tuple[TripEvent, ...]:
    """The trips first seen and the trips cleared in the cycle of `state`.

    A trip restored from the history store (seen before a restart) is no new event; a unit
    already tripped when the controller first sees it is one."""
    now_s = state.now_s
    events: list[TripEvent] = []
    for unit in state.units:
        history = histories.get(unit.name)
        if history is None:
            continue
        if history.tripped_since_s == now_s:
            events.append(TripEvent(unit.name, "trip", unit.alarm_code, None, trip_reset_s))
        elif history.trip_cleared_s == now_s:
            lasted_s = None if history.last_trip_s is None else now_s - history.last_trip_s
            events.append(TripEvent(unit.name, "reset", unit.alarm_code, lasted_s, trip_reset_s))
    return tuple(events)
