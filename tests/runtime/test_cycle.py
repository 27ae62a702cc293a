"""The cycle without sockets: a policy that raises drops that cycle to the rules rung (named,
counted, audited, logged without flooding) and the plant keeps being controlled; a trip measured
on a unit is audited and counted though no interlock ever fires for it."""

from __future__ import annotations

import logging

import pytest

from controller.core.commands import Targets
from controller.core.events import AuditEvent
from controller.core.report import PolicyFailure
from controller.core.situation import Situation
from controller.runtime.cycle import ControlCycle
from controller.runtime.desk import OperatorDesk
from controller.runtime.outputs import REFRESH_S
from controller.runtime.policy_guard import REMIND_S
from controller.telemetry.audit import AuditObserver
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sources import MetricSources
from drivers.clock import SimClock
from drivers.kinds import Role, StateCode
from tests.core.fakes import T0, FakeSnapshot, plant_snapshot, river


class _Pool:
    def __init__(self, snapshot: FakeSnapshot) -> None:
        self.snap = snapshot
        self.writes: list[tuple[str, dict[str, float]]] = []

    def snapshot(self) -> FakeSnapshot:
        return self.snap

    async def write(self, device: str, values: dict[str, float]) -> None:
        self.writes.append((device, values))


class _Flaky:
    """A policy that raises while `broken` is set (a bug in a plan follower or the desk)."""

    def __init__(self) -> None:
        self.broken = True

    def targets(self, situation: Situation, previous: Targets | None) -> Targets:
        if self.broken:
            raise ZeroDivisionError("a bug in the policy")
        names = [unit.name for unit in situation.state.units]
        return Targets(
            unit_on=dict.fromkeys(names, False),
            unit_heat_kw=dict.fromkeys(names, 0.0),
            boiler_heat_kw=0.0,
            source="plan",
            reasons={},
        )


async def test_a_policy_that_raises_drops_the_cycle_to_the_rules_and_is_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 50.0)  # a tank low enough for the rules to start a unit
    pool = _Pool(snap)
    policy = _Flaky()
    cycle = ControlCycle(plant, pool, SimClock(T0), policy)
    with caplog.at_level(logging.WARNING, logger="controller.runtime.cycle"):
        for n in range(3):
            snap.taken_at_s += plant.control.cycle_s
            report = await cycle.tick()
            assert report.number == n + 1
            assert report.targets.source == "rules"
        assert cycle.policy_failures_total == 3
        assert any(report.targets.unit_on.values())  # the rules still run the plant
        assert pool.writes  # and their commands reach it
        raised = [r for r in caplog.records if "the policy raised" in r.getMessage()]
        assert len(raised) == 1 and raised[0].exc_info is not None  # logged once, with its cause
        policy.broken = False
        snap.taken_at_s += plant.control.cycle_s
        report = await cycle.tick()
    assert report.targets.source == "plan"
    assert cycle.policy_failures_total == 3
    assert sum("answers again" in r.getMessage() for r in caplog.records) == 1


async def test_a_steady_plant_gets_its_heartbeats_every_cycle_and_the_rest_each_refresh() -> None:
    """Write on change through the cycle: with nothing changing, each cycle writes only the
    heartbeats; every REFRESH_S of the cycle's clock, every command point once more."""
    plant = river()
    snap = plant_snapshot(plant.site, 80.0)  # a full tank: the units stay off
    pool = _Pool(snap)
    clock = SimClock(T0)
    cycle = ControlCycle(plant, pool, clock)
    cycle_s = plant.control.cycle_s
    heartbeats = {"hp1", "hp2", "boiler"}
    first_refresh = round(REFRESH_S / cycle_s)
    for n in range(2 * first_refresh + 1):
        pool.writes.clear()
        await cycle.tick()
        written = dict(pool.writes)
        beats = {device for device, values in written.items() if "heartbeat" in values}
        assert beats == heartbeats, n  # never skipped
        if n % first_refresh == 0:  # the first cycle, then one a refresh period later
            assert set(written) == {"hp1", "hp2", "boiler", "v_hp1", "v_hp2"}, n
            assert set(written["hp1"]) > {"heartbeat", "remote_request", "enable_cmd"}
        else:
            assert all(set(values) == {"heartbeat"} for values in written.values()), n
        clock.advance(cycle_s)
        snap.taken_at_s += cycle_s


class _Sink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


class _BrokenPlan:
    """A plan follower with a bug: its `targets` raises from deep inside."""

    def targets(self, situation: Situation, previous: Targets | None) -> Targets:
        return self._follow(situation)

    def _follow(self, situation: Situation) -> Targets:
        return {}["step"]  # type: ignore[no-any-return]


