"""The faults of a running `hpctl sim`: injected, timed out, cleared, each with an id.

Both the schedule and the control endpoint go through one `FaultBook`, which drives the plant's
`Faults`. Times are simulated: a fault with `duration_s` ends at the first step boundary at or
after its end, and a scheduled entry starts at the first step boundary at or after its time.
A new fault on a target that already has one (the same device for comm_drop and valve_stuck,
the same point for the sensor kinds) replaces it, as `Faults` itself does.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sim_plant.fault_schedule import (
    DEFAULT_ALARM_CODE,
    FaultKind,
    FaultScheduleError,
    FaultSpec,
    ScheduledFault,
)
from sim_plant.physics import PlantModel

_log = logging.getLogger(__name__)

HISTORY_LIMIT = 1000  # ended faults kept for GET /faults; a long campaign must not grow memory

EndReason = Literal["expired", "cleared", "replaced", "instant"]
Target = tuple[str, str, str | None, int | None]


class FaultRequestError(ValueError):
    """A fault that does not fit the plant (an unknown device, a role the device lacks)."""


@dataclass
class FaultRecord:
    """One injected fault and what became of it."""

    id: int
    spec: FaultSpec
    source: Literal["schedule", "api"]
    started_utc: datetime
    ends_utc: datetime | None
    ended_utc: datetime | None = None
    end_reason: EndReason | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            **self.spec.model_dump(mode="json", exclude_none=True),
            "source": self.source,
            "started_utc": self.started_utc.isoformat(),
            "ends_utc": None if self.ends_utc is None else self.ends_utc.isoformat(),
            "ended_utc": None if self.ended_utc is None else self.ended_utc.isoformat(),
            "end_reason": self.end_reason,
        }


def _target(spec: FaultSpec) -> Target | None:
    """What a fault occupies; None for an instant fault (a trip) that occupies nothing."""
    if spec.kind is FaultKind.UNIT_TRIP:
        return None
    if spec.kind is FaultKind.COMM_DROP:
        return ("comm", spec.device, None, None)
    if spec.kind is FaultKind.VALVE_STUCK:
        return ("valve", spec.device, None, None)
    return ("sensor", spec.device, spec.role, spec.index)


@dataclass
class FaultBook:
    """Active, pending and ended faults of one simulated plant."""

    model: PlantModel
    _pending: deque[ScheduledFault] = field(default_factory=deque)
    _active: dict[int, FaultRecord] = field(default_factory=dict)
    _by_target: dict[Target, int] = field(default_factory=dict)
    _history: deque[FaultRecord] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    _next_id: int = 1

    def check(self, spec: FaultSpec) -> None:
        """Raise FaultRequestError naming the field if `spec` does not fit this plant."""
        site = self.model.site
        kind = spec.kind
        if kind is FaultKind.UNIT_TRIP:
            allowed = [unit.name for unit in site.units]
            what = "heat-pump unit"
        elif kind is FaultKind.VALVE_STUCK:
            allowed = [valve.name for valve in site.valves]
            what = "valve"
        else:
            allowed = [device.name for device in site.devices()]
            what = "device"
        if spec.device not in allowed:
            raise FaultRequestError(
                f"device: no {what} named '{spec.device}' for {kind} "
                f"(this plant has: {', '.join(allowed) or 'none'})"
            )
        if spec.role is not None:
            try:
                self.model.true_value(spec.device, spec.role, spec.index)
            except KeyError as exc:
                raise FaultRequestError(f"role: {exc.args[0]}") from None

    def schedule(self, entries: Iterable[ScheduledFault], source: str) -> None:
        """Queue schedule entries (in time order) after checking each against the plant."""
        ordered = list(entries)
        for entry in ordered:
            try:
                self.check(entry.spec)
            except FaultRequestError as exc:
                raise FaultScheduleError(
                    f"{source}: [[faults]] entry {entry.entry}: {exc}"
                ) from None
        self._pending.extend(ordered)

    def inject(self, spec: FaultSpec, source: Literal["schedule", "api"] = "api") -> FaultRecord:
        """Apply `spec` now (at the model's simulated time); FaultRequestError if it does not fit."""
        self.check(spec)
        now = self.model.now_utc
        target = _target(spec)
        if target is not None and target in self._by_target:
            self._end(self._by_target[target], now, "replaced")
        ends = None if spec.duration_s is None else now + timedelta(seconds=spec.duration_s)
        record = FaultRecord(self._next_id, spec, source, now, ends)
        self._next_id += 1
        self._apply(spec)
        _log.info("fault %d from the %s at %s: %s", record.id, source, now, spec.describe())
        if target is None:
            record.ended_utc, record.end_reason = now, "instant"
            self._history.append(record)
        else:
            self._active[record.id] = record
            self._by_target[target] = record.id
        return record

    def clear(self, fault_id: int) -> FaultRecord:
        """End an active fault now; KeyError if no active fault has this id."""
        if fault_id not in self._active:
            raise KeyError(f"no active fault with id {fault_id}")
        return self._end(fault_id, self.model.now_utc, "cleared")

    def clear_all(self) -> list[FaultRecord]:
        """End every active fault now; pending schedule entries stay pending."""
        now = self.model.now_utc
        return [self._end(fault_id, now, "cleared") for fault_id in list(self._active)]

    def advance(self) -> list[FaultRecord]:
        """At the model's current time: end expired faults, then start due schedule entries."""
        now = self.model.now_utc
        for record in list(self._active.values()):
            if record.ends_utc is not None and record.ends_utc <= now:
                self._end(record.id, now, "expired")
        started = []
        elapsed_s = (now - self.model.start_utc).total_seconds()
        while self._pending and self._pending[0].at_s <= elapsed_s:
            started.append(self.inject(self._pending.popleft().spec, "schedule"))
        return started

    def active(self) -> list[FaultRecord]:
        return list(self._active.values())

    def pending(self) -> list[ScheduledFault]:
        return list(self._pending)

    def history(self) -> list[FaultRecord]:
        """Ended faults, oldest first (the last HISTORY_LIMIT of them)."""
        return list(self._history)

    def _apply(self, spec: FaultSpec) -> None:
        faults = self.model.faults
        kind, device = spec.kind, spec.device
        if kind is FaultKind.UNIT_TRIP:
            faults.trip_unit(device, spec.alarm_code or DEFAULT_ALARM_CODE)
        elif kind is FaultKind.COMM_DROP:
            faults.drop_comm(device)
        elif kind is FaultKind.VALVE_STUCK:
            faults.stick_valve(device)
        elif kind is FaultKind.SENSOR_STUCK:
            faults.stick_sensor(device, str(spec.role), spec.index)
        else:
            faults.nan_sensor(device, str(spec.role), spec.index)

    def _end(self, fault_id: int, now: datetime, reason: EndReason) -> FaultRecord:
        record = self._active.pop(fault_id)
        target = _target(record.spec)
        if target is not None:
            del self._by_target[target]
        if reason != "replaced":  # the replacing fault takes the target over as it is
            self._undo(record.spec)
        record.ended_utc, record.end_reason = now, reason
        self._history.append(record)
        _log.info("fault %d %s at %s: %s", fault_id, reason, now, record.spec.describe())
        return record

    def _undo(self, spec: FaultSpec) -> None:
        faults = self.model.faults
        if spec.kind is FaultKind.COMM_DROP:
            faults.restore_comm(spec.device)
        elif spec.kind is FaultKind.VALVE_STUCK:
            faults.free_valve(spec.device)
        elif spec.kind in (FaultKind.SENSOR_STUCK, FaultKind.SENSOR_NAN):
            faults.clear_sensor(spec.device, str(spec.role), spec.index)
