"""Benchmark of the control cycle and the drivers against the simulated plant, side by side.

For the largest reference plant and a synthetic plant of 16 units, 4 tanks and 32 valves:
- cycle duration p50/p99 (snapshot, estimate, stage, safety, writes) at a 1 s cycle;
- the time to read every device through the drivers versus the same requests issued with bare
  pymodbus / asyncua calls (the floor), alternated in one run so both see the same machine;
- the wall time of a demo day (river plant, planner in the loop) beside the load average.

    python bench/bench_cycle.py --out bench-results/cycle.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient

from controller.app import eventloop
from controller.app.demo import DEFAULT_PLANT, run_demo
from controller.app.lockstep import Instant, Lockstep, SocketIO, socket_io
from controller.config import Plant, load_plant, parse_control
from controller.runtime.cycle import ControlCycle
from controller.scenarios import default_scenario_path
from drivers.clock import SimClock
from drivers.modbus_blocks import plan_reads
from drivers.pointmap import ModbusTable
from drivers.scenario import load_scenario
from drivers.site import parse_site
from sim_plant.physics import Boundary, PlantModel

ROOT = Path(__file__).resolve().parent.parent
PLANTS = ROOT / "deploy" / "plants"
START = datetime(2024, 1, 8, tzinfo=UTC)


def synthetic_plant(units: int = 16, tanks: int = 4, valves: int = 32) -> Plant:
    """16 x 5 MW units each with an isolation valve, 16 more valves, 4 tanks, a boiler."""
    unit_rows = [
        {
            "name": f"hp{i}",
            "pointmap": "../pointmaps/generic_large_heat_pump.toml",
            "connection": "plc",
            "device_id": i,
            "heat_max_kw": 5000,
            "min_load_fraction": 0.3,
            "isolation_valve": f"v{i}",
            "min_run_s": 900,
            "min_off_s": 600,
            "max_starts_per_hour": 3,
        }
        for i in range(1, units + 1)
    ]
    valve_rows = [
        {
            "name": f"v{i}",
            "pointmap": "../pointmaps/generic_valve.toml",
            "connection": "plc",
            "device_id": 100 + i,
        }
        for i in range(1, valves + 1)
    ]
    tank_rows = [
        {
            "name": f"tank{i}",
            "pointmap": "../pointmaps/generic_tank_8_layers.toml",
            "connection": "scada",
            "node_prefix": f"Tank{i}",
            "volume_m3": 2000,
            "min_temp_c": 65,
            "max_temp_c": 85,
        }
        for i in range(1, tanks + 1)
    ]
    data: dict[str, Any] = {
        "plant": {"name": "synthetic_16_units"},
        "connections": {"plc": {"protocol": "modbus"}, "scada": {"protocol": "opcua"}},
        "network": {
            "design_heat_kw": 80000,
            "supply_temp_c": 80,
            "supply_temp_warm_c": 70,
            "supply_temp_min_c": 65,
            "return_temp_c": 42,
        },
        "source": {"kind": "river", "mean_temp_c": 8.0, "annual_amplitude_k": 6.0},
        "units": unit_rows,
        "valves": valve_rows,
        "tanks": tank_rows,
        "boiler": {
            "name": "boiler",
            "pointmap": "../pointmaps/generic_boiler.toml",
            "connection": "plc",
            "device_id": 240,
            "heat_max_kw": 40000,
        },
        "plant_io": {
            "name": "plant",
            "pointmap": "../pointmaps/generic_plant_io.toml",
            "connection": "scada",
            "node_prefix": "Plant",
        },
        "control": {"cycle_s": 1.0},
    }
    site = parse_site(data, "synthetic", str(PLANTS))
    return Plant(
        path=PLANTS / "synthetic.toml",
        site=site,
        control=parse_control(site.control, "synthetic"),
        maps=site.load_point_maps(),
    )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _floor_reader(
    plant: Plant, ports: dict[str, int]
) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """The same read requests the drivers send, as bare library calls (no decode, no cache)."""
    site = plant.site
    modbus_clients: dict[str, AsyncModbusTcpClient] = {}
    opcua_clients: dict[str, Client] = {}
    for name, connection in site.connections.items():
        if connection.protocol == "modbus":
            client = AsyncModbusTcpClient("127.0.0.1", port=ports[name], timeout=1, retries=0)
            await client.connect()
            modbus_clients[name] = client
        else:
            opc = Client(f"opc.tcp://127.0.0.1:{ports[name]}{connection.endpoint_path}", timeout=2)
            await opc.connect()
            opcua_clients[name] = opc
    requests: dict[str, list[Callable[[], Awaitable[Any]]]] = {
        name: [] for name in site.connections
    }
    opcua_nodes: dict[str, list[Any]] = {}
    for device in site.devices():
        point_map = plant.maps[device.name]
        if device.connection in modbus_clients:
            client = modbus_clients[device.connection]
            for block in plan_reads(point_map):
                reader = {
                    ModbusTable.HOLDING: client.read_holding_registers,
                    ModbusTable.INPUT: client.read_input_registers,
                    ModbusTable.COIL: client.read_coils,
                    ModbusTable.DISCRETE: client.read_discrete_inputs,
                }[block.table]
                requests[device.connection].append(
                    lambda r=reader, b=block, d=device.device_id: r(
                        b.address, count=b.count, device_id=d
                    )
                )
        else:
            opc = opcua_clients[device.connection]
            uri = point_map.opcua.namespace_uri if point_map.opcua else ""
            namespace = await opc.get_namespace_index(uri)
            opcua_nodes.setdefault(device.connection, []).extend(
                opc.get_node(
                    ua.NodeId((p.node_id or "").replace("{device}", device.prefix), namespace)
                )
                for p in point_map.points
            )
    # the drivers read all OPC UA devices of a connection in one request: so does the floor
    for name, nodes in opcua_nodes.items():
        requests[name].append(
            lambda o=opcua_clients[name], n=nodes: o.read_attributes(n, ua.AttributeIds.Value)
        )

    async def per_connection(calls: list[Callable[[], Awaitable[Any]]]) -> None:
        for call in calls:
            await call()

    async def read_all() -> None:
        await asyncio.gather(*(per_connection(calls) for calls in requests.values()))

    async def close() -> None:
        for client in modbus_clients.values():
            client.close()
        for opc in opcua_clients.values():
            await opc.disconnect()

    return read_all, close


class _TimedReads:
    """`PlantIO` that, after each clock move, times the bare-library floor and then the drivers
    reading the same devices, alternated in one run so both see the same machine."""

    def __init__(self, io: SocketIO, read_floor: Callable[[], Awaitable[None]]) -> None:
        self._io = io
        self._read_floor = read_floor
        self.poll_s: list[float] = []
        self.floor_s: list[float] = []

    async def publish(self) -> None:
        await self._io.publish()

    async def refresh(self) -> None:
        started = time.perf_counter()
        await self._read_floor()
        self.floor_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        await self._io.refresh()
        self.poll_s.append(time.perf_counter() - started)


async def bench_plant(plant: Plant, cycles: int) -> dict[str, Any]:
    plant = plant.with_control(cycle_s=1.0, policy="rules")
    clock = SimClock(START)
    model = PlantModel(plant.site, START)
    steady = Instant(Boundary(now_utc=START, outdoor_temp_c=-2.0))
    async with socket_io(plant, model, clock) as io:
        read_floor, close_floor = await _floor_reader(io.plant, io.servers.ports)
        try:
            reads = _TimedReads(io, read_floor)
            cycle = ControlCycle(io.plant, io.pool, clock)
            lockstep = Lockstep(model, clock, cycle, reads, lambda step, now: steady, 1.0)
            cycle_s: list[float] = []
            for _ in range(cycles):
                report = await lockstep.step()
                assert report is not None  # the lockstep ticks unless told not to
                cycle_s.append(report.duration_s)
            requests_per_poll = io.pool.requests_total / max(1, cycles)
        finally:
            await close_floor()
    poll_s, floor_s = reads.poll_s, reads.floor_s
    drop = min(20, cycles // 10)  # connection warm-up
    cycle_s, poll_s, floor_s = cycle_s[drop:], poll_s[drop:], floor_s[drop:]
    return {
        "plant": plant.site.plant.name,
        "units": len(plant.site.units),
        "valves": len(plant.site.valves),
        "tanks": len(plant.site.tanks),
        "cycles": len(cycle_s),
        "cycle_p50_ms": statistics.median(cycle_s) * 1e3,
        "cycle_p99_ms": _percentile(cycle_s, 0.99) * 1e3,
        "read_all_driver_p50_ms": statistics.median(poll_s) * 1e3,
        "read_all_floor_p50_ms": statistics.median(floor_s) * 1e3,
        "read_ratio_driver_to_floor": statistics.median(poll_s) / statistics.median(floor_s),
        "wire_requests_per_cycle": requests_per_poll,
    }


async def bench_demo(days: float) -> dict[str, Any]:
    plant = load_plant(DEFAULT_PLANT).with_control(policy="planner")
    scenario = load_scenario(default_scenario_path())
    load_before = os.getloadavg()
    summary = await run_demo(plant, scenario, START, days, progress=None)
    load_after = os.getloadavg()
    return {
        "plant": summary.plant,
        "simulated_days": days,
        "cycle_s": plant.control.cycle_s,
        "wall_s": summary.wall_s,
        # other work on the machine stretches the wall time: the 1, 5 and 15 min load averages
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "cpu_count": os.cpu_count(),
        "simulated_s_per_wall_s": summary.speedup,
        "wall_s_per_simulated_day": summary.wall_s / days,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "started_utc": datetime.now(UTC).isoformat(),
        "cycles_per_plant": args.cycles,
    }
    results["largest_reference_plant"] = await bench_plant(
        load_plant(PLANTS / "city_sea_4x44mw.toml"), args.cycles
    )
    results["synthetic_16_units"] = await bench_plant(synthetic_plant(), args.cycles)
    results["demo"] = await bench_demo(args.demo_days)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cycles", type=int, default=600)
    parser.add_argument("--demo-days", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    results = eventloop.run(main_async(args))  # the loop hpctl demo runs on
    results["event_loop"] = eventloop.name()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for key in ("largest_reference_plant", "synthetic_16_units"):
        r = results[key]
        print(
            f"{r['plant']:<22} cycle p50 {r['cycle_p50_ms']:.2f} ms p99 {r['cycle_p99_ms']:.2f} ms | "
            f"read all: drivers {r['read_all_driver_p50_ms']:.2f} ms, floor {r['read_all_floor_p50_ms']:.2f} ms, "
            f"ratio {r['read_ratio_driver_to_floor']:.2f} ({r['wire_requests_per_cycle']:.1f} requests)"
        )
    demo = results["demo"]
    print(
        f"demo {demo['plant']}: {demo['simulated_s_per_wall_s']:.0f} simulated s per wall s, "
        f"{demo['wall_s_per_simulated_day']:.0f} s per simulated day (cycle {demo['cycle_s']:g} s), "
        f"{demo['wall_s']:.1f} s wall at load {demo['load_average_after'][0]:.2f}"
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
