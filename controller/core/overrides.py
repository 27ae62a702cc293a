"""Operator overrides acting on the targets (pure): before staging and safety, never after.

An operator may put a unit in manual (on or off, at a heat setpoint), override the heat setpoint
of a unit the controller runs, cap the heat pumps' total electric power (curtail, for grid
services), or ask for a minimum heat-pump production (boost, e.g. to charge the tank before a
price spike). Every request has a priority and an expiry. Per unit the highest-priority active
request wins; a plant-wide curtail or boost competes with a unit's own request on priority.

Overrides change only what the controller wants: staging still enforces minimum run and off
times and the starts limit, and safety still trips, holds and clamps. An operator cannot start
a unit inside its minimum off time, nor keep a tripped one running.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from controller.core.commands import Targets
from controller.core.cop import COP_CAP, condenser_inlet_now_c, planned_cop
from controller.core.estimate import PlantState
from controller.core.history import UnitHistory
from controller.core.rules import unit_available
from controller.core.situation import Situation
from drivers.site import SiteConfig, UnitSpec

UNIT_KINDS = ("manual", "setpoint")
PLANT_KINDS = ("curtail", "boost")
MAX_DURATION = timedelta(hours=24)  # a forgotten override must not outlive a shift handover


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    """One accepted operator request; which fields matter depends on `kind`."""

    request_id: str
    kind: str  # manual | setpoint | curtail | boost
    priority: int  # 0..100, higher wins
    expires_utc: datetime
    received_utc: datetime
    operator: str = ""
    unit: str | None = None  # manual, setpoint
    on: bool | None = None  # manual
    heat_kw: float | None = None  # manual (when on), setpoint
    max_power_kw: float | None = None  # curtail: all heat pumps' electric power together
    min_heat_kw: float | None = None  # boost: all heat pumps' heat output together

    def describe(self) -> str:
        who = f" by {self.operator}" if self.operator else ""
        until = self.expires_utc.strftime("%Y-%m-%d %H:%M:%SZ")
        return (
            f"{self.kind} request {self.request_id}{who} (priority {self.priority}, until {until})"
        )


def check_request(request: OverrideRequest, site: SiteConfig, now_utc: datetime) -> str | None:
    """Why the plant cannot take this request, or None when it can."""
    if request.kind not in UNIT_KINDS + PLANT_KINDS:
        return f"unknown kind '{request.kind}'"
    if not 0 <= request.priority <= 100:
        return f"priority {request.priority} is outside 0..100"
    if request.expires_utc <= now_utc:
        return f"expiry {request.expires_utc.isoformat()} is not in the future"
    if request.expires_utc - now_utc > MAX_DURATION:
        return f"expiry is more than {MAX_DURATION.total_seconds() / 3600:g} h ahead"
    specs = {spec.name: spec for spec in site.units}
    plant_heat_max_kw = sum(spec.heat_max_kw for spec in site.units)
    if request.kind in UNIT_KINDS:
        if request.unit is None:
            return f"{request.kind} needs a unit"
        spec = specs.get(request.unit)
        if spec is None:
            return f"unknown unit '{request.unit}' (units: {', '.join(specs)})"
        if request.kind == "manual" and request.on is None:
            return "manual needs on = true or false"
        if request.kind == "manual" and not request.on:
            return None
        if request.heat_kw is None:
            return f"{request.kind} needs heat_kw"
        if not spec.heat_min_kw <= request.heat_kw <= spec.heat_max_kw:
            return (
                f"heat_kw {request.heat_kw:g} is outside {request.unit}'s range "
                f"{spec.heat_min_kw:g}..{spec.heat_max_kw:g} kW"
            )
        return None
    if request.kind == "curtail":
        cap_kw = request.max_power_kw
        if cap_kw is None or not 0.0 <= cap_kw <= plant_heat_max_kw:
            return f"max_power_kw must be within 0..{plant_heat_max_kw:g} kW"
        return None
    floor_kw = request.min_heat_kw
    if floor_kw is None or not 0.0 < floor_kw <= plant_heat_max_kw:
        return f"min_heat_kw must be within 0..{plant_heat_max_kw:g} kW (the units' total)"
    return None


def _rank(request: OverrideRequest) -> tuple[int, datetime]:
    # equal priority: the newer request is the operator's latest word
    return (request.priority, request.received_utc)


@dataclass(frozen=True, slots=True)
class OverrideBook:
    """The active requests: immutable, each change returns a new book."""

    requests: tuple[OverrideRequest, ...] = ()

    def get(self, request_id: str) -> OverrideRequest | None:
        return next((r for r in self.requests if r.request_id == request_id), None)

    def add(self, request: OverrideRequest) -> OverrideBook:
        return OverrideBook((*self.requests, request))

    def without(self, request_ids: set[str]) -> OverrideBook:
        return OverrideBook(tuple(r for r in self.requests if r.request_id not in request_ids))

    def expired(self, now_utc: datetime) -> tuple[OverrideRequest, ...]:
        return tuple(r for r in self.requests if r.expires_utc <= now_utc)

    def unit_requests(self, unit: str, up_to_priority: int) -> tuple[OverrideRequest, ...]:
        """A unit's own requests at or below a priority (what an `auto` request releases)."""
        return tuple(r for r in self.requests if r.unit == unit and r.priority <= up_to_priority)

    def winners(
        self, now_utc: datetime
    ) -> tuple[dict[str, OverrideRequest], OverrideRequest | None]:
        """The winning request per unit and the winning plant-wide one, among the active."""
        per_unit: dict[str, OverrideRequest] = {}
        plant: OverrideRequest | None = None
        for request in self.requests:
            if request.expires_utc <= now_utc:
                continue
            if request.kind in PLANT_KINDS:
                if plant is None or _rank(request) > _rank(plant):
                    plant = request
            elif request.unit is not None:
                held = per_unit.get(request.unit)
                if held is None or _rank(request) > _rank(held):
                    per_unit[request.unit] = request
        return per_unit, plant


