"""All of a site's devices: connections opened together, polled together, one point cache.

`poll_all()` is the lockstep entry point (the simulation harness calls it once per tick);
`run_polling()` is the live one: every Modbus device on its own aligned schedule, OPC UA
devices by subscription. Requests are serialised per connection and concurrent across them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from drivers.cache import PointCache, Snapshot
from drivers.clock import Clock
from drivers.device import ConnectionDriver, Device
from drivers.errors import PermanentError
from drivers.health import DeviceHealth
from drivers.modbus import ModbusConnection
from drivers.opcua import OpcUaConnection
from drivers.pointmap import PointMap
from drivers.site import SiteConfig

logger = logging.getLogger(__name__)


class DriverPool:
    """Opens every connection of a site and owns its devices and point cache.

    A connection that cannot be opened at start is not fatal: its devices read BAD and are
    retried with back-off. Use as `async with DriverPool(site, maps, clock) as pool:`.
    """

    def __init__(self, site: SiteConfig, maps: Mapping[str, PointMap], clock: Clock) -> None:
        self.site = site
        self.clock = clock
        self.cache = PointCache(maps)
        self.connections: dict[str, ConnectionDriver] = {}
        self.devices: dict[str, Device] = {}
        for name, config in site.connections.items():
            if config.protocol == "modbus":
                self.connections[name] = ModbusConnection(name, config, clock)
            else:
                self.connections[name] = OpcUaConnection(name, config, clock, Path(site.base_dir))
        for binding in site.devices():
            if binding.name not in maps:
                raise PermanentError(f"device '{binding.name}' has no point map")
            connection = self.connections[binding.connection]
            self.devices[binding.name] = connection.attach(binding, maps[binding.name], self.cache)

    async def __aenter__(self) -> Self:
        results = await asyncio.gather(*(c.open() for c in self.connections.values()))
        for name, opened in zip(self.connections, results, strict=True):
            if not opened:
                logger.warning("connection '%s' is not reachable at start; will retry", name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for device in self.devices.values():
            await device.stop_live()
        for connection in self.connections.values():
            await connection.close()

    async def poll_all(self) -> dict[str, bool]:
        """Poll every device once (concurrently across connections); device -> success.

        Modbus devices are read one after another on their connection; the OPC UA devices of
        a connection are read together in one batched request."""
        results: dict[str, bool] = {}
        for outcome in await asyncio.gather(
            *(connection.poll_devices() for connection in self.connections.values())
        ):
            results.update(outcome)
        return {name: results[name] for name in self.devices}

    def snapshot(self) -> Snapshot:
        """The frozen process image at the Clock's now."""
        return self.cache.snapshot(self.clock.now(), self.clock.monotonic_s())

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        """Validated write to one device (WriteRefused, RetryableIOError, PermanentError)."""
        if device not in self.devices:
            raise PermanentError(f"no device named '{device}'")
        await self.devices[device].write(values)

    async def run_polling(self, publishing_interval_s: float | None = None) -> None:
        """Poll forever (live mode): one named task per device under one task group.

        Modbus devices are read on their `poll_interval_s`, aligned to multiples of it on the
        Clock; OPC UA devices subscribe (publishing at `publishing_interval_s`, default their
        poll interval) and their subscription is checked on the same schedule.
        """
        async with asyncio.TaskGroup() as group:
            for device in self.devices.values():
                group.create_task(
                    self._poll_forever(device, publishing_interval_s), name=f"poll:{device.name}"
                )

    async def _poll_forever(self, device: Device, publishing_interval_s: float | None) -> None:
        interval_s = device.poll_interval_s
        task = asyncio.current_task()
        await device.start_live(publishing_interval_s or interval_s)
        while True:
            now_s = self.clock.monotonic_s()
            next_s = (math.floor(now_s / interval_s) + 1) * interval_s
            await self.clock.sleep(next_s - now_s)
            await device.poll_live()
            if task is not None and task.cancelling():
                # Python 3.11's asyncio.wait_for (inside pymodbus and asyncua) returns the
                # answer and drops a cancel that lands as the answer arrives; a task group that
                # is already stopping never cancels twice, so without this the poll would run
                # on and the shutdown (the hand-back to local control) would wait forever.
                raise asyncio.CancelledError

    def health(self) -> dict[str, DeviceHealth]:
        return {name: device.health() for name, device in self.devices.items()}

    def request_counts(self) -> dict[str, int]:
        """Requests sent per connection (wire requests, for benchmarks and telemetry)."""
        return {name: c.requests_total for name, c in self.connections.items()}

    @property
    def requests_total(self) -> int:
        return sum(self.request_counts().values())
