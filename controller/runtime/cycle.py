"""The fast control cycle: snapshot -> estimate -> histories -> targets -> stage -> safety ->
write + heartbeat -> publish.

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
from controller.core.commands import Commands, Interlock, Targets
from controller.core.estimate import SnapshotView, estimate
from controller.core.history import UnitHistory
from controller.core.report import CycleReport
from controller.core.safety import (
    InterlockKey,
    SafetyResult,
    apply_safety,
    interlock_keys,
    newly_active,
)
from controller.core.situation import Situation
from controller.core.stage import stage
from controller.core.tank_blind import TankBlindTimer
from controller.runtime.dispatch import RulesPolicy, TargetPolicy
from controller.runtime.outputs import HEARTBEAT_MODULUS, WriteDiff, command_points, handback_points
from controller.runtime.persist import HistoryStore
from controller.runtime.unit_histories import UnitHistories
from drivers.clock import Clock
from drivers.errors import DriverError

log = logging.getLogger(__name__)

_RULES = RulesPolicy()  # the rung a failing policy drops to

Writes = dict[str, dict[str, float]]  # device -> point -> value


class DriverPoolLike(Protocol):
    def snapshot(self) -> SnapshotView: ...

    async def write(self, device: str, values: dict[str, float]) -> None: ...


class CycleObserver(Protocol):
    def observe(self, report: CycleReport) -> None: ...


@dataclass
class _Memory:
    """What one cycle hands to the next (the unit histories are kept by `UnitHistories`)."""

    targets: Targets | None = None
    commands: Commands | None = None
    tank_blind: TankBlindTimer = field(default_factory=TankBlindTimer)
    heartbeat: int = 0
    number: int = 0
    active_interlocks: frozenset[InterlockKey] = frozenset()


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
        self._policy = policy or RulesPolicy()
        self._observers = observers or []
        self._memory = _Memory()
        self._histories = UnitHistories(history_store)
        self._diff = WriteDiff()
        self._boiler = plant.site.boiler.name if plant.site.boiler is not None else None
        self.overruns_total = 0
        self.policy_failures_total = 0  # cycles whose policy raised and the rules stood in
        self._policy_failing = False

    @property
    def histories(self) -> dict[str, UnitHistory]:
        return self._histories.known

    def add_observer(self, observer: CycleObserver) -> None:
        self._observers.append(observer)

    async def tick(self) -> CycleReport:
        """One cycle, its phases in the architecture's order."""
        wall_started = time.perf_counter()
        snapshot = self._pool.snapshot()
        state = estimate(snapshot, self._plant.site)
        histories = self._histories.fold(state)
        situation = Situation(state, histories, self._plant.site, self._plant.control)
        targets = self._targets(situation)
        staged = stage(targets, situation, self._memory.commands)
        safe = self._safety(staged, situation)
        writes, errors = await self._write(safe.commands)
        new_interlocks = self._new_interlocks(safe.interlocks)
        report = self._record(
            situation, targets, safe, new_interlocks, writes, errors, wall_started
        )
        self._publish(report)
        return report

    def _targets(self, situation: Situation) -> Targets:
        """The policy's targets; when it raises, the rules rung's for this cycle, so that a bug in
        the plan follower or the operator desk never stops the plant's control."""
        previous = self._memory.targets
        try:
            targets = self._policy.targets(situation, previous)
        except Exception:
            self.policy_failures_total += 1
            if not self._policy_failing:
                log.exception("dispatch: the policy raised; the rules run until it recovers")
            self._policy_failing = True
            return _RULES.targets(situation, previous)
        if self._policy_failing:
            log.warning("dispatch: the policy answers again")
            self._policy_failing = False
        return targets

    def _safety(self, staged: Commands, situation: Situation) -> SafetyResult:
        """Safety last; the tank-blind timer it hands back on advances with every cycle."""
        memory = self._memory
        memory.tank_blind = memory.tank_blind.after(situation.state)
        blind_for_s = memory.tank_blind.blind_for_s(situation.state.now_s)
        return apply_safety(staged, situation, blind_for_s)

    async def _write(self, commands: Commands) -> tuple[Writes, dict[str, str]]:
        """Only changed points reach the devices, and every `REFRESH_S` a device's unchanged ones;
        the heartbeat moves every cycle, written or not.

        Returns the writes sent and the devices that refused theirs (device -> error)."""
        memory = self._memory
        memory.heartbeat = (memory.heartbeat + 1) % HEARTBEAT_MODULUS
        if self._plant.control.read_only:
            return {}, {}
        wanted = command_points(commands, self._plant.maps, memory.heartbeat, self._boiler)
        writes = self._diff.changes(wanted, self._clock.monotonic_s())
        return writes, await self._write_all(writes)

    def _new_interlocks(self, interlocks: tuple[Interlock, ...]) -> tuple[Interlock, ...]:
        """The interventions not active in the cycle before: logged once, when they begin."""
        memory = self._memory
        new = newly_active(interlocks, memory.active_interlocks)
        for interlock in new:
            log.warning(
                "interlock %s on %s: %s", interlock.reason, interlock.equipment, interlock.detail
            )
        memory.active_interlocks = interlock_keys(interlocks)
        return new

    def _record(
        self,
        situation: Situation,
        targets: Targets,
        safe: SafetyResult,
        new_interlocks: tuple[Interlock, ...],
        writes: Writes,
        errors: dict[str, str],
        wall_started: float,
    ) -> CycleReport:
        """Keep what the next cycle starts from; return what this one saw, decided and did."""
        memory = self._memory
        memory.targets = targets
        memory.commands = safe.commands
        memory.number += 1
        return CycleReport(
            number=memory.number,
            state=situation.state,
            targets=targets,
            commands=safe.commands,
            interlocks=safe.interlocks,
            new_interlocks=new_interlocks,
            handed_back=safe.handed_back,
            writes=writes,
            write_errors=errors,
            histories=dict(situation.histories),
            duration_s=time.perf_counter() - wall_started,
        )

    def _publish(self, report: CycleReport) -> None:
        for observer in self._observers:
            observer.observe(report)

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

    @property
    def commanded_devices(self) -> list[str]:
        """The devices with writable points: those a hand-back writes safe defaults to."""
        return [
            name
            for name, point_map in self._plant.maps.items()
            if any(p.writable for p in point_map.points)
        ]

    async def hand_back(self) -> dict[str, str]:
        """Write every unit's and valve's safe defaults: the equipment's own control takes over."""
        if self._plant.control.read_only:
            return {}
        values = handback_points(self._plant.maps, self.commanded_devices)
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