async def test_a_failing_policy_behind_the_desk_is_named_counted_audited_and_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 50.0)
    sink = _Sink()
    desk = OperatorDesk(plant.site, _BrokenPlan(), sink)
    cycle = ControlCycle(plant, _Pool(snap), SimClock(T0), desk)
    metrics = ControllerMetrics(plant.site, MetricSources(cycle=cycle), control=plant.control)
    for observer in (AuditObserver(sink), metrics):
        cycle.add_observer(observer)
    remind_cycles = round(REMIND_S / plant.control.cycle_s)
    with caplog.at_level(logging.WARNING, logger="controller"):
        for _ in range(2 * remind_cycles + 1):
            snap.taken_at_s += plant.control.cycle_s
            report = await cycle.tick()
    # the desk called the plan follower, whose bug raised: the follower is named, not the desk
    assert report.policy_failure == PolicyFailure("_BrokenPlan", "KeyError: 'step'")
    assert report.targets.source == "rules"
    assert cycle.policy_failures == {"_BrokenPlan": 2 * remind_cycles + 1}
    value = metrics.registry.get_sample_value
    failures = value("hpctl_dispatch_policy_failures_total", {"policy": "_BrokenPlan"})
    assert failures == 2 * remind_cycles + 1
    raised = [r for r in caplog.records if "the policy raised" in r.getMessage()]
    assert len(raised) == 1 and raised[0].exc_info is not None
    # then a reminder every REMIND_S of the cycle's clock, not a line every cycle
    reminders = [r for r in caplog.records if "still raises" in r.getMessage()]
    assert len(reminders) == 2
    assert f"{remind_cycles} more cycles" in reminders[0].getMessage()
    errors = [e for e in sink.events if e.kind == "policy_error"]
    assert [e.detail for e in errors] == [
        {"policy": "_BrokenPlan", "error": "KeyError: 'step'", "fallback": "rules"}
    ]
    metrics.close()


async def test_a_policy_that_recovers_is_audited_once_as_recovered() -> None:
    plant = river()
    snap = plant_snapshot(plant.site, 50.0)
    policy = _Flaky()
    sink = _Sink()
    cycle = ControlCycle(plant, _Pool(snap), SimClock(T0), policy, observers=[AuditObserver(sink)])
    for broken in (True, True, False, False):
        policy.broken = broken
        snap.taken_at_s += plant.control.cycle_s
        await cycle.tick()
    kinds = [e.kind for e in sink.events if e.kind.startswith("policy_")]
    assert kinds == ["policy_error", "policy_recovered"]
    assert sink.events[-1].kind != "policy_error"


async def test_a_measured_trip_reaches_the_audit_and_the_counters_though_no_interlock_fires() -> (
    None
):
    plant = river()
    snap = plant_snapshot(plant.site, 50.0, {"hp1": True})
    sink = _Sink()
    cycle = ControlCycle(plant, _Pool(snap), SimClock(T0))
    metrics = ControllerMetrics(plant.site, MetricSources(cycle=cycle), control=plant.control)
    for observer in (AuditObserver(sink), metrics):
        cycle.add_observer(observer)
    await cycle.tick()
    snap.values[("hp1", Role.STATE_CODE, None)] = float(StateCode.TRIPPED)
    snap.values[("hp1", Role.ALARM_CODE, None)] = 5.0
    for _ in range(3):
        snap.taken_at_s += plant.control.cycle_s
        report = await cycle.tick()
        # the staging drops enable itself: the unit_tripped interlock has nothing to stop
        assert report.commands.units["hp1"].enable is False
        assert not any(i.reason == "unit_tripped" for i in report.interlocks)
    snap.values[("hp1", Role.STATE_CODE, None)] = float(StateCode.OFF)
    snap.values[("hp1", Role.ALARM_CODE, None)] = 0.0
    snap.taken_at_s += 300.0
    report = await cycle.tick()
    assert [t.kind for t in report.trips] == ["reset"]
    trips = [(e.kind, e.equipment) for e in sink.events if e.kind.startswith("unit_trip")]
    assert trips == [("unit_trip", "hp1"), ("unit_trip_reset", "hp1")]
    reset = next(e for e in sink.events if e.kind == "unit_trip_reset")
    assert reset.detail["hold_s"] == plant.control.safety.trip_reset_s
    value = metrics.registry.get_sample_value
    assert value("hpctl_unit_trips_total", {"unit": "hp1"}) == 1
    assert value("hpctl_unit_trip_resets_total", {"unit": "hp1"}) == 1
    assert value("hpctl_unit_trips_total", {"unit": "hp2"}) == 0
    metrics.close()
