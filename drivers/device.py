"""What the pool asks of a device and of a connection, whatever the protocol.

`drivers.modbus` and `drivers.opcua` implement these; the pool knows nothing else about them.
A connection creates its own devices (`attach`) and polls them in whatever grouping its
protocol does best: Modbus devices one request at a time, OPC UA devices in one batched Read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from drivers.cache import PointCache
from drivers.health import DeviceHealth
from drivers.pointmap import PointMap
from drivers.site import DeviceBinding


class Device(Protocol):
    """One device instance behind a connection."""

    name: str
    point_map: PointMap

    @property
    def poll_interval_s(self) -> float: ...

    def health(self) -> DeviceHealth: ...

    async def poll(self) -> bool:
        """Read every point into the cache once; False (points BAD) if backed off or failed."""
        ...

    async def write(self, values: Mapping[str, float]) -> None:
        """Validated write of engineering values (WriteRefused, RetryableIOError, PermanentError)."""
        ...

    async def start_live(self, publishing_interval_s: float) -> None:
        """Prepare live operation (an OPC UA device subscribes; a Modbus device has nothing to do)."""
        ...

    async def poll_live(self) -> bool:
        """One live-mode round on the poll schedule: a read, or keeping a subscription alive."""
        ...

    async def stop_live(self) -> None: ...


class ConnectionDriver(Protocol):
    """One connection to a server or gateway, and the devices reached through it."""

    name: str
    requests_total: int

    @property
    def connected(self) -> bool: ...

    async def open(self) -> bool: ...

    async def close(self) -> None: ...

    def attach(self, binding: DeviceBinding, point_map: PointMap, cache: PointCache) -> Device:
        """Create the device for a binding on this connection; it is polled with the others."""
        ...

    async def poll_devices(self) -> dict[str, bool]:
        """Poll every attached device once; device name -> success."""
        ...
