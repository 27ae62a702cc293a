"""Operator overrides acting on the targets (pure), and through staging and safety."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.config import Plant
from controller.core.commands import Targets
from controller.core.estimate import PlantState
from controller.core.history import UnitHistory
from controller.core.overrides import (
    OverrideBook,
    OverrideRequest,
    apply_overrides,
    check_request,
    estimated_cop,
)
from controller.core.rules import rule_targets
from controller.core.safety import apply_safety
from controller.core.stage import stage
from tests.core.fakes import (
    T0,
    estimated,
    river,
    settled_histories,
    situation,
)

NOW_S = 10_000.0
LATER = T0 + timedelta(hours=1)


def _request(request_id: str, kind: str, priority: int = 50, **fields: object) -> OverrideRequest:
    return OverrideRequest(
        request_id=request_id,
        kind=kind,
        priority=priority,
        expires_utc=LATER,
        received_utc=T0,
        **fields,  # type: ignore[arg-type]
    )


def _rules(plant: Plant, state: PlantState) -> Targets:
    return rule_targets(situation(plant, state, settled_histories(state)), None)


def test_no_request_leaves_the_targets_untouched() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True})
    targets = _rules(plant, state)
    assert (
        apply_overrides(targets, situation(plant, state, settled_histories(state)), OverrideBook())
        is targets
    )


def test_manual_on_and_off_and_a_setpoint() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True})
    targets = _rules(plant, state)
    book = OverrideBook(
        (
            _request("m2", "manual", unit="hp2", on=True, heat_kw=5000.0),
            _request("s1", "setpoint", unit="hp1", heat_kw=7000.0),
        )
    )
    out = apply_overrides(targets, situation(plant, state, settled_histories(state)), book)
    assert out.unit_on == {"hp1": True, "hp2": True}
    assert out.unit_heat_kw == {"hp1": 7000.0, "hp2": 5000.0}
    assert out.reasons["hp2"].startswith("manual on: manual request m2")
    off = OverrideBook((_request("m1", "manual", unit="hp1", on=False),))
    out = apply_overrides(targets, situation(plant, state, settled_histories(state)), off)
    assert out.unit_on["hp1"] is False
    assert out.unit_heat_kw["hp1"] == 0.0


def test_a_setpoint_does_not_start_a_unit_the_controller_keeps_off() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True})
    book = OverrideBook((_request("s2", "setpoint", unit="hp2", heat_kw=7000.0),))
    out = apply_overrides(
        _rules(plant, state), situation(plant, state, settled_histories(state)), book
    )
    assert out.unit_on["hp2"] is False


def test_the_highest_priority_wins_and_on_a_tie_the_newest() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True})
    low = _request("low", "manual", priority=10, unit="hp1", on=False)
    high = _request("high", "manual", priority=90, unit="hp1", on=True, heat_kw=9000.0)
    out = apply_overrides(
        _rules(plant, state),
        situation(plant, state, settled_histories(state)),
        OverrideBook((high, low)),
    )
    assert out.unit_heat_kw["hp1"] == 9000.0
    newer = OverrideRequest(
        **{
            **_fields(low),
            "request_id": "newer",
            "priority": 90,
            "received_utc": T0 + timedelta(minutes=1),
        }
    )
    per_unit, _ = OverrideBook((high, newer)).winners(T0)
    assert per_unit["hp1"].request_id == "newer"
    # an expired request no longer counts, even before the desk removes it
    per_unit, _ = OverrideBook((high,)).winners(LATER)
    assert per_unit == {}


def _fields(request: OverrideRequest) -> dict[str, object]:
    return {name: getattr(request, name) for name in request.__slots__}  # type: ignore[attr-defined]


def _power_kw(plant: Plant, state: PlantState, targets: Targets) -> float:
    return sum(
        targets.unit_heat_kw[spec.name] / estimated_cop(spec, state)
        for spec in plant.site.units
        if targets.unit_on[spec.name]
    )


def test_curtail_trims_load_then_stops_the_least_efficient_units() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True, "hp2": True}, tank_c=70.0)
    targets = _rules(plant, state)
    assert _power_kw(plant, state, targets) > 3000.0
    trimmed = apply_overrides(
        targets,
        situation(plant, state, settled_histories(state)),
        OverrideBook((_request("c", "curtail", max_power_kw=3000.0),)),
    )
    assert trimmed.unit_on == {"hp1": True, "hp2": True}
    assert _power_kw(plant, state, trimmed) == pytest.approx(3000.0)
    assert all(trimmed.unit_heat_kw[s.name] >= s.heat_min_kw for s in plant.site.units)
    assert "curtailed to 3000 kW electric" in trimmed.reasons["hp1"]
    # below both units at minimum load: one stops, the other stays within the cap
    tight = apply_overrides(
        targets,
        situation(plant, state, settled_histories(state)),
        OverrideBook((_request("c", "curtail", max_power_kw=1500.0),)),
    )
    assert sum(tight.unit_on.values()) == 1
    assert _power_kw(plant, state, tight) <= 1500.0
    nothing = apply_overrides(
        targets,
        situation(plant, state, settled_histories(state)),
        OverrideBook((_request("c", "curtail", max_power_kw=0.0),)),
    )
    assert not any(nothing.unit_on.values())


def test_a_manual_unit_with_higher_priority_counts_against_the_cap() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True, "hp2": True}, tank_c=70.0)
    manual = _request("m", "manual", priority=80, unit="hp1", on=True, heat_kw=10000.0)
    curtail = _request("c", "curtail", priority=50, max_power_kw=4000.0)
    out = apply_overrides(
        _rules(plant, state),
        situation(plant, state, settled_histories(state)),
        OverrideBook((manual, curtail)),
    )
    assert out.unit_heat_kw["hp1"] == 10000.0
    # hp1 alone draws 3750 kW (measured COP 2.67): hp2 at minimum load would not fit the cap
    assert out.unit_on["hp2"] is False
    assert _power_kw(plant, state, out) <= 4000.0
    # the other way round the plant-wide request outranks the manual one
    outranked = apply_overrides(
        _rules(plant, state),
        situation(plant, state, settled_histories(state)),
        OverrideBook((manual.__class__(**{**_fields(manual), "priority": 10}), curtail)),
    )
    assert outranked.reasons["hp1"].startswith("curtailed to 4000 kW electric")
    assert outranked.unit_heat_kw["hp1"] < 10000.0
    assert _power_kw(plant, state, outranked) <= 4000.0 + 1e-6


def test_boost_raises_running_units_then_starts_available_ones() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True})
    histories = settled_histories(state)
    out = apply_overrides(
        _rules(plant, state),
        situation(plant, state, histories),
        OverrideBook((_request("b", "boost", min_heat_kw=15000.0),)),
    )
    assert out.unit_on == {"hp1": True, "hp2": True}
    assert out.unit_heat_kw["hp1"] == 10000.0
    assert out.unit_heat_kw["hp2"] == 5000.0
    # a unit held off after a trip is not started by a boost
    held = dict(histories)
    held["hp2"] = UnitHistory(False, NOW_S - 7200.0, (), tripped_since_s=NOW_S - 60.0)
    out = apply_overrides(
        _rules(plant, state),
        situation(plant, state, held),
        OverrideBook((_request("b", "boost", min_heat_kw=15000.0),)),
    )
    assert out.unit_on["hp2"] is False


def test_overrides_never_bypass_the_protections_or_the_interlocks() -> None:
    plant = river()
    state = estimated(plant, {"hp1": True})
    fresh = {
        "hp1": UnitHistory(True, NOW_S - 60.0, (NOW_S - 60.0,)),  # inside its minimum run time
        "hp2": UnitHistory(False, NOW_S - 60.0, (), stopped_at_s=NOW_S - 60.0),  # minimum off
    }
    book = OverrideBook(
        (
            _request("off", "manual", unit="hp1", on=False),
            _request("on", "manual", unit="hp2", on=True, heat_kw=6000.0),
        )
    )
    targets = apply_overrides(_rules(plant, state), situation(plant, state, fresh), book)
    commands = stage(targets, situation(plant, state, fresh), None)
    assert commands.units["hp1"].enable is True
    assert commands.units["hp1"].reason.startswith("held on: min run time")
    assert commands.units["hp2"].enable is False
    assert commands.units["hp2"].reason.startswith("start deferred: min off time")
    # at the tank's high limit safety stops heat input whatever the operator asked for
    hot = estimated(plant, {"hp1": True}, tank_c=84.0)
    keep = OverrideBook((_request("on1", "manual", unit="hp1", on=True, heat_kw=10000.0),))
    targets = apply_overrides(
        _rules(plant, hot), situation(plant, hot, settled_histories(hot)), keep
    )
    assert targets.unit_on["hp1"] is True
    commands = stage(targets, situation(plant, hot, settled_histories(hot)), None)
    safe = apply_safety(commands, situation(plant, hot, settled_histories(hot)), 0.0)
    assert safe.commands.units["hp1"].enable is False
    assert [i.reason for i in safe.interlocks] == ["tank_high_temp"]


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (_request("x", "manual", unit="hp7", on=False), "unknown unit 'hp7'"),
        (_request("x", "manual", unit="hp1", on=True), "manual needs heat_kw"),
        (_request("x", "setpoint", unit="hp1", heat_kw=100.0), "outside hp1's range"),
        (_request("x", "curtail", max_power_kw=1e6), "max_power_kw must be within"),
        (_request("x", "boost", min_heat_kw=0.0), "min_heat_kw must be within"),
        (_request("x", "kick", unit="hp1"), "unknown kind 'kick'"),
    ],
)
def test_out_of_range_requests_are_refused(request_: OverrideRequest, reason: str) -> None:
    assert reason in (check_request(request_, river().site, T0) or "")


def test_expiry_must_lie_ahead_and_within_a_day() -> None:
    site = river().site
    request = _request("x", "curtail", max_power_kw=100.0)
    assert check_request(request, site, T0) is None
    assert "not in the future" in (check_request(request, site, LATER) or "")
    far = OverrideRequest(**{**_fields(request), "expires_utc": T0 + timedelta(hours=25)})
    assert "more than 24 h ahead" in (check_request(far, site, T0) or "")
