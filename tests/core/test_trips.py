"""Unit trips from the measured state: the events (trip, reset) and the hold after a reset
(`safety.trip_reset_s`), which staging and safety both keep, on top of the minimum off time."""

from __future__ import annotations

from dataclasses import replace

from controller.core.commands import Targets
from controller.core.estimate import PlantState, estimate
from controller.core.history import UnitHistory, fold_histories
from controller.core.rules import rule_targets
from controller.core.safety import apply_safety
from controller.core.situation import Situation
from controller.core.stage import may_start, stage
from controller.core.trips import trip_events
from drivers.kinds import Role, StateCode
from tests.core.fakes import plant_snapshot, river, situation

T_TRIP_S = 10_000.0


def _state(tripped: bool, now_s: float, running: bool = False) -> PlantState:
    """The river plant with its tank cold (the rules want both units), hp1 tripped or not."""
    plant = river()
    snap = plant_snapshot(plant.site, 66.0, {"hp1": running}, now_s=now_s)
    if tripped:
        snap.values[("hp1", Role.STATE_CODE, None)] = float(StateCode.TRIPPED)
        snap.values[("hp1", Role.ALARM_CODE, None)] = 5.0
    for spec in plant.site.units:  # valves confirmed open: nothing else stands in a start's way
        snap.values[(f"v_{spec.name}", Role.POSITION_PCT, None)] = 100.0
    return estimate(snap, plant.site)


def _fold(known: dict[str, UnitHistory], state: PlantState) -> dict[str, UnitHistory]:
    return fold_histories(known, {}, state.units, state.now_s)


def _through_a_trip(cleared_after_s: float) -> dict[str, UnitHistory]:
    """hp1 running for two hours, trips at T_TRIP_S, its trip clears `cleared_after_s` later."""
    histories = _fold({}, _state(False, T_TRIP_S - 7200.0, running=True))
    histories = _fold(histories, _state(True, T_TRIP_S))
    return _fold(histories, _state(False, T_TRIP_S + cleared_after_s))


def _wanting_hp1(now: Situation) -> Targets:
    """The rules' targets with hp1 wanted on (a plan or an operator asking for it)."""
    targets = rule_targets(now, None)
    return replace(
        targets,
        unit_on={**targets.unit_on, "hp1": True},
        unit_heat_kw={**targets.unit_heat_kw, "hp1": 5000.0},
    )


def test_a_measured_trip_and_its_reset_are_events_once_each() -> None:
    reset_s = river().control.safety.trip_reset_s
    running = _state(False, T_TRIP_S - 60.0, running=True)
    histories = _fold({}, running)
    tripped = _state(True, T_TRIP_S)
    histories = _fold(histories, tripped)
    events = trip_events(histories, tripped, reset_s)
    assert [(e.unit, e.kind, e.alarm_code) for e in events] == [("hp1", "trip", 5)]
    still = _state(True, T_TRIP_S + 5.0)
    histories = _fold(histories, still)
    assert trip_events(histories, still, reset_s) == ()  # once, not every cycle
    cleared = _state(False, T_TRIP_S + 300.0)
    histories = _fold(histories, cleared)
    (reset,) = trip_events(histories, cleared, reset_s)
    assert (reset.unit, reset.kind, reset.tripped_for_s, reset.hold_s) == (
        "hp1",
        "reset",
        300.0,
        reset_s,
    )
    assert "held off 300 s" in reset.describe()
    later = _state(False, T_TRIP_S + 305.0)
    assert trip_events(_fold(histories, later), later, reset_s) == ()


def test_a_trip_restored_from_the_store_is_no_new_event_but_one_seen_first_is() -> None:
    now = _state(True, T_TRIP_S)
    restored = _fold({}, _state(True, T_TRIP_S - 600.0))  # as saved before a restart
    histories = fold_histories({}, restored, now.units, now.now_s)
    assert trip_events(histories, now, 300.0) == ()
    first_sight = _fold({}, now)
    assert [e.kind for e in trip_events(first_sight, now, 300.0)] == ["trip"]


def test_after_a_trip_clears_the_unit_is_held_off_for_trip_reset_s() -> None:
    plant = river()
    reset_s = plant.control.safety.trip_reset_s
    spec = plant.site.units[0]
    cleared_after_s = spec.min_off_s + 100.0  # the minimum off time is over when it clears
    histories = _through_a_trip(cleared_after_s)
    cleared_s = T_TRIP_S + cleared_after_s
    for held_s in (0.0, 100.0, reset_s - 5.0):
        state = _state(False, cleared_s + held_s)
        histories = _fold(histories, state)
        now = situation(plant, state, histories)
        check = may_start(spec, histories["hp1"], state.now_s, reset_s)
        assert not check.allowed and "trip reset hold" in check.why_not
        commands = stage(_wanting_hp1(now), now, None)
        assert commands.units["hp1"].enable is False
        assert "trip reset hold" in commands.units["hp1"].reason
        # safety holds it off even when a buggy policy or an operator forces the enable
        forced = commands.with_unit("hp1", enable=True, heat_setpoint_kw=5000.0)
        safe = apply_safety(forced, now, 0.0)
        assert safe.commands.units["hp1"].enable is False
        assert ("hp1", "trip_reset_hold") in {(i.equipment, i.reason) for i in safe.interlocks}
    state = _state(False, cleared_s + reset_s)
    histories = _fold(histories, state)
    assert may_start(spec, histories["hp1"], state.now_s, reset_s).allowed
    now = situation(plant, state, histories)
    commands = stage(_wanting_hp1(now), now, None)
    assert commands.units["hp1"].enable is True  # wanted: restarted once the hold is over


def test_the_minimum_off_time_still_holds_after_the_reset_hold() -> None:
    plant = river()
    reset_s = plant.control.safety.trip_reset_s
    spec = plant.site.units[0]
    assert spec.min_off_s > 100.0 + reset_s  # the test's premise: min off outlasts the hold
    histories = _through_a_trip(100.0)  # a quick reset: the hold ends before the min off time
    state = _state(False, T_TRIP_S + 100.0 + reset_s + 1.0)
    histories = _fold(histories, state)
    check = may_start(spec, histories["hp1"], state.now_s, reset_s)
    assert not check.allowed and "min off time" in check.why_not
    state = _state(False, T_TRIP_S + spec.min_off_s)
    histories = _fold(histories, state)
    assert may_start(spec, histories["hp1"], state.now_s, reset_s).allowed


def test_a_zero_trip_reset_s_only_waits_for_the_trip_to_clear() -> None:
    plant = river()
    spec = plant.site.units[0]
    histories = _through_a_trip(spec.min_off_s + 10.0)
    state = _state(False, T_TRIP_S + spec.min_off_s + 10.0)
    assert may_start(spec, histories["hp1"], state.now_s, 0.0).allowed
