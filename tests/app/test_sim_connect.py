"""README step 3: a real plant's file, whose devices live on the plant network, runs against
`hpctl sim` unchanged: `hpctl sim --bind` serves it on this machine and `hpctl run --connect
NAME=HOST:PORT` reaches each connection there (issue 11: neither could override the hosts, so
the controller silently polled addresses that do not exist here)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RIVER = ROOT / "deploy" / "plants" / "river_20mw.toml"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _real_plant_file(folder: Path) -> Path:
    """The river plant as its site would have it: devices on 10.20.0.x at the standard ports."""
    text = RIVER.read_text(encoding="utf-8")
    text = text.replace('pointmap = "../pointmaps/', f'pointmap = "{ROOT}/deploy/pointmaps/')
    plc = text.index("[connections.plc]")
    scada = text.index("[connections.scada]")
    head, plc_part, rest = text[:plc], text[plc:scada], text[scada:]
    plc_part = plc_part.replace('host = "127.0.0.1"', 'host = "10.20.0.5"').replace(
        "port = 5020", "port = 502"
    )
    rest = rest.replace('host = "127.0.0.1"', 'host = "10.20.0.6"', 1)
    text = head + plc_part + rest
    text = text.replace("[control]\n", f'[control]\ndata_dir = "{folder / "data"}"\n', 1)
    path = folder / "site_plant.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _healthz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def _stop(process: asyncio.subprocess.Process) -> str:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
    return out.decode()


async def test_a_real_plant_file_runs_against_the_simulator_unchanged(tmp_path: Path) -> None:
    plant = _real_plant_file(tmp_path)
    before = plant.read_text(encoding="utf-8")
    modbus, opcua, metrics = _free_port(), _free_port(), _free_port()
    hpctl = [sys.executable, "-m", "controller.app.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pipes = {"stdout": asyncio.subprocess.PIPE, "stderr": asyncio.subprocess.STDOUT}
    sim = await asyncio.create_subprocess_exec(
        *hpctl, "sim", "--plant", str(plant), "--bind", "127.0.0.1",
        "--modbus-port", str(modbus), "--opcua-port", str(opcua), env=env, **pipes,
    )  # fmt: skip
    run = None
    try:
        for _ in range(300):
            if sim.returncode is not None:
                break
            try:
                for port in (modbus, opcua):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        run = await asyncio.create_subprocess_exec(
            *hpctl, "run", "--plant", str(plant), "--read-only", "--metrics-port", str(metrics),
            "--connect", f"plc=127.0.0.1:{modbus}", "--connect", f"scada=127.0.0.1:{opcua}",
            env=env, **pipes,
        )  # fmt: skip
        status, body = 0, {}
        for _ in range(600):
            if run.returncode is not None:
                break
            try:
                status, body = await asyncio.to_thread(_healthz, metrics)
            except OSError:
                status = 0
            if status == 200:
                break
            await asyncio.sleep(0.1)
        assert status == 200, body  # every device read, fresh data: the plant is supervised
        assert body["read_only"] is True
    finally:
        run_output = await _stop(run) if run is not None else ""
        sim_output = await _stop(sim)
    assert f"127.0.0.1:{modbus}" in sim_output, sim_output
    assert f"connection plc: 127.0.0.1:{modbus} (--connect)" in run_output, run_output
    assert "10.20.0." not in run_output  # never tried the plant network's addresses
    assert plant.read_text(encoding="utf-8") == before  # the file itself is unchanged
