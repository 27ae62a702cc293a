"""A lockstep rig: simulated plant, its servers on free loopback ports, drivers and the cycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from controller.app.demo import DEFAULT_PLANT
from controller.config import Plant, load_plant
from controller.core.report import CycleReport
from controller.runtime.cycle import ControlCycle
from drivers.clock import SimClock
from drivers.pool import DriverPool
from sim_plant.physics import Boundary, PlantModel
from sim_plant.servers import PlantServers

START = datetime(2024, 1, 8, tzinfo=UTC)


@dataclass
class Rig:
    plant: Plant
    model: PlantModel
    servers: PlantServers
    pool: DriverPool
    cycle: ControlCycle
    clock: SimClock
    outdoor_temp_c: float = -2.0
    last: CycleReport | None = None
    ticking: bool = True

    async def run(self, seconds: float) -> CycleReport | None:
        """Step plant and controller together; with `ticking` off the controller is silent."""
        step_s = self.plant.control.cycle_s
        for _ in range(round(seconds / step_s)):
            self.model.step(
                step_s, Boundary(now_utc=self.clock.now(), outdoor_temp_c=self.outdoor_temp_c)
            )
            await self.servers.sync()
            self.clock.advance(step_s)
            await self.pool.poll_all()
            if self.ticking:
                self.last = await self.cycle.tick()
        return self.last


@asynccontextmanager
async def rig(plant: Plant | None = None, initial_soc: float = 0.5) -> AsyncIterator[Rig]:
    plant = plant or load_plant(DEFAULT_PLANT).with_control(policy="rules")
    clock = SimClock(START)
    model = PlantModel(plant.site, START, initial_soc=initial_soc)
    async with PlantServers(plant.site, plant.maps, model) as servers:
        live = plant.with_site(plant.site.with_ports(servers.ports))
        async with DriverPool(live.site, live.maps, clock) as pool:
            yield Rig(live, model, servers, pool, ControlCycle(live, pool, clock), clock)
