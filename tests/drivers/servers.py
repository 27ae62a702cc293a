"""Minimal real servers for the driver tests, laid out from the point maps.

`ModbusTestServer` is a pymodbus server (SimData/SimDevice datastore, one SimDevice per unit
id, separate holding/input/coil/discrete spaces) that counts the requests it receives and can
make one unit id go silent (no answer at all, so the client times out) or answer with a
gateway exception. `OpcUaTestServer` is an asyncua server with one variable per point.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from asyncua import ua
from asyncua.server.server import Server
from asyncua.ua.uatypes import Int16, String
from pymodbus.exceptions import NoSuchIdException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from drivers.codec import encode_registers
from drivers.modbus_blocks import width_of
from drivers.opcua import VARIANT_TYPES
from drivers.pointmap import ModbusTable, PointMap

logging.getLogger("asyncua").setLevel(logging.WARNING)

_TABLE_FC = {
    ModbusTable.COIL: 1,
    ModbusTable.DISCRETE: 2,
    ModbusTable.HOLDING: 3,
    ModbusTable.INPUT: 4,
}


def _register_space(point_map: PointMap, table: ModbusTable) -> list[SimData]:
    """Every address from the table's first to its last point, so reads may span the gaps."""
    points = [p for p in point_map.points if p.table is table and p.address is not None]
    if not points:
        return [SimData(address=9000, count=1, values=0, datatype=SimType.REGISTERS)]
    start = min(p.address for p in points if p.address is not None)
    end = max((p.address or 0) + width_of(p) for p in points)
    return [SimData(address=start, count=end - start, values=0, datatype=SimType.REGISTERS)]


def _bit_space(point_map: PointMap, table: ModbusTable) -> list[SimData]:
    points = [p for p in point_map.points if p.table is table and p.address is not None]
    end = max(((p.address or 0) + 1 for p in points), default=16)
    return [SimData(address=0, values=[False] * end, datatype=SimType.BITS)]


class _SilenceableContext:
    """Wraps the server's datastore: muted unit ids get no answer (the client times out);
    failing unit ids get an exception response (DEVICE_FAILURE), as from a gateway."""

    def __init__(self, inner: Any, muted: set[int], failing: set[int]) -> None:
        self._inner = inner
        self._muted = muted
        self._failing = failing

    def _check(self, device_id: int) -> None:
        if device_id in self._muted:
            raise NoSuchIdException(f"unit {device_id} muted by the test")
        if device_id in self._failing:
            raise RuntimeError(f"unit {device_id} failing by the test")

    def device_ids(self) -> list[int]:
        ids: list[int] = self._inner.device_ids()
        return ids

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Any:
        self._check(device_id)
        return await self._inner.async_getValues(device_id, func_code, address, count)

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: Any
    ) -> Any:
        self._check(device_id)
        return await self._inner.async_setValues(device_id, func_code, address, values)


class ModbusTestServer:
    """A pymodbus TCP server on 127.0.0.1 with one SimDevice per unit id."""

    def __init__(self, units: Mapping[int, PointMap]) -> None:
        self.units = dict(units)
        self.requests: list[tuple[int, int, int]] = []  # (unit id, function code, address)
        self.muted: set[int] = set()
        self.failing: set[int] = set()
        self.port = 0
        self._server: ModbusTcpServer | None = None

    async def start(self, port: int = 0) -> ModbusTcpServer:
        devices = [
            SimDevice(
                id=unit_id,
                simdata=(
                    _bit_space(point_map, ModbusTable.COIL),
                    _bit_space(point_map, ModbusTable.DISCRETE),
                    _register_space(point_map, ModbusTable.HOLDING),
                    _register_space(point_map, ModbusTable.INPUT),
                ),
            )
            for unit_id, point_map in self.units.items()
        ]
        server = ModbusTcpServer(
            devices,
            address=("127.0.0.1", port),
            ignore_missing_devices=True,
            trace_pdu=self._trace,
        )
        server.context = _SilenceableContext(server.context, self.muted, self.failing)  # type: ignore[assignment]
        await server.serve_forever(background=True)
        listener = server.transport
        assert isinstance(listener, asyncio.Server)
        self.port = listener.sockets[0].getsockname()[1]
        self._server = server
        return server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
            await asyncio.sleep(0)

    def _trace(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            self.requests.append((pdu.dev_id, pdu.function_code, getattr(pdu, "address", -1)))
        return pdu

    @property
    def server(self) -> ModbusTcpServer:
        assert self._server is not None
        return self._server

    def requests_for(self, unit_id: int) -> int:
        return sum(1 for unit, _, _ in self.requests if unit == unit_id)

    async def set_registers(
        self, unit_id: int, table: ModbusTable, address: int, values: list[int]
    ) -> None:
        await self.server.context.async_setValues(unit_id, _TABLE_FC[table], address, values)

    async def set_value(self, unit_id: int, name: str, value: float) -> None:
        """Put an engineering value into the unit's registers, encoded as its map says."""
        point_map = self.units[unit_id]
        point = point_map.point(name)
        assert point.table is not None and point.address is not None
        if point.table in (ModbusTable.COIL, ModbusTable.DISCRETE):
            values: list[int] | list[bool] = [bool(value)]
        else:
            values = encode_registers(point, value, point_map.word_order_of(point))
        await self.server.context.async_setValues(
            unit_id, _TABLE_FC[point.table], point.address, values
        )

    async def registers(
        self, unit_id: int, table: ModbusTable, address: int, count: int
    ) -> list[int]:
        values = await self.server.context.async_getValues(
            unit_id, _TABLE_FC[table], address, count
        )
        assert isinstance(values, list), values
        return [int(v) for v in values]


class OpcUaTestServer:
    """An asyncua server exposing one writable variable per point of each (prefix, map)."""

    def __init__(self, devices: Mapping[str, PointMap]) -> None:
        self.devices = dict(devices)
        self.port = 0
        self.server: Server | None = None
        self.variables: dict[str, Any] = {}  # "Prefix.Identifier" -> Node

    async def start(self, port: int = 0) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/hpctl/")
        namespaces: dict[str, int] = {}
        objects = server.nodes.objects
        for prefix, point_map in self.devices.items():
            uri = point_map.opcua.namespace_uri if point_map.opcua else "urn:hpctl:plant"
            if uri not in namespaces:
                namespaces[uri] = await server.register_namespace(uri)
            index = namespaces[uri]
            folder = await objects.add_folder(ua.NodeId(String(prefix), Int16(index)), prefix)
            for point in point_map.points:
                identifier = (point.node_id or "").replace("{device}", prefix)
                variant_type = VARIANT_TYPES[point.data_type]
                initial: Any = False if variant_type is ua.VariantType.Boolean else 0
                if variant_type in (ua.VariantType.Float, ua.VariantType.Double):
                    initial = 0.0
                variable = await folder.add_variable(
                    ua.NodeId(String(identifier), Int16(index)),
                    identifier,
                    ua.Variant(initial, variant_type),
                )
                await variable.set_writable()
                self.variables[identifier] = variable
        await server.start()
        assert server.bserver is not None
        self.port = server.bserver.port
        self.server = server

    async def set_value(self, identifier: str, value: Any) -> None:
        variable = self.variables[identifier]
        variant_type = await variable.read_data_type_as_variant_type()
        await variable.write_value(ua.Variant(value, variant_type))

    async def get_value(self, identifier: str) -> Any:
        return await self.variables[identifier].read_value()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
