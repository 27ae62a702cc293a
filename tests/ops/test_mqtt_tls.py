"""The bridge over TLS: a broker with a certificate from a test CA, the bridge trusting that CA
(and refusing the broker when it does not)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from controller.config import MqttTlsConfig
from drivers.clock import SimClock, WallClock
from tests.core.fakes import T0
from tests.ops.mosquitto import Broker, free_port
from tests.ops.mqtt_rig import controller, mqtt_plant, wait_until


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


def make_certificates(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    directory.mkdir()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} CA"))
        .issuer_name(_name(f"{name} CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "server.crt"
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    return ca_file, cert_file, _write_key(key, directory / "server.key")


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Broker]:
    directory = tmp_path / "mosquitto-tls"
    directory.mkdir()
    broker = Broker(directory, free_port(), tls=make_certificates(tmp_path / "pki", "broker"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_the_bridge_connects_over_tls_with_the_plants_ca(
    tls_broker: Broker, tmp_path: Path
) -> None:
    assert tls_broker.tls is not None
    plant = mqtt_plant(tls_broker, tls=MqttTlsConfig(ca_file=str(tls_broker.tls[0])))
    async with controller(plant, SimClock(T0), tmp_path) as ctl:
        await ctl.cycle.tick()
        assert await wait_until(lambda: ctl.bridge.stats.published_total >= 2)


async def test_a_broker_signed_by_another_ca_is_refused(
    tls_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other_ca, _, _ = make_certificates(tmp_path / "other", "someone else")
    plant = mqtt_plant(tls_broker, tls=MqttTlsConfig(ca_file=str(other_ca)))
    caplog.set_level(logging.WARNING, logger="controller.telemetry.mqtt.bridge")
    options = {"backoff_initial_s": 0.05, "backoff_max_s": 0.1}
    async with controller(plant, WallClock(), tmp_path, wait_connected=False, **options) as ctl:
        assert await wait_until(lambda: ctl.bridge.stats.connect_failures_total >= 2)
        assert not ctl.bridge.stats.connected
        assert ctl.bridge.stats.published_total == 0
    assert "certificate verify failed" in caplog.text
