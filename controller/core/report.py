"""What one control cycle saw, decided and did: the record every observer reads."""

from __future__ import annotations

from dataclasses import dataclass

from controller.core.commands import Commands, Interlock, Targets
from controller.core.estimate import PlantState
from controller.core.history import UnitHistory


@dataclass(frozen=True)
class CycleReport:
    """What one cycle saw, decided and did: for metrics, the audit log and the demo summary."""

    number: int
    state: PlantState
    targets: Targets
    commands: Commands
    interlocks: tuple[Interlock, ...]  # every intervention active this cycle
    new_interlocks: tuple[Interlock, ...]  # those that were not active last cycle (events)
    handed_back: bool
    writes: dict[str, dict[str, float]]
    write_errors: dict[str, str]
    histories: dict[str, UnitHistory]
    duration_s: float  # compute time of the cycle (perf counter, independent of the Clock)
