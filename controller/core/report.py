"""What one control cycle saw, decided and did: the record every observer reads."""

from __future__ import annotations

from dataclasses import dataclass

from controller.core.commands import Commands, Interlock, Targets
from controller.core.estimate import PlantState
from controller.core.history import UnitHistory
from controller.core.trips import TripEvent


@dataclass(frozen=True, slots=True)
class PolicyFailure:
    """The dispatch policy raised this cycle and the rules rung stood in."""

    policy: str  # which policy raised: its class name (PlanPolicy, MeritPolicy, OperatorDesk)
    error: str  # the exception, as `Type: message`

    @property
    def key(self) -> tuple[str, str]:
        """The same failure from cycle to cycle: the policy and the exception's type (its
        message may carry changing numbers)."""
        return self.policy, self.error.split(":", 1)[0]


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
    trips: tuple[TripEvent, ...] = ()  # units measured tripping or clearing a trip this cycle
    policy_failure: PolicyFailure | None = None  # the policy raised: the rules decided
    read_only: bool = False  # nothing is written (commissioning): the commands were not sent
