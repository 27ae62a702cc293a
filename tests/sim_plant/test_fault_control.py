"""`hpctl sim --faults FILE --control-port N`: faults reach a running simulator from outside.

The simulator runs on a simulated clock (as fast as the test advances it) and is driven over
real sockets on 127.0.0.1: the control endpoint with urllib, the plant with a Modbus client.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from controller.app.cli import EXIT_BAD_INPUT, main
from drivers.kinds import StateCode
from sim_plant.fault_schedule import FaultScheduleError
from sim_plant.runner import run_sim
from tests.sim_plant.servers_support import CLIENT_TIMEOUT_S
from tests.sim_plant.test_servers_runner import CountingClock, plant_file, settle

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
STATE_CODE_REGISTER = 100  # generic_large_heat_pump.toml: input register, uint16
HP1_DEVICE_ID, HP2_DEVICE_ID = 1, 2


async def call(method: str, url: str, body: object = None) -> tuple[int, dict[str, Any]]:
    """One HTTP request from another thread (a client independent of the server's loop)."""

    def blocking() -> tuple[int, bytes]:
        data = body.encode() if isinstance(body, str) else None
        if body is not None and not isinstance(body, str):
            data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    status, raw = await asyncio.to_thread(blocking)
    payload = json.loads(raw)
    assert isinstance(payload, dict)
    return status, payload


@dataclass
class RunningSim:
    clock: CountingClock
    out: io.StringIO
    task: asyncio.Task[None]

    @property
    def control_url(self) -> str:
        found = re.search(r"fault control on (http://127\.0\.0\.1:\d+)", self.out.getvalue())
        assert found is not None, self.out.getvalue()
        return found.group(1)

    @property
    def modbus_port(self) -> int:
        found = re.search(r"modbus 'plc' on 127\.0\.0\.1:(\d+)", self.out.getvalue())
        assert found is not None, self.out.getvalue()
        return int(found.group(1))

    steps: int = 0

    async def step(self) -> None:
        """Let the runner take exactly one more step (it sleeps once before each step)."""
        await settle(lambda: self.clock.sleeps > self.steps or self.task.done())
        self.clock.advance(1.0)  # one 300 s step at 300x
        self.steps += 1
        await settle(lambda: self.clock.sleeps > self.steps or self.task.done())
        assert not self.task.done()


@asynccontextmanager
async def start_sim(tmp_path: Path, schedule: str | None) -> AsyncIterator[RunningSim]:
    path = plant_file(tmp_path, "step_s = 300")
    faults = None
    if schedule is not None:
        faults = tmp_path / "faults.toml"
        faults.write_text(schedule)
    clock = CountingClock(START)
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(
        run_sim(path, 0, 0, 300.0, None, None, clock, stop, out=out, faults=faults, control_port=0)
    )
    try:
        await settle(lambda: "fault control on" in out.getvalue() or task.done())
        assert not task.done(), out.getvalue()
        yield RunningSim(clock, out, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[RunningSim]:
    async with start_sim(tmp_path, None) as running:
        yield running


SCHEDULE = """
[[faults]]
at = "2026-01-15T06:10:00Z"
kind = "unit_trip"
device = "hp1"

[[faults]]
at = 900
kind = "sensor_nan"
device = "tank1"
role = "layer_temp_c"
index = 8
duration_s = 600
"""


async def test_a_schedule_applies_each_fault_at_its_simulated_time(tmp_path: Path) -> None:
    seen: list[tuple[float, str, list[str]]] = []
    async with start_sim(tmp_path, SCHEDULE) as sim:
        assert "fault schedule" in sim.out.getvalue() and "2 entries" in sim.out.getvalue()
        for _ in range(6):  # 30 minutes in 300 s steps
            await sim.step()
            status, state = await call("GET", f"{sim.control_url}/state")
            assert status == 200
            units = state["units"]
            assert isinstance(units, dict)
            faults = state["faults"]
            assert isinstance(faults, list)
            seen.append(
                (
                    float(str(state["simulated_s"])),
                    units["hp1"]["state"],
                    [fault["kind"] for fault in faults],
                )
            )
        status, listing = await call("GET", f"{sim.control_url}/faults")
    assert seen == [
        (300.0, "off", []),
        (600.0, "tripped", []),  # a trip is instant: it latches in the unit, not in the book
        # unsupervised, enable_cmd is off: the unit's reset completes after 300 s
        (900.0, "off", ["sensor_nan"]),
        (1200.0, "off", ["sensor_nan"]),
        (1500.0, "off", []),  # 600 s after it started
        (1800.0, "off", []),
    ]
    history = listing["history"]
    assert isinstance(history, list)
    assert [(f["kind"], f["source"], f["end_reason"]) for f in history] == [
        ("unit_trip", "schedule", "instant"),
        ("sensor_nan", "schedule", "expired"),
    ]
    assert history[1]["started_utc"] == "2026-01-15T06:15:00+00:00"
    assert history[1]["ended_utc"] == "2026-01-15T06:25:00+00:00"


async def test_a_schedule_that_does_not_fit_the_plant_is_refused_before_serving(
    tmp_path: Path,
) -> None:
    path = plant_file(tmp_path, "")
    faults = tmp_path / "faults.toml"
    faults.write_text('[[faults]]\nat = 0\nkind = "unit_trip"\ndevice = "hp3"\n')
    out = io.StringIO()
    with pytest.raises(FaultScheduleError, match=r"faults\.toml: \[\[faults\]\] entry 1: device"):
        await run_sim(path, 0, 0, 1.0, None, None, CountingClock(START), out=out, faults=faults)
    assert out.getvalue() == ""  # nothing was served


def test_the_command_line_reports_a_bad_schedule_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = plant_file(tmp_path, "")
    faults = tmp_path / "faults.toml"
    faults.write_text('[[faults]]\nat = 0\nkind = "unit_trip"\ndevice = "hp1"\nduration_s = 5\n')
    argv = ["sim", "--plant", str(path), "--modbus-port", "0", "--opcua-port", "0"]
    assert main([*argv, "--faults", str(faults), "--control-port", "0"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "faults.toml: [[faults]] entry 1: duration_s: a unit trip latches" in error
    assert "Traceback" not in error
    with pytest.raises(SystemExit):
        main([*argv, "--control-port", "70000"])
    assert "'70000' is not a TCP port (0..65535" in capsys.readouterr().err


async def read_state_code(client: AsyncModbusTcpClient, device_id: int) -> int:
    response = await client.read_input_registers(STATE_CODE_REGISTER, count=1, device_id=device_id)
    assert not response.isError()
    return int(response.registers[0])


async def test_faults_injected_over_http_show_on_modbus_and_clear(sim: RunningSim) -> None:
    modbus = AsyncModbusTcpClient(
        "127.0.0.1", port=sim.modbus_port, timeout=CLIENT_TIMEOUT_S, retries=0
    )
    assert await modbus.connect()
    try:
        await sim.step()
        assert await read_state_code(modbus, HP1_DEVICE_ID) == StateCode.OFF

        status, trip = await call(
            "POST", f"{sim.control_url}/faults", {"kind": "unit_trip", "device": "hp1"}
        )
        assert status == 201
        assert (trip["kind"], trip["end_reason"], trip["source"]) == ("unit_trip", "instant", "api")
        # shown before the reply, without waiting for the next step
        assert await read_state_code(modbus, HP1_DEVICE_ID) == StateCode.TRIPPED

        status, drop = await call(
            "POST", f"{sim.control_url}/faults", {"kind": "comm_drop", "device": "hp2"}
        )
        assert status == 201 and drop["ends_utc"] is None
        with pytest.raises(ModbusIOException):
            await read_state_code(modbus, HP2_DEVICE_ID)
        await sim.step()
        status, listing = await call("GET", f"{sim.control_url}/faults")
        assert status == 200
        active = listing["active"]
        assert isinstance(active, list)
        assert [(f["id"], f["kind"], f["device"]) for f in active] == [
            (drop["id"], "comm_drop", "hp2")
        ]

        status, cleared = await call("DELETE", f"{sim.control_url}/faults/{drop['id']}")
        assert status == 200 and cleared["end_reason"] == "cleared"
        # a timed-out pymodbus client may have dropped its connection: start a fresh one
        modbus.close()
        assert await modbus.connect()
        assert await read_state_code(modbus, HP2_DEVICE_ID) == StateCode.OFF
        status, missing = await call("DELETE", f"{sim.control_url}/faults/{drop['id']}")
        assert status == 404 and missing["error"] == f"no active fault with id {drop['id']}"

        for device in ("hp1", "hp2"):
            status, _ = await call(
                "POST",
                f"{sim.control_url}/faults",
                {"kind": "sensor_stuck", "device": device, "role": "supply_temp_c"},
            )
            assert status == 201
        status, cleared_all = await call("POST", f"{sim.control_url}/faults/clear")
        assert status == 200
        assert [f["device"] for f in cleared_all["cleared"]] == ["hp1", "hp2"]
        status, state = await call("GET", f"{sim.control_url}/state")
        assert status == 200 and state["faults"] == []
    finally:
        modbus.close()


BAD_REQUESTS: list[tuple[str, str, object, int, str]] = [
    ("POST", "/faults", {"kind": "melt", "device": "hp1"}, 400, "kind: Input should be"),
    ("POST", "/faults", {"device": "hp1"}, 400, "kind: Field required"),
    ("POST", "/faults", {"kind": "comm_drop", "device": "hp9"}, 400, "device: no device"),
    (
        "POST",
        "/faults",
        {"kind": "sensor_nan", "device": "hp1", "role": "warp_kw"},
        400,
        "role: device 'hp1'",
    ),
    (
        "POST",
        "/faults",
        {"kind": "comm_drop", "device": "hp1", "duration_s": -1},
        400,
        "duration_s: Input should be greater than 0",
    ),
    ("POST", "/faults", "{not json", 400, "body: not valid JSON"),
    ("POST", "/faults", ["comm_drop"], 400, "expected a JSON object"),
    ("DELETE", "/faults/abc", None, 400, "id: 'abc' is not a fault id"),
    ("DELETE", "/faults/99", None, 404, "no active fault with id 99"),
    ("PUT", "/state", None, 405, "method PUT not allowed here; use GET"),
    ("GET", "/faults/clear", None, 405, "use POST"),
    ("GET", "/nothing", None, 404, "no resource /nothing; there are: GET /state"),
]


async def test_bad_requests_are_answered_with_the_field_named(sim: RunningSim) -> None:
    for method, path, body, status, message in BAD_REQUESTS:
        got_status, payload = await call(method, f"{sim.control_url}{path}", body)
        assert (got_status, method, path) == (status, method, path)
        assert message in str(payload["error"]), (method, path)
    status_after, listing = await call("GET", f"{sim.control_url}/faults")
    assert status_after == 200 and listing["active"] == [] and listing["history"] == []


async def test_a_garbled_request_gets_400_over_a_raw_socket(sim: RunningSim) -> None:
    port = int(sim.control_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HELLO\r\n\r\n")
    await writer.drain()
    reply = await reader.read()
    writer.close()
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"not an HTTP/1.x request line: 'HELLO'" in reply
