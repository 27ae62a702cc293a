"""The fast control cycle: snapshot -> estimate -> stage -> safety -> write -> publish.

Every phase sees the same frozen snapshot; nothing reads a device mid-computation. The cycle
measures itself and, when run on its own schedule, skips missed ticks instead of bursting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Protocol

from controller.config import Plant
from controller.core.commands import Commands, Targets
from controller.core.estimate import SnapshotView, estimate
from controller.core.history import UnitHistory, first_history, update_history
from controller.core.report import CycleReport
from controller.core.safety import apply_safety
from controller.core.stage import stage
from controller.runtime.dispatch import RulesPolicy, TargetPolicy
from controller.runtime.outputs import HEARTBEAT_MODULUS, WriteDiff, command_points, handback_points
from controller.runtime.persist import HistoryStore
from drivers.clock import Clock
from drivers.errors import DriverError

log = logging.getLogger(__name__)


class DriverPoolLike(Protocol):
    def snapshot(self) -> SnapshotView: ...

    async def write(self, device: str, values: dict[str, float]) -> None: ...


class CycleObserver(Protocol):
    def observe(self, report: CycleReport) -> None: ...


@dataclass
class _Memory:
    histories: dict[str, UnitHistory] = field(default_factory=dict)
    targets: Targets | None = None
    commands: Commands | None = None
    tank_blind_since_s: float | None = None
    heartbeat: int = 0
    number: int = 0
    active_interlocks: frozenset[tuple[str, str]] = frozenset()


class ControlCycle:
    def __init__(
        self,
        plant: Plant,
        pool: DriverPoolLike,
        clock: Clock,
        policy: TargetPolicy | None = None,
        observers: list[CycleObserver] | None = None,
        history_store: HistoryStore | None = None,
    ) -> None:
        self._plant = plant
        self._pool = pool
        self._clock = clock
        self._policy = policy or RulesPolicy(plant)
        self._observers = observers or []
        self._memory = _Memory()
        self._diff = WriteDiff()
        self._boiler = plant.site.boiler.name if plant.site.boiler is not None else None
        self._store = history_store
        self._stored: dict[str, UnitHistory] | None = None
        self.overruns_total = 0

    @property
    def histories(self) -> dict[str, UnitHistory]:
        return dict(self._memory.histories)

    def add_observer(self, observer: CycleObserver) -> None:
        self._observers.append(observer)

    async def tick(self) -> CycleReport:
        wall_started = time.perf_counter()
        memory = self._memory
        snapshot = self._pool.snapshot()
        state = estimate(snapshot, self._plant.site)
        now_s = state.now_s
        if self._stored is None:
            self._stored = self._store.load(state.now_utc, now_s) if self._store is not None else {}
        for unit in state.units:
            previous = memory.histories.get(unit.name)
            if previous is None:
                if unit.state_code is not None:
                    stored = self._stored.get(unit.name)
                    # a stored history counts only if the unit is still in the state it recorded
                    if stored is not None and stored.compressor_on == unit.compressor_on:
                        memory.histories[unit.name] = update_history(stored, unit, now_s)
                    else:
                        memory.histories[unit.name] = first_history(unit, now_s)
            else:
                memory.histories[unit.name] = update_history(previous, unit, now_s)
        if self._store is not None:
            self._store.save_changed(memory.histories, state.now_utc, now_s)
        histories = {
            unit.name: memory.histories.get(unit.name) or first_history(unit, now_s)
            for unit in state.units
        }
        if state.soc is None:
            memory.tank_blind_since_s = (
                memory.tank_blind_since_s if memory.tank_blind_since_s is not None else now_s
            )
        else:
            memory.tank_blind_since_s = None
        blind_for_s = (
            0.0 if memory.tank_blind_since_s is None else now_s - memory.tank_blind_since_s
        )
        targets = self._policy.targets(state, histories, memory.targets)
        staged = stage(
            targets, state, histories, self._plant.site, self._plant.control, memory.commands
        )
        safe = apply_safety(
            staged, state, histories, self._plant.site, self._plant.control, blind_for_s
        )
        memory.heartbeat = (memory.heartbeat + 1) % HEARTBEAT_MODULUS
        writes: dict[str, dict[str, float]] = {}
        errors: dict[str, str] = {}
        if not self._plant.control.read_only:
            wanted = command_points(safe.commands, self._plant.maps, memory.heartbeat, self._boiler)
            writes = self._diff.changes(wanted)
            errors = await self._write_all(writes)
        active = frozenset((i.equipment, i.reason) for i in safe.interlocks)
        new_interlocks = tuple(
            i for i in safe.interlocks if (i.equipment, i.reason) not in memory.active_interlocks
        )
        for interlock in new_interlocks:
            log.warning(
                "interlock %s on %s: %s", interlock.reason, interlock.equipment, interlock.detail
            )
        memory.active_interlocks = active
        memory.targets = targets
        memory.commands = safe.commands
        memory.number += 1
        report = CycleReport(
            number=memory.number,
            state=state,
            targets=targets,
            commands=safe.commands,
            interlocks=safe.interlocks,
            new_interlocks=new_interlocks,
            handed_back=safe.handed_back,
            writes=writes,
            write_errors=errors,
            histories=histories,
            duration_s=time.perf_counter() - wall_started,
        )
        for observer in self._observers:
            observer.observe(report)
        return report

    async def _write_all(self, writes: dict[str, dict[str, float]]) -> dict[str, str]:
        devices = list(writes)
        results = await asyncio.gather(
            *(self._pool.write(device, writes[device]) for device in devices),
            return_exceptions=True,
        )
        errors: dict[str, str] = {}
        for device, result in zip(devices, results, strict=True):
            if isinstance(result, DriverError):
                errors[device] = str(result)
                self._diff.forget(device)
            elif isinstance(result, BaseException):
                raise result
            else:
                self._diff.accepted(device, writes[device])
        return errors

    async def hand_back(self) -> dict[str, str]:
        """Write every unit's and valve's safe defaults: the equipment's own control takes over."""
        if self._plant.control.read_only:
            return {}
        devices = [
            name
            for name, point_map in self._plant.maps.items()
            if any(p.writable for p in point_map.points)
        ]
        values = handback_points(self._plant.maps, devices)
        errors = await self._write_all(values)
        for device in values:
            self._diff.forget(device)
        return errors

    async def run(self, stop: asyncio.Event) -> None:
        """Tick on an aligned schedule until `stop`; a late cycle skips missed ticks."""
        period_s = self._plant.control.cycle_s
        next_tick_s = math.ceil(self._clock.monotonic_s() / period_s) * period_s
        while not stop.is_set():
            delay_s = next_tick_s - self._clock.monotonic_s()
            if delay_s > 0:
                sleeper = asyncio.ensure_future(self._clock.sleep(delay_s))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                sleeper.cancel()
                stopper.cancel()
                if stop.is_set():
                    break
            await self.tick()
            now_s = self._clock.monotonic_s()
            missed = math.floor((now_s - next_tick_s) / period_s)
            if missed > 0:
                self.overruns_total += missed
                log.warning("control cycle overran: %d tick(s) skipped", missed)
            next_tick_s += (missed + 1) * period_s if missed > 0 else period_s
