"""A Modbus TCP server for the simulated plant: one port per connection, one unit id per device.

Registers are laid out exactly as each device's point map says (table, protocol address, type,
word order, scale) on pymodbus's `SimDevice` datastore, with separate coil, discrete, holding and
input tables. Each device keeps its own image of every table; `sync()` encodes the model's values
into the images (only points whose value changed), and the device's access hook copies the image
into the datastore on each request, so a client always reads the state of the last sync.

Points that are bit fields of one status register share that register: each sync sets only
its own bits. Like a real PLC the device refuses what its map does not allow: a write that touches a register
that is not a declared writable point is answered with ILLEGAL_ADDRESS, a value outside the
point's range with ILLEGAL_VALUE. Accepted writes reach `model.command` inside the request, before
the reply is sent. Holes between points in a table read as zero (drivers read across small gaps).
A device whose comm is dropped does not answer at all, while the other unit ids on the same port
keep answering; an unknown unit id gets exception 0x0A (gateway path unavailable).
"""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException, NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice
from pymodbus.transaction import TransactionManager

from drivers.pointmap import ModbusTable, Point, PointMap
from drivers.site import DeviceBinding
from sim_plant.servers.codec import decode_registers, encode_registers
from sim_plant.servers.model_api import ServedModel

logger = logging.getLogger(__name__)

_TABLE_OF_FUNCTION: dict[int, ModbusTable] = {
    1: ModbusTable.COIL,
    5: ModbusTable.COIL,
    15: ModbusTable.COIL,
    2: ModbusTable.DISCRETE,
    3: ModbusTable.HOLDING,
    6: ModbusTable.HOLDING,
    16: ModbusTable.HOLDING,
    22: ModbusTable.HOLDING,
    23: ModbusTable.HOLDING,
    4: ModbusTable.INPUT,
}
_TABLE_ORDER = (ModbusTable.COIL, ModbusTable.DISCRETE, ModbusTable.HOLDING, ModbusTable.INPUT)
_BIT_TABLES = (ModbusTable.COIL, ModbusTable.DISCRETE)


@dataclass(slots=True)
class _ServedPoint:
    """One point's place in its table image, and the value last encoded there."""

    device: str
    point: Point
    word_order: Literal["big", "little"]
    words: list[int]  # the table image this point lives in
    start: int  # register index in `words`; for bit tables the bit index
    width: int
    last_value: float = 0.0
    dirty: bool = True  # encode at the next sync whatever the value

    def store(self, value: float) -> None:
        if self.point.table in _BIT_TABLES:
            word, bit = divmod(self.start, 16)
            if value >= 0.5:
                self.words[word] |= 1 << bit
            else:
                self.words[word] &= ~(1 << bit)
        else:
            span = slice(self.start, self.start + self.width)
            self.words[span] = encode_registers(
                self.point, value, self.word_order, self.words[span]
            )


@dataclass(slots=True)
class _Table:
    """A table's image: registers (bit tables: packed 16 bits per register, bit 0 first)."""

    first_address: int  # first declared protocol address (bit tables: first declared bit)
    last_address: int  # last declared protocol address (bit tables: last declared bit)
    words: list[int]
    writable: dict[int, _ServedPoint] = field(default_factory=dict)  # address -> owner


