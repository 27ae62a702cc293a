"""A live controller with its HTTP API for the API tests: `run_live` (the code `hpctl run` runs)
against the simulated plant's Modbus and OPC UA servers, the API on a free 127.0.0.1 port, and
a small stdlib HTTP client (the tests speak HTTP as any other system would)."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from controller.app.demo import DEFAULT_PLANT
from controller.app.live import run_live
from controller.config import ApiConfig, Plant, load_plant
from drivers.clock import WallClock
from sim_plant.physics import PlantModel
from sim_plant.servers import PlantServers
from tests.sil.harness import START

TOKEN = "test-token-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_prices(path: Path, hours_back: int = 24, hours_ahead: int = 40) -> Path:
    """A price file around the wall clock's hour (a day-ahead market already published), with
    carbon: the planner plans on it at once."""
    this_hour = WallClock().now().replace(minute=0, second=0, microsecond=0)
    lines = ["timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh"]
    for k in range(-hours_back, hours_ahead):
        when = this_hour + timedelta(hours=k)
        price = 40.0 + 60.0 * ((k % 24) in range(7, 21))  # dear by day, cheap by night
        carbon = 120.0 + 10.0 * (k % 24)
        lines.append(f"{when:%Y-%m-%dT%H:%MZ},{price:.1f},{carbon:.1f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def api_plant(tmp_path: Path, token: str | None = TOKEN, **control: object) -> Plant:
    """The river plant with the API on a free port; a token file in `tmp_path` unless None."""
    token_file = None
    if token is not None:
        token_file = tmp_path / "api-token"
        token_file.write_text(token + "\n")
    api = ApiConfig(
        enabled=True,
        port=free_port(),
        token_file=str(token_file) if token_file is not None else None,
        token_env="HPCTL_TEST_NO_SUCH_VARIABLE",
    )
    settings: dict[str, object] = {
        "cycle_s": 0.5,
        "metrics_port": 0,
        "data_dir": str(tmp_path / "data"),
        "policy": "rules",
        "api": api,
    }
    return load_plant(DEFAULT_PLANT).with_control(**(settings | control))


@dataclass
class Http:
    """Calls to the API at `base`; answers (status, JSON body), errors included."""

    base: str
    token: str | None = None

    def call(
        self,
        method: str,
        path: str,
        body: object | None = None,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        given = token if token is not None else self.token
        if given is not None:
            request.add_header("Authorization", f"Bearer {given}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except OSError as error:  # nothing listens (yet): no HTTP status at all
            return 0, {"detail": str(error)}

    async def acall(self, method: str, path: str, **kwargs: object) -> tuple[int, Any]:
        return await asyncio.to_thread(self.call, method, path, **kwargs)  # type: ignore[arg-type]

    async def until(self, path: str, ready: Callable[[int, Any], bool], attempts: int = 600) -> Any:
        """GET `path` every 0.1 s until `ready(status, body)` holds; the last body."""
        status, body = 0, None
        for _ in range(attempts):
            status, body = await self.acall("GET", path)
            if ready(status, body):
                return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"GET {path} never got ready: {status} {body}")


@asynccontextmanager
async def live_api(plant: Plant) -> AsyncIterator[Http]:
    """The controller running against the simulated plant; its API answers GET /api/v1/state
    before this yields. Stopped on the way out (also after a failed assertion), cleanly."""
    model = PlantModel(plant.site, START)
    stop = asyncio.Event()
    async with PlantServers(plant.site, plant.maps, model) as servers:
        live = plant.with_site(plant.site.with_ports(servers.ports))
        task = asyncio.create_task(run_live(live, stop))
        http = Http(f"http://127.0.0.1:{plant.control.api.port}")
        try:
            await http.until("/api/v1/state", lambda status, _: status == 200 or task.done())
            if task.done():
                task.result()  # the start failed: say why
            yield http
        finally:
            stop.set()
            exit_code = await asyncio.wait_for(task, timeout=60)
    assert exit_code == 0
