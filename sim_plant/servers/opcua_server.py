"""An OPC UA server for the simulated plant: one endpoint per connection, one object per device.

Node ids are the map's string identifiers with "{device}" replaced by the binding's prefix, in
the map's namespace; variables are typed per data type (float64 -> Double, ...). Variables are
read-only for clients unless the point is writable; accepted client writes reach `model.command`
in the write request itself (a PostWrite hook), after a PreWrite check refuses values outside
the point's range (BadOutOfRange) and writes to a device whose comm is dropped
(BadCommunicationError); such a refusal fails the whole write request, as a service fault. While a device's comm is dropped its variables carry
BadCommunicationError instead of values. The server is open (no security): it stands in for
plant equipment on loopback in tests and demos.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlparse

from asyncua import ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError

from drivers.pointmap import DataType, Point, PointMap
from drivers.site import DeviceBinding
from sim_plant.servers.codec import from_raw, to_raw
from sim_plant.servers.model_api import ServedModel

_VARIANT_TYPES: dict[DataType, ua.VariantType] = {
    DataType.BOOL: ua.VariantType.Boolean,
    DataType.INT16: ua.VariantType.Int16,
    DataType.UINT16: ua.VariantType.UInt16,
    DataType.INT32: ua.VariantType.Int32,
    DataType.UINT32: ua.VariantType.UInt32,
    DataType.FLOAT32: ua.VariantType.Float,
    DataType.FLOAT64: ua.VariantType.Double,
}
_COMM_DROPPED = ua.StatusCode(ua.UInt32(StatusCodes.BadCommunicationError))

if logging.getLogger("asyncua").getEffectiveLevel() < logging.WARNING:
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # Server.init() logs ~1,000 INFO lines


@dataclass(slots=True)
class _ServedVariable:
    device: str
    point: Point
    node_id: ua.NodeId
    variant_type: ua.VariantType
    last_value: float = 0.0
    dirty: bool = True  # write at the next sync whatever the value

    def data_value(self, value: float, stamp: datetime | None) -> ua.DataValue:
        variant = ua.Variant(to_raw(self.point, value), self.variant_type)
        return ua.DataValue(
            variant, SourceTimestamp=_ua_time(stamp), ServerTimestamp=_ua_time(stamp)
        )


@dataclass(slots=True)
class _ServedDevice:
    name: str
    variables: list[_ServedVariable]
    dropped: bool = False


class OpcUaPlantServer:
    """One OPC UA server (one connection of the site) serving several device objects."""

    def __init__(
        self,
        connection_name: str,
        devices: Sequence[tuple[DeviceBinding, PointMap]],
        model: ServedModel,
        host: str = "127.0.0.1",
        port: int = 0,
        endpoint_path: str = "/hpctl/",
    ) -> None:
        self.connection_name = connection_name
        self._bindings = list(devices)
        self._model = model
        self._host = host
        self._endpoint_path = endpoint_path
        self.port = port
        self._server: Server | None = None
        self._devices: list[_ServedDevice] = []
        self._by_node: dict[ua.NodeId, _ServedVariable] = {}

    @property
    def endpoint(self) -> str:
        """The URL clients connect to (with the actual port once started)."""
        return f"opc.tcp://{self._host}:{self.port}{self._endpoint_path}"

    async def start(self) -> None:
        """Build the address space from the maps, fill it from the model, start listening."""
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        # its clock task writes wall time every second and makes stop() wait for that second
        server.disable_clock(True)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_identity_tokens([ua.AnonymousIdentityToken])
        server.allow_remote_admin(False)  # nobody bypasses the access levels by name
        server.set_server_name(f"hpctl simulated plant ({self.connection_name})")
        for binding, point_map in self._bindings:
            self._devices.append(await self._add_device(server, binding, point_map))
        server.subscribe_server_callback(CallbackType.PreWrite, self._check_writes)
        server.subscribe_server_callback(CallbackType.PostWrite, self._forward_writes)
        self._server = server
        await server.start()
        if self.port == 0 and server.bserver is not None:
            self.port = server.bserver.port
            self._advertise_actual_port(server)

    async def _add_device(
        self, server: Server, binding: DeviceBinding, point_map: PointMap
    ) -> _ServedDevice:
        namespace_uri = point_map.opcua.namespace_uri if point_map.opcua else "urn:hpctl:plant"
        namespace = await server.register_namespace(namespace_uri)
        prefix = binding.prefix
        device_node = await server.nodes.objects.add_object(
            _node_id(prefix, namespace), ua.QualifiedName(prefix, namespace)
        )
        variables: list[_ServedVariable] = []
        for point in point_map.points:
            identifier = cast(str, point.node_id).replace("{device}", prefix)
            served = _ServedVariable(
                binding.name,
                point,
                _node_id(identifier, namespace),
                _VARIANT_TYPES[point.data_type],
            )
            value = self._model.value(binding.name, point.role, point.index)
            served.last_value = value
            served.dirty = False
            node = await device_node.add_variable(
                served.node_id,
                ua.QualifiedName(point.name, namespace),
                ua.Variant(to_raw(point, value), served.variant_type),
                varianttype=served.variant_type,
            )
            if point.writable:
                await node.set_writable()
            self._by_node[served.node_id] = served
            variables.append(served)
        return _ServedDevice(binding.name, variables)

    def _advertise_actual_port(self, server: Server) -> None:
        """Endpoints were described before the bind picked a port: put the real one in them."""
        server.endpoint = urlparse(self.endpoint)
        for description in server.iserver.endpoints:
            description.EndpointUrl = self.endpoint
            description.Server.DiscoveryUrls = [self.endpoint]

    async def stop(self) -> None:
        """Close client connections and stop listening."""
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def sync(self, stamp: datetime | None = None) -> None:
        """Write the model's changed values (Bad status while a device's comm is dropped)."""
        server = self._server
        if server is None:
            raise RuntimeError(f"OPC UA server '{self.connection_name}' is not started")
        write = server.write_attribute_value
        value_of = self._model.value
        is_dropped = self._model.faults.is_comm_dropped
        for device in self._devices:
            if is_dropped(device.name):
                if not device.dropped:
                    device.dropped = True
                    bad = ua.DataValue(StatusCode=_COMM_DROPPED, SourceTimestamp=_ua_time(stamp))
                    for variable in device.variables:
                        await write(variable.node_id, bad)
                continue
            refresh_all = device.dropped
            device.dropped = False
            for variable in device.variables:
                point = variable.point
                value = value_of(device.name, point.role, point.index)
                last = variable.last_value
                if value != last or variable.dirty or refresh_all:
                    if value != value and last != last and not (variable.dirty or refresh_all):
                        continue  # NaN before and after: unchanged
                    variable.last_value = value
                    variable.dirty = False
                    await write(variable.node_id, variable.data_value(value, stamp))

    def _check_writes(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        """Refuse a client write the device would refuse, before anything is stored."""
        if not event.is_external:
            return
        for write in cast(ua.WriteParameters, event.request_params).NodesToWrite:
            served = self._by_node.get(write.NodeId)
            if served is None or write.AttributeId != AttributeIds.Value:
                continue
            if self._model.faults.is_comm_dropped(served.device):
                raise _refusal(StatusCodes.BadCommunicationError)
            if not served.point.writable:
                continue  # the access level refuses it, item by item
            value = _engineering_value(served.point, write.Value)
            if value is None:
                continue  # not a number: asyncua refuses the type, item by item
            low, high = cast(float, served.point.min), cast(float, served.point.max)
            if not low <= value <= high:
                raise _refusal(StatusCodes.BadOutOfRange)

    def _forward_writes(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        """Hand each accepted client write of a writable point to the model."""
        if not event.is_external:
            return
        params = cast(ua.WriteParameters, event.request_params)
        results = cast(list[ua.StatusCode], event.response_params)
        for write, status in zip(params.NodesToWrite, results, strict=True):
            served = self._by_node.get(write.NodeId)
            if served is None or not served.point.writable or not status.is_good():
                continue
            value = _engineering_value(served.point, write.Value)
            if value is not None:
                served.dirty = True  # the next sync shows what the model made of it
                self._model.command(served.device, served.point.role, value)


def _engineering_value(point: Point, data_value: ua.DataValue | None) -> float | None:
    variant = data_value.Value if data_value is not None else None
    raw = variant.Value if variant is not None else None
    if isinstance(raw, bool | int | float):
        return from_raw(point, float(raw))
    return None


def _node_id(identifier: str, namespace: int) -> ua.NodeId:
    return ua.NodeId(ua.String(identifier), ua.Int16(namespace))


def _ua_time(stamp: datetime | None) -> ua.DateTime | None:
    # asyncua encodes any aware datetime; its DateTime type is only a static marker
    return cast(ua.DateTime | None, stamp)


def _refusal(status_code: int) -> UaStatusCodeError:
    """The error that makes asyncua answer the write request with this status."""
    return UaStatusCodeError(status_code)  # type: ignore[no-untyped-call]
