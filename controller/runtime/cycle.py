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
from dataclasses import dataclass, field, replace
from typing import Protocol

from controller.config import Plant
from controller.core.commands import Commands, Interlock, Targets
from controller.core.estimate import PlantState, SnapshotView, estimate
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
from controller.core.trips import TripEvent, trip_events
from controller.runtime.dispatch import RulesPolicy, TargetPolicy
from controller.runtime.outputs import (
    HEARTBEAT_MODULUS,
    HandBack,
    WriteDiff,
    command_points,
    handback_points,
)
from controller.runtime.persist import HistoryStore
from controller.runtime.policy_guard import PolicyGuard
from controller.runtime.unit_histories import UnitHistories
from drivers.clock import Clock
from drivers.errors import DriverError

log = logging.getLogger(__name__)

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
        self._policy = PolicyGuard(policy or RulesPolicy(), RulesPolicy())
        self._observers = observers or []
        self._memory = _Memory()
        self._histories = UnitHistories(history_store)
        self._diff = WriteDiff()
        self._boiler = plant.site.boiler.name if plant.site.boiler is not None else None
        self.overruns_total = 0

    @property
    def policy_failures(self) -> dict[str, int]:
        """Cycles whose policy raised and the rules stood in, by the policy that raised."""
        return dict(self._policy.failures)

    @property
    def policy_failures_total(self) -> int:
        return self._policy.failures_total

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
        trips = self._trips(histories, state)
        situation = Situation(state, histories, self._plant.site, self._plant.control)
        # a policy that raises is caught here: the rules rung decides this cycle
        targets, failure = self._policy.targets(situation, self._memory.targets)
        staged = stage(targets, situation, self._memory.commands)
        safe = self._safety(staged, situation)
        writes, errors = await self._write(safe.commands)
        new_interlocks = self._new_interlocks(safe.interlocks)
        report = self._record(
            situation, targets, safe, new_interlocks, writes, errors, wall_started
        )
        report = replace(report, trips=trips, policy_failure=failure)
        self._publish(report)
        return report

    def _trips(self, histories: dict[str, UnitHistory], state: PlantState) -> tuple[TripEvent, ...]:
        """The trips measured this cycle and the trips that cleared: logged once, as they happen."""
        trips = trip_events(histories, state, self._plant.control.safety.trip_reset_s)
        for trip in trips:
            if trip.kind == "trip":
                log.warning("%s", trip.describe())
            else:
                log.info("%s", trip.describe())
        return trips

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
            read_only=self._plant.control.read_only,
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

    async def hand_back(self) -> HandBack:
        """Write every unit's and valve's safe defaults: the equipment's own control takes over.

        Reports, per device, whether it took them; any error counts as a failure here (the
        shutdown goes on to close the connections either way). Read-only: nothing is written."""
        if self._plant.control.read_only:
            return HandBack(read_only=True)
        values = handback_points(self._plant.maps, self.commanded_devices)
        devices = list(values)
        results = await asyncio.gather(
            *(self._pool.write(device, values[device]) for device in devices),
            return_exceptions=True,
        )
        for device in devices:
            self._diff.forget(device)
        return HandBack(
            reached=tuple(d for d, r in zip(devices, results, strict=True) if r is None),
            failed={
                d: str(r) or type(r).__name__
                for d, r in zip(devices, results, strict=True)
                if isinstance(r, BaseException)
            },
        )

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