class ModbusDevice:
    """One unit id: its table images, its datastore layout, and its access hook."""

    def __init__(self, binding: DeviceBinding, point_map: PointMap, model: ServedModel) -> None:
        self.name = binding.name
        self.device_id = binding.device_id
        self._model = model
        self.points: list[_ServedPoint] = []
        self._tables: dict[ModbusTable, _Table] = {}
        self._layout: dict[ModbusTable, list[SimData]] = {}
        for table in _TABLE_ORDER:
            members = sorted(
                (p for p in point_map.points if p.table is table),
                key=lambda p: cast(int, p.address),
            )
            self._layout[table] = self._build_table(table, members, point_map)

    def _build_table(
        self, table: ModbusTable, members: list[Point], pmap: PointMap
    ) -> list[SimData]:
        if not members:
            # pymodbus needs a block per table; this one is never served (the hook refuses it)
            if table in _BIT_TABLES:
                return [SimData(address=0, values=[False], datatype=SimType.BITS)]
            return [SimData(address=0, count=1, datatype=SimType.INVALID)]
        bits = table in _BIT_TABLES
        first = cast(int, members[0].address)
        first_aligned = first - first % 16 if bits else first
        widths = [1 if bits else p.data_type.register_count for p in members]
        end = max(cast(int, p.address) + w for p, w in zip(members, widths, strict=True))
        word_count = -(-(end - first_aligned) // 16) if bits else end - first_aligned
        image = _Table(first, end - 1, [0] * word_count)
        self._tables[table] = image
        layout: list[SimData] = []
        cursor = first
        for point, width in zip(members, widths, strict=True):
            address = cast(int, point.address)
            served = _ServedPoint(
                self.name,
                point,
                pmap.word_order_of(point),
                image.words,
                address - first_aligned,
                width,
            )
            self.points.append(served)
            if point.writable:
                for covered in range(address, address + width):
                    image.writable[covered] = served
            if bits or address < cursor:
                continue  # bit tables are one block; bit fields share their register's block
            if address > cursor:
                layout.append(_hole(cursor, address - cursor))
            layout.append(
                SimData(
                    address=address,
                    values=[0] * width,
                    datatype=SimType.REGISTERS,
                    readonly=not point.writable,
                )
            )
            cursor = address + width
        if bits:
            layout.append(
                SimData(address=first, values=[False] * (end - first), datatype=SimType.BITS)
            )
        return layout

    def sim_device(self) -> SimDevice:
        """The pymodbus device: separate tables, bit addressing, this device's access hook."""
        coils, discretes, holding, inputs = (self._layout[table] for table in _TABLE_ORDER)
        simdata = (coils, discretes, holding, inputs)
        return SimDevice(id=self.device_id, simdata=simdata, action=self._on_access)

    async def _on_access(
        self,
        function_code: int,
        _block_start: int,
        address: int,
        _count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        table = _TABLE_OF_FUNCTION.get(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        image = self._tables.get(table)
        if image is None:
            return ExcCodes.ILLEGAL_ADDRESS
        if table in _BIT_TABLES and not image.first_address <= address <= image.last_address:
            return ExcCodes.ILLEGAL_ADDRESS
        if values is not None:
            refusal = self._apply_write(table, image, address, values)
            if refusal is not None:
                return refusal
        registers[: len(image.words)] = image.words
        return None

    def _apply_write(
        self, table: ModbusTable, image: _Table, address: int, values: Sequence[int]
    ) -> ExcCodes | None:
        """Check a whole write against the map first, then forward it: all of it or nothing."""
        owners: dict[str, _ServedPoint] = {}
        for position in range(len(values)):
            owner = image.writable.get(address + position)
            if owner is None:
                return ExcCodes.ILLEGAL_ADDRESS
            owners[owner.point.name] = owner
        accepted: list[tuple[_ServedPoint, float]] = []
        for owner in owners.values():
            first = cast(int, owner.point.address) - address
            if first < 0 or first + owner.width > len(values):
                return ExcCodes.ILLEGAL_ADDRESS  # half of a multi-register value
            if table in _BIT_TABLES:
                value = 1.0 if values[first] else 0.0
            else:
                words = values[first : first + owner.width]
                value = decode_registers(owner.point, words, owner.word_order)
            low, high = cast(float, owner.point.min), cast(float, owner.point.max)
            if not low <= value <= high:
                return ExcCodes.ILLEGAL_VALUE
            accepted.append((owner, value))
        for owner, value in accepted:
            owner.store(value)
            owner.dirty = True  # the next sync shows what the model made of it
            self._model.command(self.name, owner.point.role, value)
        return None


def _hole(address: int, count: int) -> SimData:
    """Registers between points: readable as zero, never writable."""
    return SimData(
        address=address, count=count, values=0, datatype=SimType.REGISTERS, readonly=True
    )


class _CommDropGate:
    """Wraps the server's datastore: a device whose comm is dropped gets no reply at all.

    Checked before pymodbus looks at the request, so even a request the device would refuse
    goes unanswered; pymodbus drops the reply on NoSuchIdException with ignore_missing_devices.
    """

    def __init__(self, inner: Any, is_dropped: Callable[[int], bool]) -> None:
        self._inner = inner
        self._is_dropped = is_dropped

    def _check(self, device_id: int) -> None:
        if self._is_dropped(device_id):
            raise NoSuchIdException(f"device id {device_id}: comm dropped")

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Any:
        self._check(device_id)
        return await self._inner.async_getValues(device_id, func_code, address, count)

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> Any:
        self._check(device_id)
        return await self._inner.async_setValues(device_id, func_code, address, values)

    def device_ids(self) -> list[int]:
        return list(self._inner.device_ids())


class _PromptRequestHandler(ServerRequestHandler):
    """Answers each request in the loop pass that received it.

    pymodbus schedules the answer for a later pass (`call_soon(handle_later)`), then hands it to
    `run_coroutine_threadsafe`, which wakes the loop through its self-pipe: two more loop passes
    and a task per request, while this server and its clients share one loop. Here the request
    is answered at once: the handler coroutine is driven by hand and, the simulator's datastore
    never waiting, finishes in that one step; should it wait after all, a task finishes it.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)  # type: ignore[no-untyped-call]
        self._answering: set[asyncio.Task[None]] = set()

    def callback_data(self, data: bytes, addr: tuple[str, int] | None = None) -> int:
        try:
            used = TransactionManager.callback_data(self, data, addr)
        except ModbusIOException:
            # a frame pymodbus cannot take: its own handler parses it again and answers it
            return int(super().callback_data(data, addr))
        if self.last_pdu:
            self._answer_now()
        return int(used)

    def handle_later(self) -> None:
        self._answer_now()

    def _answer_now(self) -> None:
        request = self.handle_request()  # type: ignore[no-untyped-call]
        try:
            awaited = request.send(None)
        except StopIteration:
            return
        except Exception:  # as a task's failure would be: logged, the connection stays
            logger.exception("Modbus server: answering a request failed")
            return
        task = self.loop.create_task(_go_on(request, awaited))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, None], awaited: Any) -> Generator[Any, Any, None]:
    """Go on with a coroutine that was started by hand and is waiting for `awaited`: the task
    running this waits for it instead, and hands back what it sends or throws."""
    while True:
        try:
            sent = yield awaited
        except BaseException as exc:
            try:
                awaited = coroutine.throw(exc)
            except StopIteration:
                return
        else:
            try:
                awaited = coroutine.send(sent)
            except StopIteration:
                return


async def _go_on(coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
    await _resume(coroutine, awaited)


class _PromptModbusTcpServer(ModbusTcpServer):
    def callback_new_connection(self) -> ServerRequestHandler:
        return _PromptRequestHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)


async def _unknown_unit(*_args: object) -> ExcCodes:
    return ExcCodes.GATEWAY_PATH_UNAVIABLE


class ModbusPlantServer:
    """One Modbus TCP server (one connection of the site) serving several unit ids."""

    def __init__(
        self,
        connection_name: str,
        devices: Sequence[tuple[DeviceBinding, PointMap]],
        model: ServedModel,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.connection_name = connection_name
        self._host = host
        self._requested_port = port
        self._model = model
        self.devices = [ModbusDevice(binding, pmap, model) for binding, pmap in devices]
        ids = [device.device_id for device in self.devices]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(
                f"connection '{connection_name}': device id(s) {duplicates} used more than once"
            )
        self._names = {device.device_id: device.name for device in self.devices}
        self._points = [point for device in self.devices for point in device.points]
        self._server: ModbusTcpServer | None = None
        self.port = port

    async def start(self) -> None:
        """Fill the images from the model and start listening (port 0: a free port)."""
        self.sync()
        sim_devices = [device.sim_device() for device in self.devices]
        if 0 not in {device.device_id for device in self.devices}:
            # id 0 answers every unit id nobody else serves; it spans the whole address range
            catch_all = SimData(address=0, count=65536, values=0, datatype=SimType.REGISTERS)
            sim_devices.append(SimDevice(id=0, simdata=catch_all, action=_unknown_unit))
        server = _PromptModbusTcpServer(
            sim_devices, address=(self._host, self._requested_port), ignore_missing_devices=True
        )
        server.context = cast(Any, _CommDropGate(server.context, self._is_dropped))
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:  # pymodbus's own message does not say where
            raise OSError(
                f"Modbus connection '{self.connection_name}': cannot listen on "
                f"{self._host}:{self._requested_port} (port in use?)"
            ) from exc
        self._server = server
        listener = cast(asyncio.Server, server.transport)
        self.port = int(listener.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every client connection."""
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def _is_dropped(self, device_id: int) -> bool:
        name = self._names.get(device_id)
        return name is not None and self._model.faults.is_comm_dropped(name)

    def sync(self) -> None:
        """Encode the model's current values into the images (only values that changed)."""
        value = self._model.value
        for served in self._points:
            current = value(served.device, served.point.role, served.point.index)
            last = served.last_value
            if current != last or served.dirty:
                if current != current and last != last and not served.dirty:
                    continue  # NaN before and after: unchanged
                served.last_value = current
                served.dirty = False
                served.store(current)
