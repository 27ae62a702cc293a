"""Starting the API: the token comes from outside the plant file, a bad one stops the start with
its path, a busy port names its address, and the default address is the PC itself."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from controller.api.server import read_token
from controller.app.live import run_live
from controller.config import ApiConfig, ConfigError
from tests.api.rig import TOKEN, api_plant


def test_the_api_is_off_and_on_loopback_unless_the_plant_file_says_otherwise() -> None:
    api = ApiConfig()
    assert (api.enabled, api.host, api.token_file) == (False, "127.0.0.1", None)


def test_the_token_comes_from_its_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_token(api_plant(tmp_path)) == TOKEN  # the file's line, without its newline
    plant = api_plant(tmp_path, token=None)
    assert read_token(plant) is None  # no file, no variable: writes are off
    monkeypatch.setenv("HPCTL_TEST_NO_SUCH_VARIABLE", "  " + TOKEN + "\n")
    assert read_token(plant) == TOKEN


def test_a_short_or_unreadable_token_stops_the_start_naming_where(tmp_path: Path) -> None:
    plant = api_plant(tmp_path, token="short")
    with pytest.raises(ConfigError, match=r"api-token has 5 characters: at least 16"):
        read_token(plant)
    (tmp_path / "api-token").unlink()
    with pytest.raises(ConfigError, match=r"token_file .*api-token: cannot be read"):
        read_token(plant)


async def test_a_busy_api_port_stops_the_start_naming_the_address(tmp_path: Path) -> None:
    plant = api_plant(tmp_path)
    port = plant.control.api.port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(OSError, match=rf"API address 127\.0\.0\.1:{port}"):
            # nothing listens on the devices' ports: the start fails before it polls them
            await asyncio.wait_for(run_live(plant, asyncio.Event()), timeout=60)
