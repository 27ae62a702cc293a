"""The one lockstep loop and run recorder that the demo, the replay, the SIL tests and the
bench share: plant physics and the live control cycle advanced together on a simulated clock."""

from controller.app.lockstep.conditions import (
    Conditions,
    FixedOutdoor,
    Instant,
    scenario_conditions,
)
from controller.app.lockstep.loop import InProcessIO, Lockstep, PlantIO, Replanner
from controller.app.lockstep.recorder import (
    HourlyTrace,
    RunRecorder,
    max_starts_in_any_hour,
)
from controller.app.lockstep.sockets import SocketIO, socket_io
from controller.app.lockstep.stored_heat import stored_heat_kwh

__all__ = [
    "Conditions",
    "FixedOutdoor",
    "HourlyTrace",
    "InProcessIO",
    "Instant",
    "Lockstep",
    "PlantIO",
    "Replanner",
    "RunRecorder",
    "SocketIO",
    "max_starts_in_any_hour",
    "scenario_conditions",
    "socket_io",
    "stored_heat_kwh",
]