def estimated_cop(spec: UnitSpec, state: PlantState) -> float:
    """Measured COP of a running unit, else its rated COP now; 1 when blind (a safe cap)."""
    unit = state.unit(spec.name)
    if unit.cop is not None:
        return min(COP_CAP, max(1.0, unit.cop))
    supply_c = state.network_supply_temp_c or unit.supply_temp_c
    source_c = unit.source_temp_c if unit.source_temp_c is not None else state.source_temp_c
    inlet_c = condenser_inlet_now_c(state, None)
    if supply_c is None or source_c is None or inlet_c is None:
        return 1.0
    return planned_cop(spec, inlet_c, supply_c, source_c)


def apply_overrides(targets: Targets, situation: Situation, book: OverrideBook) -> Targets:
    """The policy's targets with the winning operator requests applied."""
    state, histories, site = situation.state, situation.histories, situation.site
    per_unit, plant = book.winners(state.now_utc)
    if not per_unit and plant is None:
        return targets
    unit_on = dict(targets.unit_on)
    heat_kw = dict(targets.unit_heat_kw)
    reasons = dict(targets.reasons)
    held: set[str] = set()
    for name, request in per_unit.items():
        if plant is not None and _rank(plant) > _rank(request):
            overruled = f"{request.describe()} overruled by {plant.describe()}"
            reasons[name] = f"{reasons.get(name, '')}; {overruled}".lstrip("; ")
            continue
        held.add(name)
        if request.kind == "manual":
            unit_on[name] = bool(request.on)
            heat_kw[name] = (request.heat_kw or 0.0) if request.on else 0.0
            reasons[name] = f"manual {'on' if request.on else 'off'}: {request.describe()}"
        elif unit_on.get(name, False):
            heat_kw[name] = request.heat_kw or 0.0
            reasons[name] = f"setpoint {heat_kw[name]:g} kW: {request.describe()}"
    if plant is not None:
        specs = [spec for spec in site.units if spec.name not in held]
        fixed = [spec for spec in site.units if spec.name in held]
        if plant.kind == "curtail":
            _curtail(plant, specs, fixed, state, unit_on, heat_kw, reasons)
        else:
            _boost(plant, specs, fixed, state, histories, unit_on, heat_kw, reasons)
    return replace(targets, unit_on=unit_on, unit_heat_kw=heat_kw, reasons=reasons)


