"""A lockstep rig over real sockets: the demo's loop with a steady outdoor temperature and no
planner, so a test can drive the plant, inject faults and silence the controller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from controller.app.demo import DEFAULT_PLANT
from controller.app.lockstep import FixedOutdoor, Lockstep, socket_io
from controller.config import Plant, load_plant
from controller.core.report import CycleReport
from controller.runtime.cycle import ControlCycle
from drivers.clock import SimClock
from drivers.pool import DriverPool
from sim_plant.physics import PlantModel
from sim_plant.servers import PlantServers

START = datetime(2024, 1, 8, tzinfo=UTC)


class Rig:
    """The plant, its servers, the drivers and the cycle of one lockstep run."""

    def __init__(
        self,
        plant: Plant,
        model: PlantModel,
        servers: PlantServers,
        pool: DriverPool,
        clock: SimClock,
        lockstep: Lockstep,
        outdoor: FixedOutdoor,
    ) -> None:
        self.plant = plant
        self.model = model
        self.servers = servers
        self.pool = pool
        self.clock = clock
        self.lockstep = lockstep
        self.outdoor = outdoor

    @property
    def cycle(self) -> ControlCycle:
        return self.lockstep.cycle

    @cycle.setter
    def cycle(self, cycle: ControlCycle) -> None:
        """A test composes its own cycle (with an operator desk, say) on the same plant."""
        self.lockstep.cycle = cycle

    @property
    def ticking(self) -> bool:
        """Off: the controller is silent (no writes, no heartbeat) while the plant runs on."""
        return self.lockstep.ticking

    @ticking.setter
    def ticking(self, on: bool) -> None:
        self.lockstep.ticking = on

    @property
    def outdoor_temp_c(self) -> float:
        return self.outdoor.outdoor_temp_c

    @outdoor_temp_c.setter
    def outdoor_temp_c(self, temp_c: float) -> None:
        self.outdoor.outdoor_temp_c = temp_c

    @property
    def last(self) -> CycleReport | None:
        return self.lockstep.last

    async def run(self, seconds: float) -> CycleReport | None:
        """Step plant and controller together for `seconds` of simulated time."""
        return await self.lockstep.run(round(seconds / self.plant.control.cycle_s))


@asynccontextmanager
async def rig(plant: Plant | None = None, initial_soc: float = 0.5) -> AsyncIterator[Rig]:
    plant = plant or load_plant(DEFAULT_PLANT).with_control(policy="rules")
    clock = SimClock(START)
    model = PlantModel(plant.site, START, initial_soc=initial_soc)
    outdoor = FixedOutdoor(outdoor_temp_c=-2.0)
    async with socket_io(plant, model, clock) as io:
        cycle = ControlCycle(io.plant, io.pool, clock)
        step_s = io.plant.control.cycle_s
        lockstep = Lockstep(model, clock, cycle, io, outdoor, step_s)
        yield Rig(io.plant, model, io.servers, io.pool, clock, lockstep, outdoor)
