"""The shipped Mosquitto drop-in (deploy/mosquitto/mosquitto.conf) as Debian runs it: included
from a main configuration like Debian's own (persistence on, `include_dir conf.d`), with only its
file paths and ports moved to a scratch directory. The broker must start, take the controller's
password on loopback, refuse anonymous clients and serve TLS with the site's certificate."""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.ops.mosquitto import ACL, USERS, _listening, free_port
from tests.ops.test_mqtt_tls import make_certificates

DROP_IN = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto missing")


def _site_drop_in(tmp_path: Path, plain_port: int, tls_port: int) -> str:
    """The shipped file with its absolute paths and ports pointed at the scratch directory."""
    text = DROP_IN.read_text()
    text = text.replace("/etc/mosquitto/hpctl/", f"{tmp_path}/hpctl/")
    text = text.replace("/etc/mosquitto/certs/", f"{tmp_path}/certs/")
    text = re.sub(r"^listener 1883 ", f"listener {plain_port} ", text, flags=re.M)
    text = re.sub(r"^listener 8883$", f"listener {tls_port} 127.0.0.1", text, flags=re.M)
    assert text.count(str(tmp_path)) >= 5, "the drop-in's paths changed: update this test"
    return text


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    plain_port, tls_port = free_port(), free_port()
    (tmp_path / "hpctl").mkdir()
    shutil.copy(ACL, tmp_path / "hpctl" / "acl")
    passwords = tmp_path / "hpctl" / "passwords"
    for index, user in enumerate(("hpctl", "operator")):
        create = ["-c"] if index == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", str(passwords), user, USERS[user]],
            check=True,
            capture_output=True,
        )
    ca_file, _, _ = make_certificates(tmp_path / "certs", "site")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "hpctl.conf").write_text(_site_drop_in(tmp_path, plain_port, tls_port))
    (tmp_path / "persist").mkdir()
    main = tmp_path / "mosquitto.conf"
    main.write_text(  # Debian's /etc/mosquitto/mosquitto.conf, paths moved
        "persistence true\n"
        f"persistence_location {tmp_path}/persist/\n"
        "log_dest stderr\n"
        f"user {subprocess.run(['id', '-un'], capture_output=True, text=True).stdout.strip()}\n"
        f"include_dir {tmp_path}/conf.d\n"
    )
    log = (tmp_path / "mosquitto.log").open("wb")
    process = subprocess.Popen(["mosquitto", "-c", str(main)], stdout=log, stderr=log)
    try:
        for _ in range(200):
            if process.poll() is not None:
                pytest.fail(f"mosquitto refused the shipped config:\n{_log(tmp_path)}")
            if _listening(plain_port) and _listening(tls_port):
                break
            time.sleep(0.025)
        else:
            pytest.fail(f"mosquitto did not listen:\n{_log(tmp_path)}")
        yield plain_port, tls_port, ca_file
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _log(tmp_path: Path) -> str:
    return (tmp_path / "mosquitto.log").read_text(errors="replace")


async def test_the_shipped_config_starts_authenticates_and_serves_tls(
    shipped_broker: tuple[int, int, Path],
) -> None:
    plain_port, tls_port, ca_file = shipped_broker
    async with aiomqtt.Client(
        "127.0.0.1", plain_port, username="hpctl", password=USERS["hpctl"], timeout=10
    ) as controller:
        await controller.publish("hpctl/river_20mw/status", b"online", qos=1, retain=True)
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", plain_port, timeout=10):
            pass  # anonymous: refused
    tls = aiomqtt.TLSParameters(ca_certs=str(ca_file), cert_reqs=ssl.CERT_REQUIRED)
    async with aiomqtt.Client(
        "127.0.0.1",
        tls_port,
        username="operator",
        password=USERS["operator"],
        tls_params=tls,
        timeout=10,
    ) as operator:
        await operator.subscribe("hpctl/river_20mw/status", qos=1)
        async with asyncio.timeout(10):
            async for message in operator.messages:
                assert message.payload == b"online" and message.retain
                break
