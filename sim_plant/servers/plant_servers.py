"""All of a simulated plant's protocol servers, one per connection of the site, as one unit.

Lockstep harnesses step the physics, then `await servers.sync()`, then let the controller poll.
Writes from clients do not wait for a sync: each is decoded and handed to `model.command` inside
its own request, before the reply goes out, so the model has it before the client moves on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType

from drivers.pointmap import PointMap
from drivers.site import DeviceBinding, SiteConfig
from sim_plant.servers.modbus_server import ModbusPlantServer
from sim_plant.servers.model_api import ServedModel
from sim_plant.servers.opcua_server import OpcUaPlantServer


class PlantServers:
    """Modbus and OPC UA servers for every connection of `site` that has devices.

    `ports` maps connection names to the ports to bind; a connection missing from it, or mapped
    to 0, gets a free port. After entering, `ports` holds the ports actually bound. With `now`
    (e.g. a Clock's `now`, or the model's simulated time), OPC UA values carry its time as their
    source and server timestamps.
    """

    def __init__(
        self,
        site: SiteConfig,
        maps: Mapping[str, PointMap],
        model: ServedModel,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.site = site
        self.host = host
        self._now = now
        requested = dict(ports or {})
        unknown = sorted(set(requested) - set(site.connections))
        if unknown:
            raise ValueError(f"ports given for unknown connection(s): {', '.join(unknown)}")
        by_connection: dict[str, list[tuple[DeviceBinding, PointMap]]] = {}
        for device in site.devices():
            by_connection.setdefault(device.connection, []).append((device, maps[device.name]))
        self._modbus: list[ModbusPlantServer] = []
        self._opcua: list[OpcUaPlantServer] = []
        for name, devices in by_connection.items():
            connection = site.connections[name]
            port = requested.get(name) or 0
            if connection.protocol == "modbus":
                self._modbus.append(ModbusPlantServer(name, devices, model, host, port))
            else:
                self._opcua.append(
                    OpcUaPlantServer(name, devices, model, host, port, connection.endpoint_path)
                )
        self.ports: dict[str, int] = {}

    async def __aenter__(self) -> PlantServers:
        try:
            for modbus in self._modbus:
                await modbus.start()
                self.ports[modbus.connection_name] = modbus.port
            for opcua in self._opcua:
                await opcua.start()
                self.ports[opcua.connection_name] = opcua.port
            await self.sync()  # comm faults already active show from the first request on
        except BaseException:
            await self._stop_all()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stop_all()

    async def _stop_all(self) -> None:
        for opcua in self._opcua:
            await opcua.stop()
        for modbus in self._modbus:
            await modbus.stop()

    def client_site(self) -> SiteConfig:
        """The site as a client must see it: every served connection on its actual port."""
        return self.site.with_ports(self.ports, self.host)

    def endpoints(self) -> dict[str, str]:
        """Per connection, where clients reach it: `host:port` or an opc.tcp:// URL."""
        found = {m.connection_name: f"{self.host}:{m.port}" for m in self._modbus}
        found.update({o.connection_name: o.endpoint for o in self._opcua})
        return found

    async def sync(self) -> None:
        """Show the model's current values on every server (only changed values are written)."""
        for modbus in self._modbus:
            modbus.sync()
        stamp = self._now() if self._now is not None else None
        for opcua in self._opcua:
            await opcua.sync(stamp)
