"""A unit trip over real sockets: the simulated unit trips (fault injection), the controller sees
it in the unit's state, audits and counts the trip and its reset, and holds the unit off for
`safety.trip_reset_s` after the trip cleared, longer than its minimum off time."""

from __future__ import annotations

from pathlib import Path

from controller.app.demo import DEFAULT_PLANT
from controller.config import SafetyConfig, load_plant
from controller.telemetry.audit import AuditObserver, AuditStore, read_audit
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sources import MetricSources
from drivers.kinds import StateCode
from tests.sil.harness import rig

HOLD_S = 1500.0  # longer than the river units' 900 s minimum off time, so the hold shows


async def test_a_trip_is_audited_counted_and_the_unit_held_off_after_its_reset(
    tmp_path: Path,
) -> None:
    base = load_plant(DEFAULT_PLANT)
    plant = base.with_control(
        policy="rules",
        safety=SafetyConfig.model_validate(
            base.control.safety.model_dump() | {"trip_reset_s": HOLD_S}
        ),
    )
    audit = AuditStore(tmp_path / "audit.sqlite3")
    async with rig(plant, initial_soc=0.05) as r:
        metrics = ControllerMetrics(r.plant.site, MetricSources(), control=r.plant.control)
        r.cycle.add_observer(AuditObserver(audit))
        r.cycle.add_observer(metrics)
        await r.run(1200)
        running = [
            u.name
            for u in r.plant.site.units
            if r.model.value(u.name, "state_code") == StateCode.RUNNING
        ]
        assert running, "an empty tank should have a unit running"
        victim = running[0]
        spec = next(u for u in r.plant.site.units if u.name == victim)
        assert spec.min_off_s < HOLD_S
        r.model.faults.trip_unit(victim)
        # the simulated unit resets itself once its enable has been low for a while
        cleared_at_s: float | None = None
        for _ in range(round(900 / r.plant.control.cycle_s)):
            report = await r.run(r.plant.control.cycle_s)
            assert report is not None
            assert report.commands.units[victim].enable is False
            if any(t.kind == "reset" for t in report.trips):
                cleared_at_s = report.state.now_s
                break
        assert cleared_at_s is not None, "the simulated unit never reset its trip"
        # held off for the whole hold although the minimum off time is long over
        enabled_at_s: float | None = None
        for _ in range(round((HOLD_S + 600.0) / r.plant.control.cycle_s)):
            report = await r.run(r.plant.control.cycle_s)
            assert report is not None
            if report.commands.units[victim].enable:
                enabled_at_s = report.state.now_s
                break
            assert r.model.value(victim, "enable_cmd") == 0
        assert enabled_at_s is not None, "the unit was not restarted after its hold"
        assert enabled_at_s - cleared_at_s >= HOLD_S
        value = metrics.registry.get_sample_value
        assert value("hpctl_unit_trips_total", {"unit": victim}) == 1
        assert value("hpctl_unit_trip_resets_total", {"unit": victim}) == 1
        metrics.close()
    audit.close()
    rows = read_audit(audit.path, equipment=victim, kinds=["unit_trip", "unit_trip_reset"])
    assert [row.kind for row in rows] == ["unit_trip", "unit_trip_reset"]
    assert rows[0].detail["alarm_code"] == 5
    assert rows[1].detail["hold_s"] == HOLD_S
