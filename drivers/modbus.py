"""Modbus TCP: one pymodbus client per connection, shared by the devices behind it.

A Modbus TCP connection serves one request at a time, so every request on a connection goes
through its lock. Each device reads its merged blocks (see `modbus_blocks`) and is backed off
on its own when it fails, so a silent unit behind a gateway costs the others on the same
connection one timeout per back-off period, not one per cycle. Reconnecting is done here, on
the Clock, not by pymodbus's own timer (its reconnect delay is set to 0).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from drivers.cache import PointCache
from drivers.clock import Clock
from drivers.codec import (
    Decoded,
    block_decoder,
    check_write,
    decode_bit,
    encode_bit,
    encode_registers,
)
from drivers.errors import BackedOff, DriverError, PermanentError, RetryableIOError
from drivers.health import Backoff, DeviceHealth, DeviceStatus
from drivers.modbus_blocks import BIT_TABLES, ReadBlock, WriteBlock, plan_reads, plan_writes
from drivers.pointmap import ModbusTable, Point, PointMap
from drivers.site import Connection, DeviceBinding

logger = logging.getLogger(__name__)

# Exception codes that say "not now" rather than "never": the device or its gateway is busy or
# silent. ILLEGAL_ADDRESS and friends mean the map does not match the device.
_RETRYABLE_CODES = {
    ExcCodes.DEVICE_FAILURE,
    ExcCodes.ACKNOWLEDGE,
    ExcCodes.DEVICE_BUSY,
    ExcCodes.GATEWAY_PATH_UNAVIABLE,
    ExcCodes.GATEWAY_NO_RESPONSE,
}

Request = Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]


@dataclass(frozen=True, slots=True)
class _PlannedRead:
    """One read request of a device, prepared once: the call, its description, its decoder."""

    block: ReadBlock
    call: Request
    what: str
    decode: Callable[[Sequence[int]], Decoded] | None  # None for a bit table


class ModbusConnection:
    """One TCP connection (one pymodbus client) and the lock that serialises its requests."""

    def __init__(self, name: str, connection: Connection, clock: Clock) -> None:
        self.name = name
        self.config = connection
        self._clock = clock
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._connect_backoff = Backoff(clock)
        self._was_connected = False
        self.requests_total = 0
        self.devices: list[ModbusDevice] = []

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def open(self) -> bool:
        """Try to connect; failing is not fatal (devices go BAD and retry with back-off)."""
        async with self._lock:
            try:
                await self._ensure_connected()
            except RetryableIOError:
                return False
            return True

    async def close(self) -> None:
        async with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def attach(
        self, binding: DeviceBinding, point_map: PointMap, cache: PointCache
    ) -> ModbusDevice:
        """A device (unit id) behind this connection."""
        return ModbusDevice(binding, point_map, self, cache, self._clock)

    async def poll_devices(self) -> dict[str, bool]:
        """Every device's poll, one after another in attach order.

        The connection serves one request at a time anyway: polling the devices in turn gives
        the same requests in the same order as polling them side by side, without a task per
        device and a lock hand-over (one more loop pass) between any two of them."""
        return {device.name: await device.poll() for device in self.devices}

    async def request(self, call: Request, what: str) -> ModbusPDU:
        """Send one request under the connection lock; errors come back classified."""
        async with self._lock:
            client = await self._ensure_connected()
            self.requests_total += 1
            try:
                response = await call(client)
            except (ConnectionException, ModbusIOException, TimeoutError, OSError) as exc:
                raise RetryableIOError(f"{what}: {exc}") from exc
            except ModbusException as exc:
                raise PermanentError(f"{what}: {exc}") from exc
        if response.isError():
            code = getattr(response, "exception_code", 0)
            name = ExcCodes(code).name if code in ExcCodes._value2member_map_ else str(code)
            error_type = RetryableIOError if code in _RETRYABLE_CODES else PermanentError
            raise error_type(f"{what}: device answered exception {name}")
        return response

    async def _ensure_connected(self) -> AsyncModbusTcpClient:
        if self._client is None:
            self._client = AsyncModbusTcpClient(
                self.config.host,
                port=self.config.port,
                name=self.name,
                timeout=self.config.timeout_s,
                retries=self.config.retries,
                reconnect_delay=0,  # reconnects are ours, on the Clock
            )
        client = self._client
        if client.connected:
            return client
        where = f"connection '{self.name}' ({self.config.host}:{self.config.port})"
        if not self._connect_backoff.ready():
            raise BackedOff(f"{where} is down; next connect attempt is backed off")
        if await client.connect():
            self._connect_backoff.succeeded()
            if not self._was_connected:
                logger.info("%s connected", where)
            self._was_connected = True
            return client
        self._connect_backoff.failed()
        if self._was_connected or self._connect_backoff.failures == 1:
            logger.warning("%s: cannot connect; retrying with back-off", where)
        self._was_connected = False
        raise RetryableIOError(f"{where}: cannot connect")


class ModbusDevice:
    """One Modbus device (a unit id) behind a connection: merged reads, validated writes."""

    protocol = "modbus"

    def __init__(
        self,
        binding: DeviceBinding,
        point_map: PointMap,
        connection: ModbusConnection,
        cache: PointCache,
        clock: Clock,
    ) -> None:
        self.name = binding.name
        self.binding = binding
        self.point_map = point_map
        self.connection = connection
        self._clock = clock
        self.read_blocks = plan_reads(point_map)
        self._reads = [self._plan(block) for block in self.read_blocks]
        self.status = DeviceStatus(self.name, self.protocol, clock, logger, cache)
        connection.devices.append(self)

    def _plan(self, block: ReadBlock) -> _PlannedRead:
        decode = None
        if block.table not in BIT_TABLES:
            members = [
                (m.point, m.offset, self.point_map.word_order_of(m.point)) for m in block.points
            ]
            decode = block_decoder(block.count, members)
        return _PlannedRead(
            block,
            _read_call(block, self.binding.device_id),
            self._describe(block, "read"),
            decode,
        )

    @property
    def poll_interval_s(self) -> float:
        return self.binding.poll_interval_s

    def health(self) -> DeviceHealth:
        return self.status.health(self.connection.connected)

    async def poll(self) -> bool:
        """Read every block into the cache. False if backed off or failed (points then BAD)."""
        if not self.status.ready():
            return False
        results: list[tuple[Decoded, float]] = []
        try:
            for read in self._reads:
                self.status.reads_total += 1
                response = await self.connection.request(read.call, read.what)
                results.append((self._decode(read, response), self._clock.monotonic_s()))
        except DriverError as exc:
            self.status.lost(exc)
            return False
        store = self.status.store
        for decoded, read_at_s in results:
            for name, value in decoded:
                store(name, value, read_at_s, "a code its value_map does not list")
        self.status.success()
        return True

    async def start_live(self, publishing_interval_s: float) -> None:
        """Nothing to prepare: a Modbus device is read on its schedule."""

    async def poll_live(self) -> bool:
        return await self.poll()

    async def stop_live(self) -> None:
        """Nothing to stop."""

    async def write(self, values: Mapping[str, float]) -> None:
        """Write engineering values after validating all of them (WriteRefused otherwise).

        Adjacent registers go out in one FC16 request (FC6 for a single register; coils FC5/15).
        Raises RetryableIOError while the device is backed off or when the request fails.
        """
        points = check_write(self.name, self.point_map, values)
        encoded = [(point, self._encode(point, values[point.name])) for point in points]
        blocks = plan_writes(encoded)
        if not self.status.ready():
            raise RetryableIOError(f"device '{self.name}' is backed off after failures")
        try:
            for block in blocks:
                self.status.writes_total += 1
                await self.connection.request(
                    _write_call(block, self.binding.device_id), self._describe(block, "write")
                )
        except BackedOff:
            raise
        except RetryableIOError as exc:
            self.status.lost(exc)
            raise

    def _encode(self, point: Point, value: float) -> list[int]:
        if point.table is ModbusTable.COIL:
            return [int(encode_bit(point, value))]
        return encode_registers(point, value, self.point_map.word_order_of(point))

    @staticmethod
    def _decode(read: _PlannedRead, response: ModbusPDU) -> Decoded:
        block = read.block
        if read.decode is None:
            bits: list[bool] = list(response.bits)
            if len(bits) < block.count:
                raise PermanentError(f"{read.what}: short answer")
            return [(m.point.name, decode_bit(m.point, bits[m.offset])) for m in block.points]
        registers: Sequence[int] = response.registers
        if len(registers) != block.count:
            raise PermanentError(f"{read.what}: got {len(registers)} registers")
        return read.decode(registers)

    def _describe(self, block: ReadBlock | WriteBlock, verb: str) -> str:
        size = block.count if isinstance(block, ReadBlock) else len(block.values)
        return (
            f"device '{self.name}' (id {self.binding.device_id}) {verb} {block.table.value} "
            f"{block.address}..{block.address + size - 1}"
        )


def _read_call(block: ReadBlock, device_id: int) -> Request:
    def call(client: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
        reader: Callable[..., Awaitable[ModbusPDU]] = {
            ModbusTable.HOLDING: client.read_holding_registers,
            ModbusTable.INPUT: client.read_input_registers,
            ModbusTable.COIL: client.read_coils,
            ModbusTable.DISCRETE: client.read_discrete_inputs,
        }[block.table]
        return reader(block.address, count=block.count, device_id=device_id)

    return call


def _write_call(block: WriteBlock, device_id: int) -> Request:
    def call(client: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
        kwargs: dict[str, Any] = {"device_id": device_id}
        if block.table is ModbusTable.COIL:
            if len(block.values) == 1:
                return client.write_coil(block.address, bool(block.values[0]), **kwargs)
            return client.write_coils(block.address, [bool(v) for v in block.values], **kwargs)
        if len(block.values) == 1:
            return client.write_register(block.address, block.values[0], **kwargs)
        return client.write_registers(block.address, list(block.values), **kwargs)

    return call
