"""OPC UA with Basic256Sha256 SignAndEncrypt, certificates and a user, against a real asyncua
server that offers no unsecured endpoint and checks the password."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from drivers.cache import PointCache
from drivers.clock import SimClock
from drivers.opcua import OpcUaConnection, OpcUaDevice
from drivers.pointmap import parse_point_map
from drivers.reading import Quality
from drivers.site import Connection, DeviceBinding, OpcUaSecurity

logging.getLogger("asyncua").setLevel(logging.ERROR)
URI = "urn:hpctl:test:secure"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
TANK = parse_point_map(
    {
        "device": {"kind": "tank", "protocol": "opcua"},
        "opcua": {"namespace_uri": URI},
        "points": [
            {
                "name": "layer_1_temp_c",
                "role": "layer_temp_c",
                "index": 1,
                "node_id": "{device}.Layer1TempC",
                "data_type": "float64",
            }
        ],
    }
)


class _Users:
    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username == "hpctl" and password == "s3cret-edge":
            return User(role=UserRole.User, name=username)
        return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _certificate(folder: Path, name: str, uri: str, usage: Any) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key.pem", folder / f"{name}.der"
    await setup_self_signed_certificate(key, cert, uri, "localhost", [usage], {"commonName": name})
    return key, cert


@pytest.fixture
async def secure_server(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    server_key, server_cert = await _certificate(
        tmp_path, "server", "urn:hpctl:test:server", ExtendedKeyUsageOID.SERVER_AUTH
    )
    port = _free_port()
    server = Server(user_manager=_Users())  # type: ignore[arg-type]
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/hpctl/")
    server.set_server_name("secured test server")
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    server.set_identity_tokens([ua.UserNameIdentityToken])
    await server.load_certificate(str(server_cert))
    await server.load_private_key(str(server_key))
    namespace = await server.register_namespace(URI)
    tank = await server.nodes.objects.add_object(namespace, "Tank1")
    await tank.add_variable(ua.NodeId("Tank1.Layer1TempC", namespace), "Layer1TempC", 71.5)
    async with server:
        yield port, tmp_path


def _device(
    port: int, folder: Path, security: OpcUaSecurity | None
) -> tuple[OpcUaConnection, OpcUaDevice, PointCache]:
    clock = SimClock(T0)
    config = Connection(protocol="opcua", port=port, timeout_s=2.0, security=security)
    connection = OpcUaConnection("scada", config, clock, folder)
    cache = PointCache({"tank1": TANK})
    binding = DeviceBinding(name="tank1", pointmap="-", connection="scada", node_prefix="Tank1")
    return connection, OpcUaDevice(binding, TANK, connection, cache, clock), cache


async def _security(folder: Path, password: str) -> OpcUaSecurity:
    key, cert = await _certificate(
        folder, "client", "urn:hpctl:test:client", ExtendedKeyUsageOID.CLIENT_AUTH
    )
    (folder / "password").write_text(password + "\n")
    return OpcUaSecurity(
        certificate_file=cert.name,  # relative to the plant file's folder
        private_key_file=key.name,
        server_certificate_file="server.der",
        application_uri="urn:hpctl:test:client",
        username="hpctl",
        password_file="password",
    )


async def test_secured_session_with_user_reads_values(secure_server: tuple[int, Path]) -> None:
    port, folder = secure_server
    connection, device, cache = _device(port, folder, await _security(folder, "s3cret-edge"))
    try:
        assert await device.poll()
        reading = cache.snapshot(T0, 0.0).by_role("tank1", "layer_temp_c", 1)
        assert reading.quality is Quality.GOOD and reading.value == 71.5
    finally:
        await connection.close()


async def test_a_wrong_password_is_refused_and_the_device_is_bad(
    secure_server: tuple[int, Path],
) -> None:
    port, folder = secure_server
    connection, device, _ = _device(port, folder, await _security(folder, "guess"))
    try:
        assert not await device.poll()
        assert not device.health().good
    finally:
        await connection.close()


async def test_no_unsecured_access(secure_server: tuple[int, Path]) -> None:
    port, folder = secure_server
    connection, device, _ = _device(port, folder, None)
    try:
        assert not await device.poll()
    finally:
        await connection.close()


def test_security_needs_both_user_and_password_file() -> None:
    with pytest.raises(ValueError, match="both 'username' and 'password_file'"):
        OpcUaSecurity(certificate_file="c.der", private_key_file="k.pem", username="hpctl")
    with pytest.raises(ValueError, match="OPC UA connections only"):
        Connection(
            protocol="modbus",
            security=OpcUaSecurity(certificate_file="c.der", private_key_file="k.pem"),
        )
