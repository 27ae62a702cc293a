"""OPC UA with Basic256Sha256 SignAndEncrypt, certificates and a user, against a real asyncua
server that offers no unsecured endpoint and checks the password."""

from __future__ import annotations

import logging
import socket
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from drivers.cache import PointCache
from drivers.clock import SimClock
from drivers.opcua import OpcUaConnection, OpcUaDevice
from drivers.opcua_trust import first_certificate
from drivers.pointmap import parse_point_map
from drivers.reading import Quality
from drivers.site import Connection, DeviceBinding, OpcUaSecurity, SiteError, parse_site

logging.getLogger("asyncua").setLevel(logging.ERROR)
URI = "urn:hpctl:test:secure"
PLANT = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
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
    """Accepts the one user, and records every login the server was asked for."""

    def __init__(self) -> None:
        self.logins: list[str | None] = []

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        self.logins.append(username)
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


@asynccontextmanager
async def _serving(
    folder: Path,
    users: _Users,
    certificate: str = "server",
    private_key: str | None = None,
    client_validator: Any = None,
) -> AsyncIterator[int]:
    """A secured server on a free port presenting `certificate`; it decrypts with the key of
    `private_key` (its own by default: another one plays a server that shows a copied
    certificate without holding its key)."""
    server_key, server_cert = await _certificate(
        folder, certificate, "urn:hpctl:test:server", ExtendedKeyUsageOID.SERVER_AUTH
    )
    if private_key is not None:
        server_key, _ = await _certificate(
            folder, private_key, "urn:hpctl:test:server", ExtendedKeyUsageOID.SERVER_AUTH
        )
    port = _free_port()
    server = Server(user_manager=users)  # type: ignore[arg-type]
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/hpctl/")
    server.set_server_name(f"secured test server ({certificate})")
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    server.set_identity_tokens([ua.UserNameIdentityToken])
    await server.load_certificate(str(server_cert))
    await server.load_private_key(str(server_key))
    if client_validator is not None:
        server.set_certificate_validator(client_validator)
    namespace = await server.register_namespace(URI)
    tank = await server.nodes.objects.add_object(namespace, "Tank1")
    await tank.add_variable(ua.NodeId("Tank1.Layer1TempC", namespace), "Layer1TempC", 71.5)
    async with server:
        yield port


@pytest.fixture
async def secure_server(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    async with _serving(tmp_path, _Users()) as port:
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
        message = await _refusal(device)
        assert not device.health().good
        assert "refused user 'hpctl'" in message
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
            security=OpcUaSecurity(
                certificate_file="c.der", private_key_file="k.pem", server_certificate_file="s.der"
            ),
        )


# --- server trust: a pinned certificate, or trust on first use ---------------------------------


def _sha256(certificate: Path) -> str:
    der = x509.load_der_x509_certificate(certificate.read_bytes())
    return der.fingerprint(hashes.SHA256()).hex(":").upper()


async def _refusal(device: OpcUaDevice) -> str:
    """The error a refused connect leaves in the device's health (what the operator sees)."""
    assert not await device.poll()
    error = device.health().last_error
    assert error is not None
    return error


async def test_an_impostor_with_another_certificate_is_refused_before_the_password(
    tmp_path: Path,
) -> None:
    await _certificate(tmp_path, "server", "urn:hpctl:test:server", ExtendedKeyUsageOID.SERVER_AUTH)
    impostor_users = _Users()
    async with _serving(tmp_path, impostor_users, certificate="impostor") as port:
        connection, device, _ = _device(port, tmp_path, await _security(tmp_path, "s3cret-edge"))
        try:
            message = await _refusal(device)
        finally:
            await connection.close()
    assert impostor_users.logins == []  # the password never reached it
    assert "connection 'scada'" in message
    assert "does not match the pinned" in message
    assert _sha256(tmp_path / "impostor.der") in message
    assert _sha256(tmp_path / "server.der") in message


async def test_without_a_pinned_certificate_the_driver_opens_no_session(tmp_path: Path) -> None:
    """The reported defect: no server certificate configured, and the client trusted whatever
    the server showed. The plant file refuses this (below); the driver refuses it as well."""
    impostor_users = _Users()
    async with _serving(tmp_path, impostor_users, certificate="impostor") as port:
        pinned = await _security(tmp_path, "s3cret-edge")
        unpinned = OpcUaSecurity.model_construct(
            **{**dict(pinned), "server_certificate_file": None}
        )
        connection, device, _ = _device(port, tmp_path, pinned)
        connection.config = Connection.model_construct(
            **{**dict(connection.config), "security": unpinned}
        )
        try:
            message = await _refusal(device)
        finally:
            await connection.close()
    assert impostor_users.logins == []
    assert "connection 'scada'" in message and "server_certificate_file" in message


