"""The simulated plant's OPC UA server, read, written and subscribed to by a real asyncua client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError

from drivers.kinds import Role
from drivers.pointmap import parse_point_map
from drivers.site import DeviceBinding, load_site
from sim_plant.servers import OpcUaPlantServer
from tests.sim_plant.servers_support import RIVER_PLANT, FakeModel, node_id

pytestmark = pytest.mark.asyncio(loop_scope="module")

NAMESPACE = "urn:hpctl:plant"
# An OPC UA device with writable points: a scaled integer and a float setpoint. A chiller is
# a heat pump run for its cold side: the heat-pump kind's roles.
CHILLER_MAP: dict[str, Any] = {
    "device": {"kind": "heat_pump", "protocol": "opcua"},
    "opcua": {"namespace_uri": "urn:example:chillers"},
    "points": [
        {"name": "setpoint_c", "role": Role.SUPPLY_TEMP_SETPOINT_C,
         "node_id": "{device}.SetpointC", "data_type": "float64", "writable": True, "min": 4,
         "max": 12, "safe_default": 7},
        {"name": "stage", "role": Role.HEAT_SETPOINT_KW, "node_id": "{device}.Stage",
         "data_type": "int16", "scale": 0.5, "writable": True, "min": 0, "max": 4,
         "safe_default": 0},
        {"name": "running", "role": Role.REMOTE_ACTIVE, "node_id": "{device}.Running",
         "data_type": "bool"},
        {"name": "watchdog", "role": Role.HEARTBEAT, "node_id": "{device}.Watchdog",
         "data_type": "uint16", "writable": True, "min": 0, "max": 65535, "safe_default": 0},
        {"name": "remote", "role": Role.REMOTE_REQUEST, "node_id": "{device}.Remote",
         "data_type": "bool", "writable": True, "min": 0, "max": 1, "safe_default": 0},
        {"name": "enable", "role": Role.ENABLE_CMD, "node_id": "{device}.Enable",
         "data_type": "bool", "writable": True, "min": 0, "max": 1, "safe_default": 0},
        {"name": "state", "role": Role.STATE_CODE, "node_id": "{device}.State",
         "data_type": "uint16"},
        {"name": "cold_kw", "role": Role.HEAT_KW, "node_id": "{device}.ColdKw",
         "data_type": "float64"},
    ],
}  # fmt: skip
LAYER_TEMPS_C = {index: 40.0 + 5.0 * index for index in range(1, 9)}


@dataclass
class Rig:
    server: OpcUaPlantServer
    model: FakeModel
    client: Client
    plant_ns: int
    chiller_ns: int

    def node(self, identifier: str, namespace: int | None = None) -> Any:
        ns = self.plant_ns if namespace is None else namespace
        return self.client.get_node(node_id(identifier, ns))


def initial_values() -> dict[tuple[str, str, int | None], float]:
    values: dict[tuple[str, str, int | None], float] = {
        ("tank1", "layer_temp_c", index): temp for index, temp in LAYER_TEMPS_C.items()
    }
    values[("plant", "outdoor_temp_c", None)] = -3.5
    values[("chiller", Role.SUPPLY_TEMP_SETPOINT_C, None)] = 7.0
    values[("chiller", Role.HEAT_SETPOINT_KW, None)] = 1.5
    values[("chiller", Role.REMOTE_ACTIVE, None)] = 1.0
    return values


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared() -> AsyncIterator[Rig]:
    site = load_site(RIVER_PLANT)
    maps = site.load_point_maps()
    model = FakeModel(initial_values())
    chiller = DeviceBinding(
        name="chiller", pointmap="chiller.toml", connection="scada", node_prefix="Chiller1"
    )
    devices = [
        (site.device("tank1"), maps["tank1"]),
        (site.device("plant"), maps["plant"]),
        (chiller, parse_point_map(CHILLER_MAP, "chiller.toml")),
    ]
    server = OpcUaPlantServer("scada", devices, model, endpoint_path="/sim/")
    await server.start()
    client = Client(server.endpoint, timeout=2)
    await client.connect()
    plant_ns = await client.get_namespace_index(NAMESPACE)
    chiller_ns = await client.get_namespace_index("urn:example:chillers")
    try:
        yield Rig(server, model, client, plant_ns, chiller_ns)
    finally:
        await client.disconnect()
        await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def rig(shared: Rig) -> AsyncIterator[Rig]:
    """The shared server, with the model back at its initial state for every test."""
    shared.model.values = initial_values()
    shared.model.commands.clear()
    shared.model.faults.dropped.clear()
    await shared.server.sync()
    yield shared


async def test_tank_layers_are_read_by_node_id(rig: Rig) -> None:
    for index, temp_c in LAYER_TEMPS_C.items():
        node = rig.node(f"Tank1.Layer{index}TempC")
        assert await node.read_value() == temp_c
    assert await rig.node("Tank1.Layer3TempC").read_data_type_as_variant_type() == (
        ua.VariantType.Double
    )
    assert await rig.node("Plant.OutdoorTempC").read_value() == -3.5


async def test_types_and_scale_follow_the_map(rig: Rig) -> None:
    stage = rig.node("Chiller1.Stage", rig.chiller_ns)
    running = rig.node("Chiller1.Running", rig.chiller_ns)
    assert await stage.read_data_type_as_variant_type() == ua.VariantType.Int16
    assert await stage.read_value() == 3  # 1.5 at scale 0.5
    assert await running.read_value() is True


async def test_the_endpoint_advertises_the_bound_port(rig: Rig) -> None:
    endpoints = await rig.client.get_endpoints()
    assert rig.server.port != 0
    assert {endpoint.EndpointUrl for endpoint in endpoints} == {
        f"opc.tcp://127.0.0.1:{rig.server.port}/sim/"
    }


async def test_values_change_on_sync_with_the_given_timestamp(rig: Rig) -> None:
    rig.model.values[("tank1", "layer_temp_c", 8)] = 88.25
    node = rig.node("Tank1.Layer8TempC")
    assert await node.read_value() == LAYER_TEMPS_C[8]
    stamp = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    await rig.server.sync(stamp)
    data_value = await node.read_data_value()
    assert data_value.Value is not None and data_value.Value.Value == 88.25
    assert data_value.SourceTimestamp == stamp


async def test_subscribers_see_synced_changes(rig: Rig) -> None:
    received: asyncio.Queue[float] = asyncio.Queue()

    class Handler:
        def datachange_notification(self, _node: Any, value: float, _data: Any) -> None:
            received.put_nowait(value)

    subscription = await rig.client.create_subscription(20, Handler())
    try:
        await subscription.subscribe_data_change(rig.node("Tank1.Layer1TempC"))
        assert await asyncio.wait_for(received.get(), 5) == LAYER_TEMPS_C[1]
        rig.model.values[("tank1", "layer_temp_c", 1)] = 33.0
        await rig.server.sync()
        assert await asyncio.wait_for(received.get(), 5) == 33.0
    finally:
        await subscription.delete()


async def test_a_dropped_device_reports_bad_status_while_others_stay_good(rig: Rig) -> None:
    rig.model.faults.dropped.add("tank1")
    await rig.server.sync()
    dropped = await rig.node("Tank1.Layer3TempC").read_data_value(raise_on_bad_status=False)
    assert dropped.StatusCode is not None
    assert dropped.StatusCode.value == StatusCodes.BadCommunicationError
    assert await rig.node("Plant.OutdoorTempC").read_value() == -3.5
    rig.model.faults.dropped.clear()
    rig.model.values[("tank1", "layer_temp_c", 3)] = 61.0
    await rig.server.sync()
    assert await rig.node("Tank1.Layer3TempC").read_value() == 61.0
    assert await rig.node("Tank1.Layer4TempC").read_value() == LAYER_TEMPS_C[4]


async def test_writes_to_writable_points_reach_the_model(rig: Rig) -> None:
    setpoint = rig.node("Chiller1.SetpointC", rig.chiller_ns)
    stage = rig.node("Chiller1.Stage", rig.chiller_ns)
    await setpoint.write_value(ua.Variant(9.5, ua.VariantType.Double))
    await stage.write_value(ua.Variant(6, ua.VariantType.Int16))
    assert rig.model.commands == [
        ("chiller", Role.SUPPLY_TEMP_SETPOINT_C, 9.5),
        ("chiller", Role.HEAT_SETPOINT_KW, 3.0),
    ]
    assert await setpoint.read_value() == 9.5


async def test_a_write_to_a_read_only_variable_is_refused(rig: Rig) -> None:
    node = rig.node("Tank1.Layer3TempC")
    with pytest.raises(UaStatusCodeError) as refused:
        await node.write_value(ua.Variant(99.0, ua.VariantType.Double))
    assert refused.value.code == StatusCodes.BadUserAccessDenied
    assert await node.read_value() == LAYER_TEMPS_C[3]
    assert rig.model.commands == []


async def test_a_write_out_of_range_or_to_a_dropped_device_is_refused(rig: Rig) -> None:
    setpoint = rig.node("Chiller1.SetpointC", rig.chiller_ns)
    with pytest.raises(UaStatusCodeError) as out_of_range:
        await setpoint.write_value(ua.Variant(30.0, ua.VariantType.Double))
    rig.model.faults.dropped.add("chiller")
    with pytest.raises(UaStatusCodeError) as dropped:
        await setpoint.write_value(ua.Variant(8.0, ua.VariantType.Double))
    assert out_of_range.value.code == StatusCodes.BadOutOfRange
    assert dropped.value.code == StatusCodes.BadCommunicationError
    assert rig.model.commands == []


async def test_a_write_of_the_wrong_type_is_refused(rig: Rig) -> None:
    setpoint = rig.node("Chiller1.SetpointC", rig.chiller_ns)
    with pytest.raises(UaStatusCodeError) as refused:
        await setpoint.write_value(ua.Variant("warm", ua.VariantType.String))
    assert refused.value.code == StatusCodes.BadTypeMismatch
    assert rig.model.commands == []
