"""Prometheus metrics: the plant's process values and the controller's decisions and health.

Names follow the Prometheus conventions (`promtool check metrics` is clean): base units (watts,
joules, celsius, seconds, grams), counters end in `_total`, a ratio is 0..1; euros, prices and
carbon intensity carry their unit in the name. A value that is not GOOD is exported as NaN,
never as a stale number. The registry is per controller so tests can run several. The full list
is in docs/metrics.md.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from controller.config import ControlConfig
from controller.core.overrides import PLANT_KINDS, UNIT_KINDS
from controller.core.report import CycleReport
from controller.telemetry.counters import CounterMirror
from controller.telemetry.decisions import DecisionMetrics
from controller.telemetry.health import judge_health
from controller.telemetry.http import MetricsServer
from controller.telemetry.sources import ForecastScore, MetricSources
from drivers.clock import WallClock
from drivers.site import SiteConfig

KW_TO_W = 1000.0
INTERLOCK_REASONS = (
    "unit_tripped",
    "trip_reset_hold",
    "unit_data_stale",
    "tank_high_temp",
    "supply_high_temp",
    "start_protection",
    "valve_not_confirmed",
    "valve_close_while_running",
    "tank_data_stale_handback",
)
POLICY_SOURCES = ("plan", "last_plan", "merit", "rules")


# (metric name without prefix/suffix, the bridge's counter, help): every counter the bridge keeps
MQTT_COUNTERS = (
    ("reconnects", "reconnects_total", "MQTT reconnections"),
    (
        "connect_failures",
        "connect_failures_total",
        "MQTT connection attempts that failed (refused, TLS, authentication)",
    ),
    ("messages_received", "messages_received_total", "MQTT messages received"),
    ("garbage_messages", "garbage_total", "MQTT messages that could not be parsed"),
    ("requests_accepted", "requests_accepted_total", "Operator requests over MQTT accepted"),
    ("requests_rejected", "requests_rejected_total", "Operator requests over MQTT rejected"),
    (
        "price_updates",
        "price_updates_total",
        "Valid price updates received over MQTT (used unless a price file is configured)",
    ),
    ("carbon_updates", "carbon_updates_total", "Valid carbon updates received over MQTT"),
    ("fuel_updates", "fuel_updates_total", "Valid fuel price updates received over MQTT"),
    ("published", "published_total", "MQTT messages published (state, plan, events, replies)"),
    (
        "dropped",
        "dropped_total",
        "Reports or events dropped because the MQTT publish queue was full",
    ),
)


# read by name from the audit store (a test holds the table to AuditStore)
AUDIT_COUNTERS = (
    ("written", "written_total", "Audit events committed to the audit store"),
    ("dropped", "dropped_total", "Audit events dropped because the writer fell far behind"),
    ("pruned", "pruned_total", "Audit rows deleted for being older than the retention"),
    (
        "write_errors",
        "write_errors_total",
        "Audit commits the database refused (disk full, I/O error); each is retried",
    ),
)


class ControllerMetrics:
    """Observes every cycle; `serve()` starts /metrics and /healthz (127.0.0.1 unless told).

    What the metrics read besides the cycle report comes in one `MetricSources`: given here, or
    with `attach()` when the metrics exist before the run that builds those parts (the demo).
    A part left out has no metrics of its own; an attached part is read from the next cycle on.
    """

    def __init__(
        self,
        site: SiteConfig,
        sources: MetricSources | None = None,
        *,
        control: ControlConfig | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self._site = site
        self._control = control or ControlConfig()
        self._sources = sources or MetricSources()
        self._wall_clock = WallClock()
        self._server: MetricsServer | None = None
        self._last: CycleReport | None = None
        self.decisions = DecisionMetrics(self.registry, site, self._control)
        self._define()
        for reason in INTERLOCK_REASONS:
            self.interlock_reasons.labels(reason)
        for unit in site.units:
            self.unit_trips.labels(unit.name)
            self.unit_trip_resets.labels(unit.name)
        for binding in site.devices():
            self.writes.labels(binding.name)
            self.write_errors.labels(binding.name)
        self.info.labels(_release(), site.plant.name).set(1.0)
        self._last_now_s: float | None = None

    @property
    def sources(self) -> MetricSources:
        return self._sources

    def attach(self, sources: MetricSources) -> None:
        """Read these parts from the next cycle on (all of them: the object replaces the last)."""
        self._sources = sources

    def _define(self) -> None:
        r = self.registry

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, list(labels), registry=r)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, list(labels), registry=r)

        u = ("unit",)
        self.info = gauge("hpctl_build_info", "Controller version and plant", ("version", "plant"))
        self.cycle_duration = Histogram(
            "hpctl_cycle_duration_seconds",
            "Compute time of one control cycle",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.cycles = counter("hpctl_cycles", "Control cycles run")
        self.overruns = CounterMirror(
            counter("hpctl_cycle_overruns", "Ticks skipped because a cycle ran late")
        )
        self.policy_failures = CounterMirror(
            counter(
                "hpctl_dispatch_policy_failures",
                "Cycles whose dispatch policy raised and the rules stood in, by the policy",
                ("policy",),
            )
        )
        self.read_only = gauge(
            "hpctl_read_only", "1 when the controller writes nothing (read-only commissioning)"
        )
        self.read_only.set(1.0 if self._control.read_only else 0.0)
        # the alert on a fallback to the rules needs to know whether the rules are the choice
        self.policy_configured = gauge(
            "hpctl_policy_configured",
            "1 for the dispatch policy the plant file asks for (planner, merit, rules)",
            ("policy",),
        )
        self.policy_configured.labels(self._control.policy).set(1.0)
        self.unit_trips = counter(
            "hpctl_unit_trips", "Unit trips, seen in the unit's measured state", ("unit",)
        )
        self.unit_trip_resets = counter(
            "hpctl_unit_trip_resets",
            "Unit trips cleared, seen in the unit's measured state (the reset hold starts)",
            ("unit",),
        )
        self.last_cycle = gauge(
            "hpctl_last_cycle_timestamp_seconds", "When the last cycle ran (Unix time)"
        )
        self.healthy = gauge("hpctl_healthy", "1 when /healthz answers 200")
        # judged at scrape time: a stuck cycle never observes again, yet must read 0 here
        self.healthy.set_function(lambda: 1.0 if self.health_status()[0] else 0.0)
        self.unit_state = gauge(
            "hpctl_unit_state_code",
            "Unit state: 0 off, 1 starting, 2 running, 3 stopping, 4 tripped",
            u,
        )
        self.unit_heat = gauge("hpctl_unit_heat_watts", "Heat output of the unit", u)
        self.unit_power = gauge("hpctl_unit_power_watts", "Electric power drawn by the unit", u)
        self.unit_cop = gauge("hpctl_unit_cop_ratio", "Measured coefficient of performance", u)
        self.unit_supply = gauge(
            "hpctl_unit_supply_temperature_celsius", "Condenser outlet temperature", u
        )
        self.unit_return = gauge(
            "hpctl_unit_return_temperature_celsius", "Condenser inlet temperature", u
        )
        self.unit_source = gauge(
            "hpctl_unit_source_temperature_celsius", "Evaporator inlet temperature", u
        )
        self.unit_remote = gauge(
            "hpctl_unit_remote_mode",
            "1 when the unit follows the supervisor, 0 in local control",
            u,
        )
        self.unit_alarm_code = gauge("hpctl_unit_alarm_code", "Alarm code the unit reports", u)
        self.unit_alarm = gauge("hpctl_unit_alarm_active", "1 while the unit reports an alarm", u)
        self.unit_enabled = gauge(
            "hpctl_unit_enable_command", "1 when the controller commands the compressor on", u
        )
        self.unit_setpoint = gauge("hpctl_unit_heat_setpoint_watts", "Commanded heat setpoint", u)
        self.unit_wanted = gauge("hpctl_unit_wanted_on", "1 when the policy wants the unit on", u)
        self.unit_run_time = gauge(
            "hpctl_unit_run_time_seconds", "Run-hour counter of the unit, in seconds", u
        )
        self.unit_starts = gauge(
            "hpctl_unit_starts", "Start counter of the unit as it reports it", u
        )
        self.unit_data_good = gauge(
            "hpctl_unit_data_good", "1 when the unit's essential points are good", u
        )
        self.tank_layer = gauge(
            "hpctl_tank_layer_temperature_celsius",
            "Tank layer temperature, layer 1 at the bottom",
            ("tank", "layer"),
        )
        self.tank_soc = gauge(
            "hpctl_tank_state_of_charge_ratio",
            "Tank state of charge between its min and max temperature",
            ("tank",),
        )
        self.tank_energy = gauge(
            "hpctl_tank_energy_joules", "Usable energy stored in the tank", ("tank",)
        )
        self.tank_capacity = gauge(
            "hpctl_tank_capacity_joules", "Energy the tank holds at 100 % charge", ("tank",)
        )
        self.plant_heat = gauge(
            "hpctl_plant_heat_delivered_watts", "Heat delivered to the network (heat meter)"
        )
        meter = ("meter", "measures")
        self.meter_heat = gauge("hpctl_heat_meter_heat_watts", "Heat power the meter shows", meter)
        self.meter_energy = gauge(
            "hpctl_heat_meter_energy_joules", "The meter's cumulative energy register", meter
        )
        self.meter_flow = gauge(
            "hpctl_heat_meter_flow_cubic_meters_per_second", "Volume flow through the meter", meter
        )
        self.meter_supply = gauge(
            "hpctl_heat_meter_supply_temperature_celsius", "Meter's forward temperature", meter
        )
        self.meter_return = gauge(
            "hpctl_heat_meter_return_temperature_celsius", "Meter's return temperature", meter
        )
        self.plant_supply = gauge(
            "hpctl_plant_supply_temperature_celsius", "Network supply temperature"
        )
        self.plant_outdoor = gauge("hpctl_plant_outdoor_temperature_celsius", "Outdoor temperature")
        self.plant_source = gauge(
            "hpctl_plant_source_temperature_celsius", "Heat-source temperature"
        )
        self.under_supplied = gauge(
            "hpctl_plant_supply_below_minimum",
            "1 while the network supply is below its minimum temperature (heat unmet)",
        )
        self.under_supplied_s = counter(
            "hpctl_plant_supply_below_minimum_seconds",
            "Time the network supply spent below its minimum temperature",
        )
        self.boiler_heat = gauge("hpctl_boiler_heat_watts", "Backup boiler heat output")
        self.boiler_fuel = gauge("hpctl_boiler_fuel_watts", "Backup boiler fuel input")
        self.boiler_state = gauge("hpctl_boiler_state_code", "Boiler state code as it reports it")
        self.interlocks = counter(
            "hpctl_equipment_interlock_trips",
            "Safety interventions by equipment and reason",
            ("equipment", "reason"),
        )
        self.interlock_reasons = counter(
            "hpctl_interlock_trips", "Safety interventions by reason", ("reason",)
        )
        self.interlocks_active = gauge(
            "hpctl_interlocks_active", "Safety interventions active in the last cycle"
        )
        self.handbacks = counter(
            "hpctl_handbacks", "Cycles in which the plant was handed to local control"
        )
        self.write_errors = counter("hpctl_write_errors", "Failed writes to equipment", ("device",))
        self.writes = counter("hpctl_writes", "Point values written to equipment", ("device",))
        self.device_good = gauge(
            "hpctl_device_communication_good",
            "1 when the device answered its last poll",
            ("device",),
        )
        self.device_connected = gauge(
            "hpctl_device_connected", "1 while the device's connection is up", ("device",)
        )
        self.device_failures = gauge(
            "hpctl_device_consecutive_failures", "Failed polls in a row", ("device",)
        )
        self.device_errors = CounterMirror(
            counter(
                "hpctl_device_communication_errors",
                "Communication errors of the device since start",
                ("device",),
            )
        )
        self.device_reads = CounterMirror(
            counter("hpctl_device_reads", "Successful reads of the device", ("device",))
        )
        self.policy_source = gauge(
            "hpctl_policy_source",
            "Fallback level in use: 1 for the source of the targets (plan, last_plan, merit, rules)",
            ("source",),
        )
        self.overrides_active = gauge(
            "hpctl_operator_overrides_active",
            "Operator requests in force, by kind (manual, setpoint, curtail, boost)",
            ("kind",),
        )
        for kind in UNIT_KINDS + PLANT_KINDS:
            self.overrides_active.labels(kind).set(0.0)
        self.forecast_outdoor_mae = gauge(
            "hpctl_forecast_outdoor_mae_kelvin",
            "Mean absolute error of the outdoor temperature forecast since start, over every "
            "lead time scored",
        )
        self.forecast_outdoor_rmse = gauge(
            "hpctl_forecast_outdoor_rmse_kelvin",
            "Root mean square error of the outdoor temperature forecast since start",
        )
        self.forecast_demand_mae = gauge(
            "hpctl_forecast_demand_mae_watts",
            "Mean absolute error of the heat demand forecast since start, over every lead time "
            "scored",
        )
        self.forecast_demand_rmse = gauge(
            "hpctl_forecast_demand_rmse_watts",
            "Root mean square error of the heat demand forecast since start",
        )
        self.forecast_scored = CounterMirror(
            counter(
                "hpctl_forecast_scored",
                "Forecast hours scored against what then happened (one per hour and lead time)",
            )
        )
        for error_gauge in (
            self.forecast_outdoor_mae,
            self.forecast_outdoor_rmse,
            self.forecast_demand_mae,
            self.forecast_demand_rmse,
        ):
            error_gauge.set(float("nan"))  # nothing scored yet
        self.forecast_history = gauge(
            "hpctl_forecast_history_seconds",
            "Measured history the forecaster learns from (at most four weeks and two days)",
        )
        self.forecast_demand_learned = gauge(
            "hpctl_forecast_demand_learned",
            "1 when the demand forecast is the learned regression, 0 on the design curve",
        )
        self.mqtt_connected = gauge(
            "hpctl_mqtt_connected", "1 while the MQTT bridge is connected, NaN without a bridge"
        )
        self.mqtt_connected.set(float("nan"))  # MQTT off is not MQTT down: no alert
        self.mqtt = {
            attribute: CounterMirror(counter(f"hpctl_mqtt_{name}", doc))
            for name, attribute, doc in MQTT_COUNTERS
        }
        self.audit = {
            attribute: CounterMirror(counter(f"hpctl_audit_events_{name}", doc))
            for name, attribute, doc in AUDIT_COUNTERS
        }

    # --- per cycle -------------------------------------------------------------------------
    def observe(self, report: CycleReport) -> None:
        self._last = report
        self.cycles.inc()
        self.cycle_duration.observe(report.duration_s)
        self.last_cycle.set(report.state.now_utc.timestamp())
        self._observe_process(report)
        self._observe_actions(report)
        self._observe_comms()
        sources = self._sources
        self.decisions.observe(report.state, sources.planner, sources.policy, sources.market)
        if sources.cycle is not None:
            self.overruns.update(float(sources.cycle.overruns_total))
            for policy, failures in sources.cycle.policy_failures.items():
                self.policy_failures.update(float(failures), policy)
        if sources.forecaster is not None:
            self._observe_forecast(sources.forecaster)

    def _observe_forecast(self, forecaster: ForecastScore) -> None:
        errors = forecaster.errors()
        self.forecast_outdoor_mae.set(errors["outdoor_mae_k"])
        self.forecast_outdoor_rmse.set(errors["outdoor_rmse_k"])
        self.forecast_demand_mae.set(errors["demand_mae_kw"] * KW_TO_W)
        self.forecast_demand_rmse.set(errors["demand_rmse_kw"] * KW_TO_W)
        self.forecast_scored.update(errors["scored_forecast_hours"])
        self.forecast_history.set(forecaster.history_hours * 3600.0)
        self.forecast_demand_learned.set(1.0 if forecaster.learned_demand else 0.0)

    def _observe_process(self, report: CycleReport) -> None:
        state = report.state
        for unit in state.units:
            name = unit.name
            _set(self.unit_state, unit.state_code, name)
            _set(self.unit_heat, _watts(unit.heat_kw), name)
            _set(self.unit_power, _watts(unit.power_kw), name)
            _set(self.unit_cop, unit.cop, name)
            _set(self.unit_supply, unit.supply_temp_c, name)
            _set(self.unit_return, unit.return_temp_c, name)
            _set(self.unit_source, unit.source_temp_c, name)
            _set(self.unit_remote, _flag(unit.remote_active), name)
            _set(self.unit_alarm_code, unit.alarm_code, name)
            alarm = None if unit.alarm_code is None else unit.alarm_code != 0
            _set(self.unit_alarm, _flag(alarm), name)
            _set(
                self.unit_run_time,
                None if unit.run_hours_h is None else unit.run_hours_h * 3600,
                name,
            )
            _set(self.unit_starts, unit.starts_total, name)
            self.unit_data_good.labels(name).set(1.0 if unit.data_good else 0.0)
        for tank, spec in zip(state.tanks, self._site.tanks, strict=True):
            for layer, temp_c in enumerate(tank.layer_temps_c, start=1):
                _set(self.tank_layer, temp_c, tank.name, str(layer))
            _set(self.tank_soc, tank.soc, tank.name)
            _set(
                self.tank_energy,
                None if tank.energy_kwh is None else tank.energy_kwh * 3.6e6,
                tank.name,
            )
            self.tank_capacity.labels(tank.name).set(spec.capacity_kwh * 3.6e6)
        for meter in state.heat_meters:
            labels = (meter.name, meter.measures)
            _set(self.meter_heat, _watts(meter.heat_kw), *labels)
            energy_j = None if meter.energy_kwh is None else meter.energy_kwh * 3.6e6
            _set(self.meter_energy, energy_j, *labels)
            flow = None if meter.flow_m3_per_h is None else meter.flow_m3_per_h / 3600.0
            _set(self.meter_flow, flow, *labels)
            _set(self.meter_supply, meter.supply_temp_c, *labels)
            _set(self.meter_return, meter.return_temp_c, *labels)
        _set(self.plant_heat, _watts(state.network_heat_kw))
        _set(self.plant_supply, state.network_supply_temp_c)
        _set(self.plant_outdoor, state.outdoor_temp_c)
        _set(self.plant_source, state.source_temp_c)
        supply_c = state.network_supply_temp_c
        below = None if supply_c is None else supply_c < self._site.network.supply_temp_min_c
        _set(self.under_supplied, _flag(below))
        last_s, self._last_now_s = self._last_now_s, state.now_s
        if below and last_s is not None:
            self.under_supplied_s.inc(max(0.0, state.now_s - last_s))
        if state.boiler is not None:
            _set(self.boiler_heat, _watts(state.boiler.heat_kw))
            _set(self.boiler_fuel, _watts(state.boiler.fuel_kw))
            _set(self.boiler_state, state.boiler.state_code)

    def _observe_actions(self, report: CycleReport) -> None:
        for unit in report.state.units:
            name = unit.name
            command = report.commands.units.get(name)
            if command is not None:
                self.unit_enabled.labels(name).set(1.0 if command.enable else 0.0)
                self.unit_setpoint.labels(name).set(command.heat_setpoint_kw * KW_TO_W)
            self.unit_wanted.labels(name).set(1.0 if report.targets.unit_on.get(name) else 0.0)
        for trip in report.trips:
            (self.unit_trips if trip.kind == "trip" else self.unit_trip_resets).labels(
                trip.unit
            ).inc()
        for interlock in report.new_interlocks:
            self.interlocks.labels(interlock.equipment, interlock.reason).inc()
            self.interlock_reasons.labels(interlock.reason).inc()
        self.interlocks_active.set(len(report.interlocks))
        if report.handed_back and not report.read_only:  # read-only: nothing was handed back
            self.handbacks.inc()
        for device, values in report.writes.items():
            if device not in report.write_errors:
                self.writes.labels(device).inc(len(values))
        for device in report.write_errors:
            self.write_errors.labels(device).inc()
        for source in POLICY_SOURCES:
            self.policy_source.labels(source).set(1.0 if report.targets.source == source else 0.0)
        overrides = self._sources.overrides
        if overrides is not None:
            kinds = [request.kind for request in overrides.active]
            for kind in UNIT_KINDS + PLANT_KINDS:
                self.overrides_active.labels(kind).set(float(kinds.count(kind)))

    def _observe_comms(self) -> None:
        sources = self._sources
        if sources.health is not None:
            for device, health in sources.health().items():
                self.device_good.labels(device).set(1.0 if health.good else 0.0)
                self.device_connected.labels(device).set(1.0 if health.connected else 0.0)
                self.device_failures.labels(device).set(float(health.consecutive_failures))
                self.device_errors.update(float(health.comm_errors_total), device)
                self.device_reads.update(float(health.reads_total), device)
        if sources.bridge is not None:
            stats = sources.bridge.stats
            self.mqtt_connected.set(1.0 if stats.connected else 0.0)
            # the counters are read by name from the tables, which a test holds to BridgeStats
            # and AuditStore
            for attribute, mirror in self.mqtt.items():
                mirror.update(float(getattr(stats, attribute)))
        if sources.audit is not None:
            for attribute, mirror in self.audit.items():
                mirror.update(float(getattr(sources.audit, attribute)))

    # --- health ----------------------------------------------------------------------------
    def health_status(self) -> tuple[bool, dict[str, object]]:
        """Alive (a cycle within 3 periods, by the controller's Clock) and data fresh."""
        clock = self._sources.clock or self._wall_clock
        return judge_health(
            self._last, clock.monotonic_s(), self._control.cycle_s, self._control.read_only
        )

    # --- serving ---------------------------------------------------------------------------
    def serve(self, host: str, port: int) -> int:
        """Start /metrics and /healthz in a thread; returns the bound port (0 picks a free one)."""
        self._server = MetricsServer(self.registry, self.health_status)
        return self._server.start(host, port)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.decisions.close()


def _release() -> str:
    try:
        return version("hpctl")
    except PackageNotFoundError:
        return "unknown"


def _watts(kw: float | None) -> float | None:
    return None if kw is None else kw * KW_TO_W


def _flag(value: bool | None) -> float | None:
    return None if value is None else float(value)


def _set(gauge: Gauge, value: float | int | None, *labels: str) -> None:
    """A value that is not GOOD is exported as NaN, never as a stale number."""
    target = gauge.labels(*labels) if labels else gauge
    target.set(float("nan") if value is None else float(value))
