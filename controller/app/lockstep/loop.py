"""The one lockstep loop: plant physics and the control cycle advanced together on a SimClock.

Each step, in this order: the plant model steps its physics with the boundary of this instant;
the plant's I/O publishes the new values; the simulated clock moves; the controller's view of
the plant is brought up to date; the planner replans if it is due; the control cycle ticks; the
run recorder meters the step. Every run is deterministic and as fast as the I/O allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from controller.app.lockstep.conditions import Conditions
from controller.app.lockstep.recorder import RunRecorder
from controller.core.report import CycleReport
from controller.runtime.cycle import ControlCycle
from drivers.clock import SimClock
from sim_plant.physics import PlantModel


class PlantIO(Protocol):
    """How the controller sees the plant: over real sockets, or in process."""

    async def publish(self) -> None:
        """After the physics step: the plant's devices show the new values."""

    async def refresh(self) -> None:
        """After the clock moved: the controller's view of the devices is up to date."""


class InProcessIO:
    """The replay's I/O: its pool snapshots read the model itself, so nothing moves."""

    async def publish(self) -> None:
        return None

    async def refresh(self) -> None:
        return None


class Replanner(Protocol):
    async def replan_if_due(self) -> object: ...


class Lockstep:
    """Steps plant and controller together; with `ticking` off the controller is silent
    (a dead controller: no writes, no heartbeat) while the plant runs on."""

    def __init__(
        self,
        model: PlantModel,
        clock: SimClock,
        cycle: ControlCycle,
        io: PlantIO,
        conditions: Conditions,
        step_s: float,
        planner: Replanner | None = None,
        recorder: RunRecorder | None = None,
    ) -> None:
        self._model = model
        self._clock = clock
        self.cycle = cycle  # a rig may swap in its own composition between runs
        self._io = io
        self._conditions = conditions
        self._step_s = step_s
        self._planner = planner
        self._recorder = recorder
        if recorder is not None:
            cycle.add_observer(recorder)
        self.ticking = True
        self.steps_done = 0
        self.last: CycleReport | None = None
        self.physics_wall_s = 0.0
        self.planning_wall_s = 0.0

    async def step(self) -> CycleReport | None:
        """One step; the latest cycle report (an older one while not ticking)."""
        instant = self._conditions(self.steps_done, self._clock.now())
        started = time.perf_counter()
        self._model.step(self._step_s, instant.boundary)
        self.physics_wall_s += time.perf_counter() - started
        await self._io.publish()
        self._clock.advance(self._step_s)
        await self._io.refresh()
        if self._planner is not None:
            started = time.perf_counter()
            # the solve completes before the tick, which keeps runs repeatable; live, the
            # planner runs in its own task and the cycle never waits for it
            await self._planner.replan_if_due()
            self.planning_wall_s += time.perf_counter() - started
        if self.ticking:
            self.last = await self.cycle.tick()
        self.steps_done += 1
        if self._recorder is not None:
            self._recorder.stepped(instant)
        return self.last

    async def run(
        self, steps: int, progress: Callable[[int], None] | None = None
    ) -> CycleReport | None:
        """`steps` steps; `progress` hears the steps done in this call after each one."""
        for done in range(1, steps + 1):
            await self.step()
            if progress is not None:
                progress(done)
        return self.last
