"""The fault campaign's independent observer: it judges the simulated plant's physical state.

It never asks the controller anything. The campaign feeds it one `PlantSample` per simulated
second, taken straight from the plant model (the physics truth, not what a faulty sensor
shows), and it records every crossing of a safety limit and every broken protection:

- `supply_over_max`: a running unit's supply temperature above its `max_supply_temp_c`;
- `tank_over_max`: a tank's top layer above its `max_temp_c` (once per excursion);
- `early_start`: a compressor start (off -> starting) less than `min_off_s` after the unit's
  last stop, aborted start or trip. Never excused: no fault makes an early restart right;
- `early_stop`: a stop (running -> stopping, or an aborted start) less than `min_run_s` after
  the start. Excused (counted apart, not a break) when the unit's own protection or the
  controller's safety had a reason the observer can see: a fault on the unit, its isolation
  valve or the tank was active or had ended within the grace period (the campaign says which
  units are excused in each sample), or a tank's top was within `HIGH_LIMIT_MARGIN_K` of its
  maximum, where safety stops heat input whatever the minimum run time says. A trip is not a
  stop: the unit's own protection latches it, which is what protection is for;
- `too_many_starts`: a start that makes more than `max_starts_per_hour` in the trailing hour.

Transitions under the unit's local control (no supervisor: heartbeat timed out) are judged the
same way; the unit's own thermostat keeps min run and min off, so a break there is a finding too.
Times compare with a tolerance of one sample (`tolerance_s`): the observer sees a transition up
to one step late.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from drivers.site import SiteConfig

OFF, STARTING, RUNNING, STOPPING, TRIPPED = 0, 1, 2, 3, 4
HIGH_LIMIT_MARGIN_K = 2.0
HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class UnitSample:
    state: int
    supply_temp_c: float
    remote: bool  # under the supervisor's control at this sample


@dataclass(frozen=True, slots=True)
class PlantSample:
    time_s: float  # simulated seconds since the start of the campaign
    units: dict[str, UnitSample]
    tank_top_c: dict[str, float]
    excused_units: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class UnitLimits:
    max_supply_temp_c: float
    min_run_s: float
    min_off_s: float
    max_starts_per_hour: int


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    equipment: str
    time_s: float
    detail: str
    excused: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "equipment": self.equipment,
            "time_s": round(self.time_s, 1),
            "detail": self.detail,
            "excused": self.excused,
        }


@dataclass
class _UnitTrack:
    state: int = OFF
    last_on_s: float | None = None
    last_off_s: float | None = None
    starts_s: deque[float] = field(default_factory=deque)


class PlantObserver:
    """Feed it samples in time order; `findings` holds what it found."""

    def __init__(
        self,
        units: dict[str, UnitLimits],
        tank_max_c: dict[str, float],
        tolerance_s: float = 1.0,
    ) -> None:
        self.units = units
        self.tank_max_c = tank_max_c
        self.tolerance_s = tolerance_s
        self.findings: list[Finding] = []
        self.samples = 0
        self.starts = 0
        self.stops = 0
        self.trips = 0
        self._tracks = {name: _UnitTrack() for name in units}
        self._tank_hot = dict.fromkeys(tank_max_c, False)
        self._near_high_limit = False

    @classmethod
    def for_site(cls, site: SiteConfig, tolerance_s: float = 1.0) -> PlantObserver:
        limits = {
            unit.name: UnitLimits(
                unit.max_supply_temp_c, unit.min_run_s, unit.min_off_s, unit.max_starts_per_hour
            )
            for unit in site.units
        }
        return cls(limits, {tank.name: tank.max_temp_c for tank in site.tanks}, tolerance_s)

    @property
    def breaks(self) -> list[Finding]:
        return [f for f in self.findings if not f.excused]

    def count(self, kind: str, excused: bool = False) -> int:
        return sum(1 for f in self.findings if f.kind == kind and f.excused == excused)

    def sample(self, sample: PlantSample) -> None:
        self.samples += 1
        self._check_tanks(sample)
        for name, unit in sample.units.items():
            self._check_unit(name, unit, sample)

    def _check_tanks(self, sample: PlantSample) -> None:
        near = False
        for name, top_c in sample.tank_top_c.items():
            max_c = self.tank_max_c[name]
            hot = top_c > max_c
            if hot and not self._tank_hot[name]:
                detail = f"top {top_c:.2f} °C > max {max_c:g} °C"
                self.findings.append(Finding("tank_over_max", name, sample.time_s, detail))
            self._tank_hot[name] = hot
            near = near or top_c >= max_c - HIGH_LIMIT_MARGIN_K
        self._near_high_limit = near

    def _check_unit(self, name: str, unit: UnitSample, sample: PlantSample) -> None:
        limits = self.units[name]
        track = self._tracks[name]
        now_s = sample.time_s
        if unit.state == RUNNING and unit.supply_temp_c > limits.max_supply_temp_c:
            detail = f"supply {unit.supply_temp_c:.2f} °C > max {limits.max_supply_temp_c:g} °C"
            self.findings.append(Finding("supply_over_max", name, now_s, detail))
        before, after = track.state, unit.state
        track.state = after
        if before == after:
            return
        if after == TRIPPED:
            self.trips += 1
            track.last_off_s = now_s
        elif before == OFF and after == STARTING:
            self._on_start(name, unit, limits, track, now_s)
        elif (before == RUNNING and after == STOPPING) or (before == STARTING and after == OFF):
            self._on_stop(name, unit, limits, track, sample)

    def _on_start(
        self, name: str, unit: UnitSample, limits: UnitLimits, track: _UnitTrack, now_s: float
    ) -> None:
        self.starts += 1
        control = "remote" if unit.remote else "local"
        if track.last_off_s is not None:
            off_s = now_s - track.last_off_s
            if off_s < limits.min_off_s - self.tolerance_s:
                detail = f"started {off_s:.0f} s after a stop, min off {limits.min_off_s:g} s"
                self.findings.append(Finding("early_start", name, now_s, f"{detail} ({control})"))
        starts = track.starts_s
        starts.append(now_s)
        while starts and starts[0] <= now_s - HOUR_S:
            starts.popleft()
        if len(starts) > limits.max_starts_per_hour:
            detail = f"{len(starts)} starts in the last hour, max {limits.max_starts_per_hour}"
            self.findings.append(Finding("too_many_starts", name, now_s, f"{detail} ({control})"))
        track.last_on_s = now_s

    def _on_stop(
        self,
        name: str,
        unit: UnitSample,
        limits: UnitLimits,
        track: _UnitTrack,
        sample: PlantSample,
    ) -> None:
        self.stops += 1
        now_s = sample.time_s
        track.last_off_s = now_s
        if track.last_on_s is None:
            return
        run_s = now_s - track.last_on_s
        if run_s >= limits.min_run_s - self.tolerance_s:
            return
        reasons = []
        if name in sample.excused_units:
            reasons.append("a fault on the unit, its valve or the tank")
        if self._near_high_limit:
            reasons.append("tank near its high limit")
        control = "remote" if unit.remote else "local"
        detail = (
            f"stopped {run_s:.0f} s after its start, min run {limits.min_run_s:g} s ({control})"
        )
        if reasons:
            detail += "; excused: " + ", ".join(reasons)
        self.findings.append(Finding("early_stop", name, now_s, detail, excused=bool(reasons)))