def test_a_security_table_without_a_server_certificate_is_a_config_error() -> None:
    with PLANT.open("rb") as handle:
        data = tomllib.load(handle)
    data["connections"]["scada"]["security"] = {
        "certificate_file": "client.der",
        "private_key_file": "client.key.pem",
    }
    with pytest.raises(SiteError) as refused:
        parse_site(data, "plant.toml")
    message = str(refused.value)
    assert "connections.scada.security" in message
    assert "server_certificate_file" in message
    assert "trust_first_server_certificate" in message
    with pytest.raises(ValueError, match="server_certificate_file"):
        OpcUaSecurity(
            certificate_file="c.der", private_key_file="k.pem", trust_first_server_certificate=True
        )


async def test_trust_on_first_use_stores_and_pins_the_first_certificate(tmp_path: Path) -> None:
    security = (await _security(tmp_path, "s3cret-edge")).model_copy(
        update={
            "server_certificate_file": "trusted-server.der",
            "trust_first_server_certificate": True,
        }
    )
    stored = tmp_path / "trusted-server.der"
    async with _serving(tmp_path, _Users()) as port:
        connection, device, cache = _device(port, tmp_path, security)
        try:
            assert await device.poll()
            assert cache.snapshot(T0, 0.0).by_role("tank1", "layer_temp_c", 1).value == 71.5
        finally:
            await connection.close()
    assert stored.read_bytes() == (tmp_path / "server.der").read_bytes()

    impostor_users = _Users()
    async with _serving(tmp_path, impostor_users, certificate="impostor") as port:
        connection, device, _ = _device(port, tmp_path, security)
        try:
            message = await _refusal(device)
        finally:
            await connection.close()
    assert impostor_users.logins == []
    assert "does not match the pinned" in message
    assert _sha256(tmp_path / "impostor.der") in message and _sha256(stored) in message
    assert stored.read_bytes() == (tmp_path / "server.der").read_bytes()  # not re-trusted


async def test_an_unsecured_connection_is_warned_about_once(
    secure_server: tuple[int, Path], caplog: pytest.LogCaptureFixture
) -> None:
    port, folder = secure_server
    with caplog.at_level(logging.WARNING, logger="drivers.opcua"):
        connection, device, _ = _device(port, folder, None)
        try:
            assert not await device.poll()
            connection._backoff.succeeded()  # let the second attempt through at once
            assert not await device.poll()
        finally:
            await connection.close()
    unsecured = [r for r in caplog.records if "unsecured" in r.getMessage()]
    assert len(unsecured) == 1
    assert unsecured[0].levelno == logging.WARNING
    assert "connection 'scada'" in unsecured[0].getMessage()


async def test_a_server_without_the_key_of_its_certificate_is_named_not_a_timeout(
    tmp_path: Path,
) -> None:
    """It shows the pinned certificate but cannot decrypt what is sent for it: asyncua only
    times out. The error says which certificate the server failed to prove it holds."""
    users = _Users()
    async with _serving(tmp_path, users, certificate="server", private_key="stolen") as port:
        connection, device, _ = _device(port, tmp_path, await _security(tmp_path, "s3cret-edge"))
        try:
            message = await _refusal(device)
        finally:
            await connection.close()
    assert users.logins == []
    assert "TimeoutError()" not in message
    assert "private key" in message and _sha256(tmp_path / "server.der") in message


async def test_a_refused_client_certificate_is_named(tmp_path: Path) -> None:
    async def untrusted(certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
        raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    users = _Users()
    async with _serving(tmp_path, users, client_validator=untrusted) as port:
        connection, device, _ = _device(port, tmp_path, await _security(tmp_path, "s3cret-edge"))
        try:
            message = await _refusal(device)
        finally:
            await connection.close()
    assert users.logins == []
    assert "refused this controller's certificate" in message
    assert "BadCertificateUntrusted" in message
    assert _sha256(tmp_path / "client.der") in message


async def test_the_leading_certificate_of_a_chain_is_the_servers(tmp_path: Path) -> None:
    """Servers may send their certificate with its issuers appended; the first one is theirs."""
    _, server = await _certificate(
        tmp_path, "server", "urn:hpctl:test:server", ExtendedKeyUsageOID.SERVER_AUTH
    )
    _, issuer = await _certificate(
        tmp_path, "issuer", "urn:hpctl:test:issuer", ExtendedKeyUsageOID.SERVER_AUTH
    )
    chain = server.read_bytes() + issuer.read_bytes()
    assert first_certificate(chain) == server.read_bytes()
    with pytest.raises(ValueError, match="not a DER certificate"):
        first_certificate(b"-----BEGIN CERTIFICATE-----")
