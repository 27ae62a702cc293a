"""Metrics against real things: the exposition of a demo run linted by `promtool check metrics`,
/healthz over HTTP as the cycle stops and the tank goes blind, MQTT counters, the day's cost,
and the systemd watchdog pings from the cycle."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from controller.app.demo import DEFAULT_PLANT, load_demo_inputs, run_demo
from controller.config import ControlConfig, load_plant
from controller.core.estimate import PlantState, UnitState
from controller.core.events import AuditEvent
from controller.runtime.cycle import ControlCycle
from controller.runtime.desk import OperatorDesk
from controller.runtime.dispatch import RulesPolicy
from controller.runtime.requests import CurtailRequest
from controller.telemetry.audit import AuditStore, FanOut
from controller.telemetry.counters import CounterMirror
from controller.telemetry.daybook import DayBook
from controller.telemetry.metrics import AUDIT_COUNTERS, MQTT_COUNTERS, ControllerMetrics
from controller.telemetry.mqtt.bridge import BridgeStats
from controller.telemetry.mqtt.market import MqttMarket
from controller.telemetry.mqtt.messages import PriceUpdate
from controller.telemetry.sdnotify import SystemdNotifier
from controller.telemetry.sources import MetricSources
from drivers.clock import SimClock
from tests.core.fakes import T0
from tests.ops.prom import PROMTOOL, FakeBridge, FakeStats, http_get
from tests.sil.harness import rig


def _sample(body: str, name: str) -> float:
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the exposition")


@pytest.fixture(scope="module")
def demo_exposition() -> str:
    """Metrics of 2 h 15 min simulated with the planner in the loop, scraped over HTTP."""
    plant, scenario = load_demo_inputs(None, None)
    plant = plant.with_control(policy="planner")
    sources = MetricSources(bridge=FakeBridge(FakeStats()))
    metrics = ControllerMetrics(plant.site, sources, control=plant.control)
    port = metrics.serve("127.0.0.1", 0)
    try:
        start = datetime(2024, 1, 8, 1, tzinfo=UTC)  # night: cheap, the units run
        asyncio.run(run_demo(plant, scenario, start, 2.25 / 24, progress=None, metrics=metrics))
        status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    finally:
        metrics.close()
    assert status == 200
    return body


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
def test_exposition_passes_promtool(demo_exposition: str) -> None:
    result = subprocess.run(
        [str(PROMTOOL), "check", "metrics"],
        input=demo_exposition,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_exports_process_decisions_and_health(demo_exposition: str) -> None:
    body = demo_exposition
    assert _sample(body, 'hpctl_plan_solver_status{status="optimal"}') == 1.0
    assert _sample(body, "hpctl_plan_solves_total") >= 1
    starts = {
        start: _sample(body, f'hpctl_plan_solver_start{{start="{start}"}}')
        for start in ("warm", "cold", "none")
    }
    assert sorted(starts.values()) == [0.0, 0.0, 1.0]
    first_s = _sample(body, "hpctl_plan_time_to_first_solution_seconds")
    assert 0.0 <= first_s <= _sample(body, "hpctl_plan_solve_duration_seconds")
    assert 0 < _sample(body, "hpctl_market_price_eur_per_mwh") < 1000
    assert _sample(body, "hpctl_market_carbon_intensity_grams_per_kwh") > 0
    assert _sample(body, "hpctl_plan_price_eur_per_mwh") == pytest.approx(
        _sample(body, "hpctl_market_price_eur_per_mwh")
    )
    assert _sample(body, "hpctl_today_cost_eur") > 0
    assert _sample(body, "hpctl_cost_eur_total") == pytest.approx(
        _sample(body, "hpctl_today_cost_eur")
    )
    assert 'hpctl_unit_planned_heat_watts{unit="hp1"}' in body
    assert _sample(body, 'hpctl_unit_return_temperature_celsius{unit="hp1"}') > 20
    assert _sample(body, 'hpctl_device_communication_good{device="tank1"}') == 1.0
    assert _sample(body, 'hpctl_policy_source{source="plan"}') == 1.0
    assert _sample(body, "hpctl_mqtt_connected") == 1.0
    assert _sample(body, "hpctl_mqtt_messages_received_total") == 42
    assert _sample(body, "hpctl_healthy") == 1.0
    # a cold night at 10-30 MW: the heat meter's energy is its power over the run
    delivered_j = _sample(body, "hpctl_plant_heat_delivered_joules_total")
    assert 2.25 * 3600 * 10e6 < delivered_j < 2.25 * 3600 * 30e6


def test_the_forecasters_errors_are_scraped_with_their_units(demo_exposition: str) -> None:
    body = demo_exposition
    # plans from 01:00 forecast the hours ahead; 01:00 and 02:00 have ended by 03:15
    assert _sample(body, "hpctl_forecast_scored_total") >= 2
    assert 0.0 <= _sample(body, "hpctl_forecast_outdoor_mae_kelvin") < 10.0
    assert _sample(body, "hpctl_forecast_outdoor_rmse_kelvin") >= _sample(
        body, "hpctl_forecast_outdoor_mae_kelvin"
    )
    # the heat meter measured the demand of those hours: it is scored too, in watts
    assert 0.0 <= _sample(body, "hpctl_forecast_demand_mae_watts") < 30e6
    assert _sample(body, "hpctl_forecast_demand_rmse_watts") >= _sample(
        body, "hpctl_forecast_demand_mae_watts"
    )
    # two days of the scenario's outdoor temperature before the start, no demand column: the
    # demand forecast is still the design curve
    assert _sample(body, "hpctl_forecast_history_seconds") >= 48 * 3600
    assert _sample(body, "hpctl_forecast_demand_learned") == 0.0


async def test_healthz_follows_the_cycle_and_the_data() -> None:
    plant = load_plant(DEFAULT_PLANT).with_control(policy="rules")
    async with rig(plant) as r:
        sources = MetricSources(health=r.pool.health, clock=r.clock)
        metrics = ControllerMetrics(r.plant.site, sources, control=r.plant.control)
        r.cycle.add_observer(metrics)
        port = metrics.serve("127.0.0.1", 0)
        url = f"http://127.0.0.1:{port}"
        try:
            status, body = await asyncio.to_thread(http_get, f"{url}/healthz")
            assert status == 503 and "no control cycle" in body

            await r.run(30)
            status, body = await asyncio.to_thread(http_get, f"{url}/healthz")
            assert status == 200, body
            assert json.loads(body)["status"] == "ok"
            assert "hpctl_healthy 1.0" in (await asyncio.to_thread(http_get, f"{url}/metrics"))[1]

            r.ticking = False  # the plant and the clock go on; the controller is stuck
            await r.run(4 * r.plant.control.cycle_s)
            status, body = await asyncio.to_thread(http_get, f"{url}/healthz")
            assert status == 503
            assert "last cycle" in json.loads(body)["reasons"][0]
            # no cycle has observed since: the gauge is judged when scraped, not left at 1
            status, body = await asyncio.to_thread(http_get, f"{url}/metrics")
            assert "hpctl_healthy 0.0" in body

            r.ticking = True
            r.model.faults.drop_comm("tank1")
            await r.run(60)
            status, body = await asyncio.to_thread(http_get, f"{url}/healthz")
            assert status == 503
            assert json.loads(body)["reasons"] == ["tank tank1: data not fresh"]

            status, _ = await asyncio.to_thread(http_get, f"{url}/nope")
            assert status == 404
            status, body = await asyncio.to_thread(http_get, f"{url}/metrics")
            assert status == 200 and "hpctl_healthy 0.0" in body
        finally:
            metrics.close()


def test_metrics_bind_loopback_unless_configured() -> None:
    assert ControlConfig().metrics_host == "127.0.0.1"
    plant = load_plant(DEFAULT_PLANT)
    metrics = ControllerMetrics(plant.site, control=plant.control)
    port = metrics.serve(plant.control.metrics_host, 0)
    try:
        with pytest.raises(OSError), socket.create_connection(("::1", port), timeout=2):
            pass
        assert http_get(f"http://127.0.0.1:{port}/")[0] == 200
    finally:
        metrics.close()


def test_mqtt_counters_follow_the_bridge() -> None:
    plant = load_plant(DEFAULT_PLANT)
    stats = FakeStats(connected=False, reconnects_total=0, messages_received_total=0)
    metrics = ControllerMetrics(
        plant.site, MetricSources(bridge=FakeBridge(stats)), control=plant.control
    )
    metrics._observe_comms()
    stats.connected, stats.reconnects_total, stats.messages_received_total = True, 2, 10
    metrics._observe_comms()
    value = metrics.registry.get_sample_value
    assert value("hpctl_mqtt_connected") == 1.0
    assert value("hpctl_mqtt_reconnects_total") == 2.0
    assert value("hpctl_mqtt_messages_received_total") == 10.0
    assert value("hpctl_mqtt_requests_rejected_total") == 1.0
    stats.published_total, stats.dropped_total, stats.connect_failures_total = 500, 3, 2
    metrics._observe_comms()
    assert value("hpctl_mqtt_published_total") == 500.0
    assert value("hpctl_mqtt_dropped_total") == 3.0
    assert value("hpctl_mqtt_connect_failures_total") == 2.0
    assert value("hpctl_mqtt_price_updates_total") == 4.0


def test_audit_counters_follow_the_store(tmp_path: Path) -> None:
    plant = load_plant(DEFAULT_PLANT)
    store = AuditStore(tmp_path / "audit.sqlite3", retention_days=7)
    metrics = ControllerMetrics(plant.site, MetricSources(audit=store), control=plant.control)
    store.record(AuditEvent(T0, "write", "hp1", {}))
    store.record(AuditEvent(T0 + timedelta(days=30), "write", "hp1", {}))
    store.close()
    metrics._observe_comms()
    value = metrics.registry.get_sample_value
    assert value("hpctl_audit_events_written_total") == 2.0
    assert value("hpctl_audit_events_pruned_total") == 1.0
    assert value("hpctl_audit_events_dropped_total") == 0.0


def test_counter_mirror_counts_a_restarted_source_as_new() -> None:
    registry = CollectorRegistry()
    mirror = CounterMirror(Counter("x_total", "x", registry=registry))
    for value in (5, 7, 2, 4):  # the source restarted after 7
        mirror.update(value)
    assert registry.get_sample_value("x_total") == 7 + 4


def _state(now: datetime, now_s: float, power_kw: float, heat_kw: float) -> PlantState:
    unit = UnitState(
        name="hp1",
        data_good=True,
        state_code=2,
        remote_active=True,
        alarm_code=0,
        heat_kw=heat_kw,
        power_kw=power_kw,
        supply_temp_c=75.0,
        source_temp_c=5.0,
        run_hours_h=1.0,
        starts_total=1,
        valve_position_pct=100.0,
    )
    return PlantState(
        now_utc=now,
        now_s=now_s,
        units=(unit,),
        tanks=(),
        boiler=None,
        network_heat_kw=heat_kw,
        network_supply_temp_c=75.0,
        outdoor_temp_c=0.0,
        source_temp_c=5.0,
        cooling_demand_kw=None,
    )


def test_daybook_counts_cost_and_closes_the_day_at_local_midnight() -> None:
    plant = load_plant(DEFAULT_PLANT)
    book = DayBook(plant.site, plant.control)
    start = datetime(2024, 1, 8, 22, 0, tzinfo=UTC)  # 23:00 in Copenhagen
    finished = []
    for step in range(121):  # two hours in 60 s steps
        now = start + timedelta(seconds=60 * step)
        midpoint = now - timedelta(seconds=30)  # the metrics price an interval at its middle
        price = 100.0 if midpoint < start + timedelta(hours=1) else 50.0
        done = book.add(_state(now, 60.0 * step, 1000.0, 3000.0), 60.0, price, 200.0)
        if done is not None:
            finished.append(done)
    assert len(finished) == 1
    day = finished[0]
    assert day.day.isoformat() == "2024-01-08"
    assert day.end_utc == datetime(2024, 1, 8, 23, 0, tzinfo=UTC)
    # the first cycle has no interval behind it; 60 one-minute intervals at 1 MW and 100 EUR/MWh
    assert day.electricity_kwh == pytest.approx(1000.0)
    assert day.electricity_cost_eur == pytest.approx(100.0)
    assert day.co2_g == pytest.approx(200.0 * 1000.0)
    assert not day.complete  # one hour of a 24-hour day was seen
    today = book.today
    assert today is not None and today.day.isoformat() == "2024-01-09"
    assert today.electricity_cost_eur == pytest.approx(50.0)


def test_systemd_watchdog_pings_from_the_cycle(tmp_path: Path) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(5)
        clock = SimClock(datetime(2024, 1, 8, tzinfo=UTC))
        notifier = SystemdNotifier(clock, {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "10000000"})
        report: Any = object()  # the notifier only needs to know that a cycle ran
        notifier.observe(report)
        assert listener.recv(256) == b"READY=1\nSTATUS=controlling"
        assert listener.recv(256) == b"WATCHDOG=1"
        clock.advance(2.0)
        notifier.observe(report)  # 2 s later: not due yet (every 5 s)
        clock.advance(3.0)
        notifier.observe(report)
        assert listener.recv(256) == b"WATCHDOG=1"
        notifier.stopping()
        assert listener.recv(256) == b"STOPPING=1"


def test_every_metric_is_documented() -> None:
    plant = load_plant(DEFAULT_PLANT)
    metrics = ControllerMetrics(plant.site, control=plant.control)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    names = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in metrics.registry.collect()
    }
    missing = sorted(name for name in names if f"`{name}`" not in doc)
    assert not missing, f"docs/metrics.md does not list {missing}"


async def test_operator_overrides_in_force_are_exported_by_kind() -> None:
    plant = load_plant(DEFAULT_PLANT).with_control(policy="rules")
    async with rig(plant) as r:
        desk = OperatorDesk(r.plant.site, RulesPolicy(), FanOut([]))
        r.cycle = ControlCycle(r.plant, r.pool, r.clock, desk)
        sources = MetricSources(health=r.pool.health, clock=r.clock, overrides=desk)
        metrics = ControllerMetrics(r.plant.site, sources, control=r.plant.control)
        r.cycle.add_observer(metrics)
        value = metrics.registry.get_sample_value
        assert value("hpctl_operator_overrides_active", {"kind": "curtail"}) == 0.0
        expires = r.clock.now() + timedelta(minutes=2)
        cap = CurtailRequest(
            kind="curtail", id="cap", max_power_kw=0.0, priority=50, expires_utc=expires
        )
        assert desk.submit(cap, r.clock.now()).accepted
        await r.run(10)
        assert value("hpctl_operator_overrides_active", {"kind": "curtail"}) == 1.0
        assert value("hpctl_operator_overrides_active", {"kind": "manual"}) == 0.0
        await r.run(150)  # past its expiry: the desk drops it and the gauge follows
        assert value("hpctl_operator_overrides_active", {"kind": "curtail"}) == 0.0


def test_a_price_arriving_mid_hour_is_shown_minutes_later_not_next_hour() -> None:
    plant = load_plant(DEFAULT_PLANT)
    metrics = ControllerMetrics(plant.site, control=plant.control)
    market = MqttMarket()
    start = datetime(2024, 1, 8, 10, 10, tzinfo=UTC)
    value = metrics.registry.get_sample_value

    def observe(minute: int) -> None:
        now = start + timedelta(minutes=minute)
        state = _state(now, 60.0 * minute, 1000.0, 3000.0)
        metrics.decisions.observe(state, None, None, market)

    observe(0)
    assert math.isnan(value("hpctl_market_price_eur_per_mwh") or 0.0)
    hour = datetime(2024, 1, 8, 10, tzinfo=UTC)
    update = {"prices": [{"start_utc": hour.isoformat(), "price_eur_per_mwh": 87.5}]}
    market.add_prices(PriceUpdate.model_validate(update), received_utc=start)
    observe(2)  # same hour, two cycles of 60 s on: the feed has been asked again
    assert value("hpctl_market_price_eur_per_mwh") == 87.5


def test_the_counter_tables_name_what_the_bridge_and_the_store_keep(tmp_path: Path) -> None:
    bridge_counters = {f.name for f in dataclasses.fields(BridgeStats)} - {"connected"}
    assert {attribute for _, attribute, _ in MQTT_COUNTERS} == bridge_counters
    store = AuditStore(tmp_path / "audit.sqlite3")
    store.close()
    for _, attribute, _ in AUDIT_COUNTERS:
        assert isinstance(getattr(store, attribute), int), attribute
