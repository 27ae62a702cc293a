"""Safety: the interlocks, the hand-back when the tank is blind, the interlock events, and the
one-way property: whatever it is given, safety only ever makes the commands safer."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from hypothesis import event, given, settings
from hypothesis import strategies as st

from controller.config import Plant, load_plant
from controller.core.commands import BoilerCommand, Commands, Interlock, UnitCommand, ValveCommand
from controller.core.estimate import PlantState, estimate
from controller.core.history import UnitHistory, first_history
from controller.core.rules import rule_targets
from controller.core.safety import apply_safety, interlock_keys, newly_active
from controller.core.situation import Situation
from controller.core.stage import may_start, stage
from drivers.kinds import Role, StateCode
from tests.core.fakes import RIVER, plant_snapshot, river, situation


def _staged_on(plant_tank_c: float, running: dict[str, bool]):  # type: ignore[no-untyped-def]
    plant = river()
    snap = plant_snapshot(plant.site, plant_tank_c, running)
    for spec in plant.site.units:
        snap.values[(f"v_{spec.name}", "position_pct", None)] = 100.0
    state = estimate(snap, plant.site)
    histories = {u.name: first_history(u, -10_000.0) for u in state.units}
    targets = replace(
        rule_targets(situation(plant, state, histories), None),
        unit_on={"hp1": True, "hp2": True},
        unit_heat_kw={"hp1": 9000.0, "hp2": 9000.0},
    )
    commands = stage(targets, situation(plant, state, histories), None)
    return plant, snap, state, histories, commands


def test_safety_stops_heat_input_at_the_tank_limit_even_inside_min_run() -> None:
    plant, _, state, histories, commands = _staged_on(84.0, {"hp1": True, "hp2": True})
    assert commands.units["hp1"].enable
    result = apply_safety(commands, situation(plant, state, histories), 0.0)
    assert not result.commands.units["hp1"].enable and not result.commands.units["hp2"].enable
    assert {i.reason for i in result.interlocks} == {"tank_high_temp"}


def test_safety_blocks_a_tripped_unit_and_a_unit_with_stale_data() -> None:
    plant, snap, _, histories, commands = _staged_on(60.0, {"hp1": True, "hp2": True})
    snap.values[("hp1", Role.STATE_CODE, None)] = float(StateCode.TRIPPED)
    del snap.values[("hp2", "heat_kw", None)]
    state = estimate(snap, plant.site)
    result = apply_safety(commands, situation(plant, state, histories), 0.0)
    reasons = {i.equipment: i.reason for i in result.interlocks}
    assert reasons == {"hp1": "unit_tripped", "hp2": "unit_data_stale"}
    assert not any(c.enable for c in result.commands.units.values())


def test_safety_never_closes_a_valve_under_a_running_unit() -> None:
    plant, _, state, histories, commands = _staged_on(60.0, {"hp1": True, "hp2": False})
    closing = commands.with_valve("v_hp1", position_pct=0.0)
    result = apply_safety(closing, situation(plant, state, histories), 0.0)
    assert result.commands.valves["v_hp1"].position_pct == 100.0
    assert any(i.reason == "valve_close_while_running" for i in result.interlocks)


def test_safety_hands_back_to_local_control_when_the_tank_is_blind() -> None:
    plant, _, state, histories, commands = _staged_on(60.0, {"hp1": True})
    limit = plant.control.safety.stale_handback_s
    assert not apply_safety(commands, situation(plant, state, histories), limit - 1).handed_back
    result = apply_safety(commands, situation(plant, state, histories), limit)
    assert result.handed_back
    assert all(not c.remote for c in result.commands.units.values())


def test_safety_supply_temperature_limit() -> None:
    plant, snap, _, histories, commands = _staged_on(60.0, {"hp1": True})
    snap.values[("hp1", "supply_temp_c", None)] = plant.site.units[0].max_supply_temp_c - 1.0
    state = estimate(snap, plant.site)
    result = apply_safety(commands, situation(plant, state, histories), 0.0)
    assert not result.commands.units["hp1"].enable
    assert any(i.reason == "supply_high_temp" for i in result.interlocks)


def test_an_interlock_is_new_only_in_the_cycle_it_begins() -> None:
    trip = Interlock("hp1", "unit_tripped", "unit tripped (alarm 7)")
    stale = Interlock("hp2", "unit_data_stale", "unit data not good")
    assert newly_active((trip,), frozenset()) == (trip,)
    active = interlock_keys((trip,))
    assert active == {("hp1", "unit_tripped")}
    # the same intervention with another detail is the same interlock; a new one is an event
    again = replace(trip, detail="unit tripped (alarm 8)")
    assert newly_active((again, stale), active) == (stale,)
    # once it ended, it is new again when it comes back
    assert newly_active((trip,), interlock_keys((stale,))) == (trip,)


# --- the one-way property -------------------------------------------------------------------

T = TypeVar("T")
PLANTS = tuple(load_plant(path) for path in sorted(RIVER.parent.glob("*.toml")))
NOW_S = 10_000.0
# None: the state is unknown (BAD or stale)
STATE_CODES = (None, *StateCode)


def _rarely(
    value: st.SearchStrategy[T], otherwise: st.SearchStrategy[T], one_in: int = 4
) -> st.SearchStrategy[T]:
    """`value` about once in `one_in` draws, else `otherwise`: every fault is common, yet many
    cases leave a unit that safety may let run, so that both sides of every rule are tried."""
    draws = st.sampled_from([False] * (one_in - 1) + [True])
    return draws.flatmap(lambda rare: value if rare else otherwise)


def _missing_or(values: st.SearchStrategy[float]) -> st.SearchStrategy[float | None]:
    return _rarely(st.none(), values)


@st.composite
def _plant_states(draw: st.DrawFn, plant: Plant) -> PlantState:
    """Snapshots with bad and missing data and temperatures around every limit."""
    site = plant.site
    margin_k = plant.control.safety.tank_high_margin_k
    snap = plant_snapshot(site, 60.0, now_s=NOW_S)
    for spec in site.units:
        code = draw(
            _rarely(
                st.sampled_from(STATE_CODES), st.sampled_from([StateCode.OFF, StateCode.RUNNING])
            )
        )
        values: dict[str, float | None] = {
            "state_code": None if code is None else float(code),
            "alarm_code": draw(st.sampled_from([0.0, 17.0])),
            "heat_kw": draw(_rarely(st.none(), st.floats(0.0, spec.heat_max_kw), one_in=8)),
            "supply_temp_c": draw(_missing_or(st.floats(20.0, spec.max_supply_temp_c + 5.0))),
            "source_in_temp_c": draw(_missing_or(st.floats(-30.0, 45.0))),
        }
        for role, value in values.items():
            snap.values.pop((spec.name, role, None), None)
            if value is not None:
                snap.values[(spec.name, role, None)] = value
        if spec.isolation_valve is not None:
            position = draw(_missing_or(st.one_of(st.just(100.0), st.floats(0.0, 100.0))))
            snap.values.pop((spec.isolation_valve, "position_pct", None), None)
            if position is not None:
                snap.values[(spec.isolation_valve, "position_pct", None)] = position
    for tank in site.tanks:
        top_c = draw(
            _rarely(
                st.sampled_from([tank.max_temp_c - margin_k, tank.max_temp_c + 5.0]),
                st.floats(tank.min_temp_c - 10.0, tank.max_temp_c),
                one_in=8,
            )
        )
        blind_layer = draw(_rarely(st.integers(1, tank.layers), st.none()))
        for index in range(1, tank.layers + 1):
            snap.values[(tank.name, "layer_temp_c", index)] = top_c - (tank.layers - index)
            if index == blind_layer:
                del snap.values[(tank.name, "layer_temp_c", index)]
    return estimate(snap, site)


def _ago(at_most_s: float) -> st.SearchStrategy[float]:
    return st.floats(0.0, at_most_s).map(lambda age_s: NOW_S - age_s)


@st.composite
def _histories(draw: st.DrawFn, plant: Plant) -> dict[str, UnitHistory]:
    """Histories of any age, with recent starts, trips and stops (not necessarily matching the
    measured state: safety must hold whatever it is told)."""
    return {
        spec.name: UnitHistory(
            compressor_on=draw(_rarely(st.just(True), st.just(False))),
            since_s=draw(_ago(7200.0)),
            recent_starts_s=tuple(sorted(draw(st.lists(_ago(4000.0), max_size=4)))),
            tripped_since_s=draw(_rarely(_ago(1000.0), st.none(), one_in=8)),
            stopped_at_s=draw(st.one_of(st.none(), _ago(600.0))),
        )
        for spec in plant.site.units
    }


@st.composite
def _commands(draw: st.DrawFn, plant: Plant) -> Commands:
    """Any commands a buggy policy or stage could hand over, out-of-range setpoints included."""
    site = plant.site
    units = {
        spec.name: UnitCommand(
            remote=draw(st.booleans()),
            enable=draw(_rarely(st.just(False), st.just(True))),
            heat_setpoint_kw=draw(st.floats(-500.0, spec.heat_max_kw * 1.5)),
            supply_temp_setpoint_c=draw(st.floats(20.0, spec.max_supply_temp_c + 20.0)),
            reason="generated",
        )
        for spec in site.units
    }
    valves = {
        valve.name: ValveCommand(position_pct=draw(st.floats(0.0, 100.0)), reason="generated")
        for valve in site.valves
    }
    boiler = None
    if site.boiler is not None:
        boiler = BoilerCommand(
            remote=draw(st.booleans()),
            enable=draw(st.booleans()),
            heat_setpoint_kw=draw(st.floats(-500.0, site.boiler.heat_max_kw * 1.5)),
            reason="generated",
        )
    return Commands(units=units, valves=valves, boiler=boiler)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Situation, Commands, float]:
    plant = draw(st.sampled_from(PLANTS))
    state = draw(_plant_states(plant))
    histories = draw(_histories(plant))
    limit_s = plant.control.safety.stale_handback_s
    blind_for_s = draw(
        _rarely(
            st.one_of(st.just(limit_s), st.floats(limit_s, 2 * limit_s)),
            st.floats(0.0, limit_s, exclude_max=True),
        )
    )
    return situation(plant, state, histories), draw(_commands(plant)), blind_for_s


@settings(max_examples=200, deadline=None)
@given(_cases())
def test_safety_only_ever_makes_commands_safer(case: tuple[Situation, Commands, float]) -> None:
    """What "safer" means, field by field, for any state, history and commands:

    - units: never enabled if the input did not enable them; never taken into remote control
      if the input left them local; the heat setpoint never above the input's (a negative one
      is raised to 0) and within 0..the unit's maximum; the supply setpoint never above the
      input's and not above the unit's limit (a hand-back too: the setpoint is still
      written); a unit safety disables gets a zero heat setpoint.
    - valves: never closed further than the input (closing under a running unit is the hazard,
      so safety only opens).
    - boiler: never started nor taken into remote control unless the input did; its setpoint
      never above the input's and within 0..its maximum.
    - nothing is added or removed: the same units, valves and boiler.
    And regardless of the input: an enabled unit is not tripped, not held after a trip, has
    good data, is below its supply and lift limits, and, if it is not already running, may
    start (minimum off time and starts limit); nothing heats a tank at its high limit; a tank
    blind for the hand-back time hands every unit and the boiler back to local control.
    """
    now, given_commands, blind_for_s = case
    state, site, limits = now.state, now.site, now.control.safety
    result = apply_safety(given_commands, now, blind_for_s)
    out = result.commands
    for interlock in result.interlocks:
        event(f"interlock {interlock.reason}")
    event(f"units left enabled: {sum(c.enable for c in out.units.values())}")
    assert out.units.keys() == given_commands.units.keys()
    assert out.valves.keys() == given_commands.valves.keys()
    assert (out.boiler is None) == (given_commands.boiler is None)
    handback = blind_for_s >= limits.stale_handback_s
    assert result.handed_back == handback
    tank_at_limit = any(
        tank.top_temp_c is not None
        and tank.top_temp_c >= spec.max_temp_c - limits.tank_high_margin_k
        for tank, spec in zip(state.tanks, site.tanks, strict=True)
    )
    for spec in site.units:
        before, after = given_commands.units[spec.name], out.units[spec.name]
        unit, history = state.unit(spec.name), now.histories[spec.name]
        assert after.enable <= before.enable
        assert after.remote <= before.remote
        assert (
            0.0
            <= after.heat_setpoint_kw
            <= min(spec.heat_max_kw, max(0.0, before.heat_setpoint_kw))
        )
        assert after.supply_temp_setpoint_c <= before.supply_temp_setpoint_c
        assert after.supply_temp_setpoint_c <= spec.max_supply_temp_c
        if before.enable and not after.enable:
            assert after.heat_setpoint_kw == 0.0
        if handback:
            assert not after.remote and not after.enable
        if after.enable:
            assert unit.data_good and not unit.tripped and history.tripped_since_s is None
            assert not tank_at_limit
            if unit.supply_temp_c is not None:
                assert unit.supply_temp_c < spec.max_supply_temp_c - limits.supply_high_margin_k
                if unit.source_temp_c is not None:
                    lift_k = unit.supply_temp_c - unit.source_temp_c
                    assert lift_k < spec.max_lift_k - limits.supply_high_margin_k
            if not unit.compressor_on:
                assert may_start(spec, history, state.now_s, limits.trip_reset_s).allowed
    for name, valve in out.valves.items():
        assert valve.position_pct >= given_commands.valves[name].position_pct
    if out.boiler is not None and given_commands.boiler is not None:
        before_boiler, after_boiler = given_commands.boiler, out.boiler
        assert site.boiler is not None
        assert after_boiler.enable <= before_boiler.enable
        assert after_boiler.remote <= before_boiler.remote
        assert (
            0.0
            <= after_boiler.heat_setpoint_kw
            <= min(site.boiler.heat_max_kw, max(0.0, before_boiler.heat_setpoint_kw))
        )
        if handback:
            assert not after_boiler.remote and not after_boiler.enable
        if tank_at_limit:
            assert not after_boiler.enable