def _curtail(
    request: OverrideRequest,
    free: list[UnitSpec],
    fixed: list[UnitSpec],
    state: PlantState,
    unit_on: dict[str, bool],
    heat_kw: dict[str, float],
    reasons: dict[str, str],
) -> None:
    """Trim the free units' heat so that all heat pumps together stay under the power cap."""
    cap_kw = request.max_power_kw or 0.0
    cop = {spec.name: estimated_cop(spec, state) for spec in free + fixed}
    fixed_kw = sum(heat_kw.get(s.name, 0.0) / cop[s.name] for s in fixed if unit_on.get(s.name))
    running = [spec for spec in free if unit_on.get(spec.name)]
    why = f"curtailed to {cap_kw:g} kW electric: {request.describe()}"

    def power_kw() -> float:
        return sum(heat_kw[s.name] / cop[s.name] for s in running)

    budget_kw = cap_kw - fixed_kw
    if power_kw() <= budget_kw:
        return
    # least efficient first: the heat that costs the most power per kW goes first
    running.sort(key=lambda s: cop[s.name])
    while running:
        floor_kw = sum(s.heat_min_kw / cop[s.name] for s in running)
        if floor_kw <= budget_kw:
            break
        dropped = running.pop(0)
        unit_on[dropped.name] = False
        heat_kw[dropped.name] = 0.0
        reasons[dropped.name] = why
    if not running:
        return
    # share what is left in proportion to each unit's target, never below minimum load
    over_min_kw = {s.name: max(0.0, heat_kw[s.name] - s.heat_min_kw) for s in running}
    spare_kw = budget_kw - sum(s.heat_min_kw / cop[s.name] for s in running)
    wanted_kw = sum(over_min_kw[s.name] / cop[s.name] for s in running)
    share = min(1.0, spare_kw / wanted_kw) if wanted_kw > 0 else 0.0
    for spec in running:
        trimmed_kw = spec.heat_min_kw + over_min_kw[spec.name] * share
        if trimmed_kw < heat_kw[spec.name]:
            heat_kw[spec.name] = trimmed_kw
            reasons[spec.name] = why


def _boost(
    request: OverrideRequest,
    free: list[UnitSpec],
    fixed: list[UnitSpec],
    state: PlantState,
    histories: Mapping[str, UnitHistory],
    unit_on: dict[str, bool],
    heat_kw: dict[str, float],
    reasons: dict[str, str],
) -> None:
    """Raise the free units (running ones first, then idle ones by run hours) to the floor."""
    floor_kw = request.min_heat_kw or 0.0
    why = f"boosted to {floor_kw:g} kW heat: {request.describe()}"
    total_kw = sum(heat_kw.get(s.name, 0.0) for s in free + fixed if unit_on.get(s.name))
    running = [s for s in free if unit_on.get(s.name)]
    idle = sorted(
        (
            s
            for s in free
            if not unit_on.get(s.name) and unit_available(state.unit(s.name), histories.get(s.name))
        ),
        key=lambda s: state.unit(s.name).run_hours_h or 0.0,
    )
    for spec in running:
        if total_kw >= floor_kw:
            return
        raised_kw = min(spec.heat_max_kw, heat_kw[spec.name] + floor_kw - total_kw)
        total_kw += raised_kw - heat_kw[spec.name]
        heat_kw[spec.name] = raised_kw
        reasons[spec.name] = why
    for spec in idle:
        if total_kw >= floor_kw:
            return
        start_kw = min(spec.heat_max_kw, max(spec.heat_min_kw, floor_kw - total_kw))
        unit_on[spec.name] = True
        heat_kw[spec.name] = start_kw
        total_kw += start_kw
        reasons[spec.name] = why
