"""A real Mosquitto broker for the MQTT tests: a free 127.0.0.1 port, started and stopped here.

`broker` is open to anonymous clients; `secured_broker` needs a user and password (file made
with `mosquitto_passwd`) and applies the ACL shipped in deploy/mosquitto: the controller may use
its whole tree, an operator may publish requests and read everything, the market system may
publish prices and carbon, a viewer may only read.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PREFIX = "hpctl/river_20mw"
ACL = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "acl"  # the shipped one
USERS = {
    "hpctl": "controller-secret",
    "operator": "operator-secret",
    "market": "market-secret",
    "viewer": "viewer-secret",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    # a TCP connect is enough: it does not need to speak MQTT (nor TLS) to show the listener
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Broker:
    """One mosquitto process; `restart` keeps the port (retained messages are not persisted)."""

    directory: Path
    port: int
    secured: bool = False
    users: dict[str, str] = field(default_factory=dict)
    tls: tuple[Path, Path, Path] | None = None  # CA, server certificate, server key
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def write_config(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            *(
                [f"cafile {self.tls[0]}", f"certfile {self.tls[1]}", f"keyfile {self.tls[2]}"]
                if self.tls
                else []
            ),
            "persistence false",
            # as root mosquitto would switch to its own user, who cannot read pytest's tmp dirs
            f"user {getpass.getuser()}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if self.secured:
            passwords = self.directory / "passwords"
            for index, (user, password) in enumerate(self.users.items()):
                create = ["-c"] if index == 0 else []
                subprocess.run(
                    ["mosquitto_passwd", *create, "-b", str(passwords), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwords}", f"acl_file {ACL}"]
        else:
            lines.append("allow_anonymous true")
        conf = self.directory / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> None:
        if shutil.which("mosquitto") is None:
            pytest.fail("mosquitto is not installed: apt-get install mosquitto mosquitto-clients")
        conf = self.write_config()
        with (self.directory / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen(
                ["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        for _ in range(200):
            if self.process.poll() is not None:
                pytest.fail(f"mosquitto exited with {self.process.returncode}:\n{self.log}")
            if _listening(self.port):
                return
            time.sleep(0.025)
        self.stop()
        pytest.fail(f"mosquitto did not listen on port {self.port}:\n{self.log}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _broker(directory: Path, secured: bool) -> Iterator[Broker]:
    directory.mkdir()
    broker = Broker(directory, free_port(), secured, dict(USERS) if secured else {})
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    yield from _broker(tmp_path / "mosquitto", secured=False)


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Broker]:
    yield from _broker(tmp_path / "mosquitto-secured", secured=True)
