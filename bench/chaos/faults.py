"""Fault campaign: faults injected into a simulated plant under a live `hpctl run` controller.

This process serves the simulated plant (Modbus TCP and OPC UA on free 127.0.0.1 ports, real
time, 1 s steps), runs a Mosquitto broker and the controller as a subprocess on a copy of the
plant file pointed at them, and injects faults of 12 kinds: on the equipment (unit trip, a
device or a whole connection that stops answering, a sensor showing NaN or stuck, a stuck
valve) and on the controller's surroundings (broker down for a while, broker restart, SIGKILL
of the controller and restart, SIGSTOP for a while, its wall clock stepped forward or back,
its data disk full). An independent observer (`faults_observer`) judges the plant's physical
state every simulated second; the campaign checks the controller's loop (/healthz cycle count,
unexpected exits), the audit rows committed before each kill and the operator overrides active
before each kill. Results go to a JSON file and a printed summary.

    python -m bench.chaos.faults --quick
    python -m bench.chaos.faults --faults 1000 --kills 50 --out bench-results/chaos-faults.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiomqtt

from bench.chaos.faults_observer import RUNNING, STARTING, PlantObserver, PlantSample, UnitSample
from bench.chaos.faults_report import Tally, campaign_results, summary
from bench.chaos.faults_rig import (
    AuditDisk,
    ControllerProcess,
    audit_rows,
    audit_rows_up_to,
    prepare_plant_file,
    serve_plant_file,
)
from drivers.pointmap import DataType
from drivers.site import load_site
from sim_plant.physics import PlantModel
from sim_plant.runner import MAX_LAG_S, constant_boundary, sim_settings
from sim_plant.servers import PlantServers
from tests.ops.mosquitto import Broker, free_port

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PLANT = REPO / "deploy" / "plants" / "river_20mw.toml"
STEP_S = 1.0
EXCUSE_GRACE_S = 60.0  # an early stop this soon after a fault on the unit ended is excused
STALL_S = 30.0  # no new cycle for this long, while the process should be cycling: a stall
START_TIMEOUT_S = 120.0
# a trip takes a unit out for its reset and the controller's hold after it (minutes): spaced so
# that the units also run, start and stop under the other faults
TRIP_SPACING_S = 600.0
PROCESS_KINDS = ("controller_stall", "broker_down", "broker_restart", "clock_jump", "disk_full")
DEVICE_WEIGHTS = {
    "comm_drop": 5,
    "connection_drop": 1,
    "sensor_nan": 4,
    "sensor_stuck": 4,
    "valve_stuck": 2,
    "unit_trip": 1,
}
T = TypeVar("T")
log = logging.getLogger("chaos.faults")


class Campaign:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.rng = random.Random(args.seed)
        self.plant_file = prepare_plant_file(
            args.plant, workdir, args.protection_scale, args.tank_scale, args.initial_soc
        )
        self.site = load_site(self.plant_file)
        self.maps = self.site.load_point_maps()
        self.settings = sim_settings(self.site, str(self.plant_file))
        self.start_utc = datetime.now(UTC).replace(microsecond=0)
        self.model = PlantModel(self.site, self.start_utc, self.settings.initial_soc)
        self.observer = PlantObserver.for_site(self.site)
        self.tally = Tally()
        self.disk = AuditDisk(workdir / "data")
        self.broker = Broker(workdir / "mosquitto", free_port())
        self.controller: ControllerProcess | None = None
        self.busy: set[object] = set()
        self.excuse_count: Counter[str] = Counter()
        self.excuse_until: dict[str, float] = {}
        self.last_trip_s: dict[str, float] = {}
        self.controller_expected_down = True
        self.done = asyncio.Event()
        self.recovering = asyncio.Lock()
        self.prefix = f"hpctl/{self.site.plant.name}"
        self.unit_valve = {u.name: u.isolation_valve for u in self.site.units}
        self.devices = [d.name for d in self.site.devices()]
        self.by_connection: dict[str, list[str]] = {}
        for device in self.site.devices():
            self.by_connection.setdefault(device.connection, []).append(device.name)
        self.sensors = self._sensor_points()

    def _sensor_points(self) -> list[tuple[str, str, int | None]]:
        """Measured float points the model serves: the ones a NaN or a stuck value can hit."""
        points = []
        for device, point_map in self.maps.items():
            for point in point_map.points:
                floating = point.data_type in (DataType.FLOAT32, DataType.FLOAT64)
                if point.writable or not floating:
                    continue
                try:
                    self.model.true_value(device, point.role, point.index)
                except KeyError:
                    continue
                points.append((device, point.role, point.index))
        return points

    @property
    def sim_s(self) -> float:
        return (self.model.now_utc - self.start_utc).total_seconds()

    # -- the plant and its observer ------------------------------------------------------------

    async def serve_plant(self, servers: PlantServers) -> None:
        boundary_at = constant_boundary(self.settings.outdoor_temp_c)
        origin_s, steps = time.monotonic(), 0
        while not self.done.is_set():
            steps += 1
            wait_s = origin_s + steps * STEP_S - time.monotonic()
            if wait_s < -MAX_LAG_S:
                origin_s, steps = time.monotonic(), 0
            await asyncio.sleep(max(0.0, wait_s))
            self.model.step(STEP_S, boundary_at(self.model.now_utc))
            await servers.sync()
            self.observer.sample(self._sample())

    def _sample(self) -> PlantSample:
        bank = self.model.units
        units = {
            name: UnitSample(
                int(bank.state[i]), float(bank.supply_temp_c[i]), bool(bank.remote_active[i])
            )
            for name, i in bank.index.items()
        }
        tanks = {tank.spec.name: tank.top_temp_c for tank in self.model.tanks}
        now_s = self.sim_s
        excused = frozenset(
            unit
            for unit in units
            if self.excuse_count[unit] > 0 or self.excuse_until.get(unit, -1.0) >= now_s
        )
        return PlantSample(now_s, units, tanks, excused)

    def _trippable_unit(self) -> str | None:
        """A unit that runs (or starts) and has not tripped within `TRIP_SPACING_S`."""
        bank = self.model.units
        now_s = self.sim_s
        candidates = [
            unit
            for unit, i in bank.index.items()
            if int(bank.state[i]) in (STARTING, RUNNING)
            and now_s - self.last_trip_s.get(unit, -TRIP_SPACING_S) >= TRIP_SPACING_S
        ]
        return self.rng.choice(candidates) if candidates else None

    def _units_touched(self, device: str) -> list[str]:
        """Units whose early stop a fault on `device` excuses: the unit, its valve's, all for
        the tank (the high limit and the state of charge depend on it)."""
        if device in self.unit_valve:
            return [device]
        if any(tank.name == device for tank in self.site.tanks):
            return list(self.unit_valve)
        return [unit for unit, valve in self.unit_valve.items() if valve == device]

    def _excuse(self, units: list[str]) -> None:
        self.excuse_count.update(units)

    def _unexcuse(self, units: list[str]) -> None:
        for unit in units:
            self.excuse_count[unit] -= 1
            self.excuse_until[unit] = self.sim_s + EXCUSE_GRACE_S

    # -- equipment faults ----------------------------------------------------------------------

    async def device_lane(self, count: int, target_s: float) -> None:
        """`count` equipment faults, paced over `target_s`; a pick whose targets are all busy
        injects nothing and is drawn again at the next slot."""
        kinds, weights = zip(*DEVICE_WEIGHTS.items(), strict=True)
        tasks: set[asyncio.Task[None]] = set()
        origin = time.monotonic()
        picks = 0
        while self._device_faults_injected() < count and picks < 3 * count:
            kind = self.rng.choices(kinds, weights)[0] if picks >= len(kinds) else kinds[picks]
            picks += 1
            task = asyncio.create_task(self._device_fault(kind))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            due = origin + self._device_faults_injected() * target_s / count
            await asyncio.sleep(max(0.2, due - time.monotonic()))
        await asyncio.gather(*tasks)

    def _device_faults_injected(self) -> int:
        return sum(self.tally.faults[kind] for kind in DEVICE_WEIGHTS)

    async def _device_fault(self, kind: str) -> None:
        faults = self.model.faults
        duration_s = self.rng.uniform(5.0, 30.0)
        if kind == "unit_trip":
            unit = self._trippable_unit()
            if unit is not None:
                faults.trip_unit(unit)
                self.last_trip_s[unit] = self.sim_s
                self.tally.faults[kind] += 1
                return
            kind = "comm_drop"  # a unit tripped again and again would only ever stand still
        if kind == "sensor_nan" or kind == "sensor_stuck":
            key = self._free(self.sensors)
            if key is None:
                return
            device, role, index = key
            units = self._units_touched(device)
            self._excuse(units)
            (faults.nan_sensor if kind == "sensor_nan" else faults.stick_sensor)(
                device, role, index
            )
            await self._hold(kind, [key], duration_s)
            faults.clear_sensor(device, role, index)
            self._unexcuse(units)
            return
        if kind == "valve_stuck":
            valve = self._free([v.name for v in self.site.valves])
            if valve is None:
                return
            units = self._units_touched(valve)
            self._excuse(units)
            faults.stick_valve(valve)
            await self._hold(kind, [valve], self.rng.uniform(10.0, 60.0))
            faults.free_valve(valve)
            self._unexcuse(units)
            return
        if kind == "connection_drop":
            connection = self.rng.choice(sorted(self.by_connection))
            devices = [d for d in self.by_connection[connection] if d not in self.busy]
        else:
            chosen = self._free(self.devices)
            devices = [chosen] if chosen is not None else []
        if not devices:
            return
        units = sorted({u for d in devices for u in self._units_touched(d)})
        self._excuse(units)
        for device in devices:
            faults.drop_comm(device)
        await self._hold(kind, devices, duration_s if kind == "comm_drop" else duration_s / 2)
        for device in devices:
            faults.restore_comm(device)
        self._unexcuse(units)

    def _free(self, candidates: Sequence[T]) -> T | None:
        free = [c for c in candidates if c not in self.busy]
        return self.rng.choice(free) if free else None

    async def _hold(self, kind: str, targets: Sequence[object], duration_s: float) -> None:
        self.busy.update(targets)
        self.tally.faults[kind] += 1
        try:
            await asyncio.sleep(duration_s)
        finally:
            self.busy.difference_update(targets)

    # -- faults around the controller: one at a time, in their own lane -----------------------

    async def process_lane(self, kills: int, others: int, target_s: float) -> None:
        plan = ["controller_kill"] * kills
        plan += [PROCESS_KINDS[n % len(PROCESS_KINDS)] for n in range(others)]
        if "disk_full" in plan and not self.disk.mounted:
            plan = [k for k in plan if k != "disk_full"]
        self.rng.shuffle(plan)
        origin = time.monotonic()
        for n, kind in enumerate(plan):
            await self._process_fault(kind)
            self.tally.faults[kind] += 1
            due = origin + (n + 1) * target_s / max(1, len(plan))
            await asyncio.sleep(max(1.0, due - time.monotonic()))

    async def _process_fault(self, kind: str) -> None:
        await self._recover()  # a controller that died of the last fault is restarted first
        controller = self._controller()
        if kind == "controller_kill":
            await self._kill_and_restart()
        elif kind == "controller_stall":
            before = await self._cycle() or 0
            self.controller_expected_down = True
            controller.pause()
            await asyncio.sleep(self.rng.uniform(5.0, 20.0))
            controller.resume()
            await self._cycling_again(before + 1, "after SIGCONT")
        elif kind == "broker_down":
            await asyncio.to_thread(self.broker.stop)
            await asyncio.sleep(self.rng.uniform(10.0, 30.0))
            await asyncio.to_thread(self.broker.start)
        elif kind == "broker_restart":
            await asyncio.to_thread(self.broker.restart)
        elif kind == "clock_jump":
            minutes = self.rng.choice([-30.0, -5.0, 5.0, 60.0])
            controller.set_clock_offset(minutes * 60.0)
            await asyncio.sleep(self.rng.uniform(20.0, 40.0))
            controller.set_clock_offset(0.0)
        elif kind == "disk_full":
            await asyncio.to_thread(self.disk.fill)
            await asyncio.sleep(self.rng.uniform(15.0, 40.0))
            await asyncio.to_thread(self.disk.free)

    def _controller(self) -> ControllerProcess:
        if self.controller is None:
            raise RuntimeError("the controller was never started")
        return self.controller

    async def _kill_and_restart(self) -> None:
        controller = self._controller()
        audit_path = self.disk.mount_point / "audit.sqlite3"
        record: dict[str, object] = {"sim_s": round(self.sim_s, 1)}
        record["override"] = await self._send_override(len(self.tally.kills))
        active_before = await self._overrides_active(wait_for_at_least=1.0)
        rows_before, highest = await asyncio.to_thread(audit_rows, audit_path)
        self.controller_expected_down = True
        controller.kill()
        record |= {"audit_rows_before": rows_before, "overrides_before": active_before}
        controller.start()
        record["restarted"] = await self._cycling_again(2, "after a SIGKILL restart")
        kept = await asyncio.to_thread(audit_rows_up_to, audit_path, highest)
        active_after = await self._overrides_active(wait_for_at_least=active_before)
        lost_rows = rows_before - kept
        lost_overrides = max(0.0, active_before - active_after)
        self.tally.lost_audit_rows += lost_rows
        self.tally.lost_overrides += int(lost_overrides)
        record |= {"lost_audit_rows": lost_rows, "overrides_after": active_after}
        self.tally.kills.append(record)

    async def _send_override(self, n: int) -> dict[str, object]:
        """An operator request over MQTT, answered before the kill: a setpoint or a manual
        on/off (which must still wait for the unit's minimum run or off time)."""
        for _ in range(60):  # a request sent while the bridge reconnects would never arrive
            connected = await asyncio.to_thread(self._controller().metric, "hpctl_mqtt_connected")
            if connected == 1.0:
                break
            await asyncio.sleep(0.5)
        unit = self.rng.choice(list(self.unit_valve))
        expires = datetime.now(UTC) + timedelta(minutes=self.rng.uniform(5.0, 15.0))
        request: dict[str, object] = {
            "id": f"chaos-{n}",
            "unit": unit,
            "priority": 50,
            "expires_utc": expires.isoformat(),
            "operator": "chaos",
        }
        if n % 2 == 0:
            request |= {"kind": "setpoint", "heat_kw": 6000.0}
        else:
            on = self.rng.random() < 0.5
            request |= {"kind": "manual", "on": on} | ({"heat_kw": 5000.0} if on else {})
        try:
            async with asyncio.timeout(20.0):
                async with aiomqtt.Client("127.0.0.1", self.broker.port, timeout=10) as client:
                    await client.subscribe(f"{self.prefix}/reply", qos=1)
                    await client.publish(f"{self.prefix}/request", json.dumps(request), qos=1)
                    async for message in client.messages:
                        payload = message.payload
                        if not isinstance(payload, bytes | bytearray):
                            continue
                        reply = json.loads(payload)
                        if reply.get("id") == request["id"]:
                            return {"request": request, "reply": reply}
        except (TimeoutError, aiomqtt.MqttError) as error:
            return {"request": request, "reply": None, "error": repr(error)}
        return {"request": request, "reply": None}

    async def _overrides_active(self, wait_for_at_least: float) -> float:
        """Active overrides as the controller exports them; waits up to 15 s to reach a count."""
        controller = self._controller()
        total = 0.0
        for _ in range(30):
            values = [
                await asyncio.to_thread(
                    controller.metric, "hpctl_operator_overrides_active", f'kind="{kind}"'
                )
                for kind in ("manual", "setpoint", "curtail", "boost")
            ]
            total = sum(v for v in values if v is not None)
            if total >= wait_for_at_least:
                return total
            await asyncio.sleep(0.5)
        return total

    # -- the controller's loop -----------------------------------------------------------------

    async def _wait_cycling(self, at_least: int) -> bool:
        """Wait until /healthz shows cycle number `at_least` or later (a restarted process
        counts from 1); False when the process exits or the start timeout passes."""
        controller = self._controller()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if controller.exited() is not None:
                return False
            cycle = await self._cycle()
            if cycle is not None and cycle >= at_least:
                self.controller_expected_down = False
                return True
            await asyncio.sleep(0.5)
        return False

    async def _cycle(self) -> int | None:
        body = await asyncio.to_thread(self._controller().healthz)
        cycle = body.get("cycle") if body else None
        return cycle if isinstance(cycle, int) else None

    async def _cycling_again(self, at_least: int, when: str) -> bool:
        """Wait for cycle `at_least`; a process that exits or never cycles is a crash."""
        if await self._wait_cycling(at_least):
            return True
        if self._controller().exited() is None:
            self._crash(f"no cycle within {START_TIMEOUT_S:g} s {when}")
            self._controller().kill()
        await self._recover()
        return False

    async def _recover(self) -> None:
        """Restart a controller that exited on its own (a crash), until it cycles again."""
        async with self.recovering:
            controller = self._controller()
            for _ in range(3):
                code = controller.exited()
                if code is None and controller.process is not None:
                    return
                if code is not None:
                    self._crash(f"exited with code {code}")
                self.controller_expected_down = True
                controller.process = None
                controller.start()
                if await self._wait_cycling(at_least=1):
                    return

    def _crash(self, reason: str) -> None:
        controller = self._controller()
        tail = controller.log_file.read_text(errors="replace").splitlines()[-15:]
        self.tally.crashes.append({"sim_s": round(self.sim_s, 1), "reason": reason, "log": tail})
        log.error("controller crash: %s", reason)

    async def watch_loop(self) -> None:
        """Unexpected exits and stalled cycles; a crashed controller is restarted to go on."""
        controller = self._controller()
        last_cycle, last_change = -1, time.monotonic()
        stalled = False
        while not self.done.is_set():
            await asyncio.sleep(2.0)
            if self.controller_expected_down:
                last_cycle, last_change, stalled = -1, time.monotonic(), False
                continue
            if controller.exited() is not None:
                await self._recover()
                continue
            body = await asyncio.to_thread(controller.healthz)
            cycle = body.get("cycle") if body else None
            if isinstance(cycle, int) and cycle != last_cycle:
                last_cycle, last_change, stalled = cycle, time.monotonic(), False
            elif time.monotonic() - last_change > STALL_S and not stalled:
                stalled = True
                self.tally.stalls.append(
                    {"sim_s": round(self.sim_s, 1), "last_cycle": last_cycle, "health": body}
                )
                log.error("controller loop stalled at cycle %s: %s", last_cycle, body)

    # -- the whole run -------------------------------------------------------------------------

    async def run(self) -> dict[str, object]:
        if not self.disk.mount():
            self.disk.mount_point.mkdir(parents=True, exist_ok=True)
            self.tally.notes.append("no tmpfs for the data directory (not root?): no disk_full")
        self.broker.directory.mkdir()
        await asyncio.to_thread(self.broker.start)
        try:
            async with PlantServers(
                self.site, self.maps, self.model, now=lambda: self.model.now_utc
            ) as servers:
                return await self._run_with(servers)
        finally:
            await asyncio.to_thread(self.broker.stop)
            self.disk.unmount()

    async def _run_with(self, servers: PlantServers) -> dict[str, object]:
        args = self.args
        metrics_port = free_port()
        serve_plant_file(
            self.plant_file, servers.ports, self.disk.mount_point, metrics_port, self.broker.port
        )
        self.controller = ControllerProcess(
            self.plant_file,
            metrics_port,
            self.workdir / "clock_offset_s",
            self.workdir / "hpctl.log",
            repo=self.args.controller_repo,
        )
        plant_task = asyncio.create_task(self.serve_plant(servers), name="plant")
        self.controller.start()
        if not await self._wait_cycling(at_least=1):
            self._crash("did not cycle within the start timeout")
            self.done.set()
            await plant_task
            return self._results(0.0, None)
        watch = asyncio.create_task(self.watch_loop(), name="watch")
        # A controller without a recorded history counts its units as just stopped: faults
        # begin once it could have started them, so that they hit a plant that runs.
        warmup_s = args.warmup_s
        if warmup_s is None:
            warmup_s = max(u.min_off_s + u.startup_delay_s for u in self.site.units) + 30.0
        log.info("warm-up: %.0f s without faults", warmup_s)
        await asyncio.sleep(warmup_s)
        others = max(len(PROCESS_KINDS) + 1, round(args.faults * 0.05))
        device_faults = max(len(DEVICE_WEIGHTS), args.faults - args.kills - others)
        target_s = args.minutes * 60.0
        log.info(
            "plant %s: %d equipment faults, %d kills, %d other controller faults over ~%.0f min",
            self.site.plant.name,
            device_faults,
            args.kills,
            others,
            args.minutes,
        )
        began = time.monotonic()
        await asyncio.gather(
            self.device_lane(device_faults, target_s),
            self.process_lane(args.kills, others, target_s),
        )
        await asyncio.sleep(args.settle_s)  # the plant's answer to the last faults is judged too
        rows, _ = await asyncio.to_thread(audit_rows, self.disk.mount_point / "audit.sqlite3")
        self.controller_expected_down = True
        # in a thread: the plant's servers on this loop must answer the hand-back writes
        code = await asyncio.to_thread(self.controller.stop)
        if code != 0:
            self._crash(f"SIGTERM at the end gave exit code {code}")
        bank = self.model.units
        self.tally.handed_back = bool((bank.remote_request < 0.5).all())
        self.tally.log_lines = self.controller.log_file.read_text(errors="replace").splitlines()
        self.done.set()
        watch.cancel()
        await plant_task
        return self._results(time.monotonic() - began, rows, warmup_s)

    def _results(
        self, faulted_s: float, audit_rows_end: int | None, warmup_s: float = 0.0
    ) -> dict[str, object]:
        settings = {
            "seed": self.args.seed,
            "protection_scale": self.args.protection_scale,
            "tank_scale": self.args.tank_scale,
            "initial_soc": self.args.initial_soc,
            "warmup_s": warmup_s,
        }
        return campaign_results(
            self.site.plant.name,
            settings,
            self.observer,
            self.tally,
            self.sim_s,
            faulted_s,
            audit_rows_end,
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--plant", type=Path, default=DEFAULT_PLANT)
    parser.add_argument("--quick", action="store_true", help="a few minutes: 40 faults, 3 kills")
    parser.add_argument("--faults", type=int, help="faults of all kinds (default 1000)")
    parser.add_argument("--kills", type=int, help="SIGKILL restarts among them (default 50)")
    parser.add_argument("--minutes", type=float, help="pace the faults over this long")
    parser.add_argument(
        "--warmup-s", type=float, help="seconds before the first fault (default: a min off time)"
    )
    parser.add_argument("--settle-s", type=float, default=30.0)
    parser.add_argument(
        "--protection-scale",
        type=float,
        default=0.2,
        help="units' min run, min off and start-up delay times this, starts/h over it (0.2)",
    )
    parser.add_argument(
        "--tank-scale", type=float, default=0.05, help="tank volume times this (0.05)"
    )
    parser.add_argument(
        "--initial-soc", type=float, default=0.3, help="the tank's state of charge at the start"
    )
    parser.add_argument(
        "--controller-repo",
        type=Path,
        default=REPO,
        help="run the controller from this checkout (default: this one)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "chaos-faults.json")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.faults = args.faults or (40 if args.quick else 1000)
    args.kills = args.kills if args.kills is not None else (3 if args.quick else 50)
    args.minutes = args.minutes or (3.0 if args.quick else 25.0)
    if args.faults < 1 or args.kills < 0 or args.kills > args.faults or args.minutes <= 0:
        parser.error("need --faults >= 1, 0 <= --kills <= --faults and --minutes > 0")
    if not (0 < args.protection_scale <= 1 and 0 < args.tank_scale <= 1):
        parser.error("--protection-scale and --tank-scale must lie in (0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    workdir = Path(tempfile.mkdtemp(prefix="hpctl-chaos-faults-"))
    load_before = os.getloadavg()
    began = time.monotonic()
    try:
        results = asyncio.run(Campaign(args, workdir).run())
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["wall_time_s"] = round(time.monotonic() - began, 1)
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    results["load_average_at_start"] = [round(x, 2) for x in load_before]
    results["cpu_count"] = os.cpu_count()
    results["work_directory"] = str(workdir) if args.keep else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(summary(results))
    print(f"results: {args.out}")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
