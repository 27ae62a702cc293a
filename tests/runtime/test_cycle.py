"""The cycle without sockets: a policy that raises drops that cycle to the rules rung, and the
plant keeps being controlled."""

from __future__ import annotations

import logging

import pytest

from controller.core.commands import Targets
from controller.core.situation import Situation
from controller.runtime.cycle import ControlCycle
from controller.runtime.outputs import REFRESH_S
from drivers.clock import SimClock
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
