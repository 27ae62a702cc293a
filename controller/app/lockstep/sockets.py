"""The plant's I/O over real sockets: its Modbus TCP and OPC UA servers and the driver pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from controller.config import Plant
from drivers.clock import SimClock
from drivers.pool import DriverPool
from sim_plant.physics import PlantModel
from sim_plant.servers import PlantServers


@dataclass
class SocketIO:
    """`PlantIO` over loopback: the servers publish the model, the drivers poll them."""

    plant: Plant  # as the controller sees it: connections on the servers' ports
    servers: PlantServers
    pool: DriverPool

    async def publish(self) -> None:
        await self.servers.sync()

    async def refresh(self) -> None:
        await self.pool.poll_all()


@asynccontextmanager
async def socket_io(plant: Plant, model: PlantModel, clock: SimClock) -> AsyncIterator[SocketIO]:
    """Serve `model` on free loopback ports and connect the drivers to them."""
    async with PlantServers(plant.site, plant.maps, model) as servers:
        live = plant.with_site(plant.site.with_ports(servers.ports))
        async with DriverPool(live.site, live.maps, clock) as pool:
            yield SocketIO(live, servers, pool)
