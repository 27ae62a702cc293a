"""Prometheus metrics: the plant's process values and the controller's decisions and health.

Names follow the Prometheus conventions: base units (watts, celsius, seconds, joules), counters
end in `_total`, a ratio is 0..1. The registry is per controller so tests can run several.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from threading import Thread
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from controller.cycle import CycleReport
from drivers.site import SiteConfig

KW_TO_W = 1000.0


class HealthSource(Protocol):
    """What the metrics need of the driver pool's health (drivers.pool.DriverPool provides it)."""

    def health(self) -> Mapping[str, object]: ...


class ControllerMetrics:
    """Observes every cycle; serve with `serve()` (binds 127.0.0.1 unless told otherwise)."""

    def __init__(
        self, site: SiteConfig, health: Callable[[], Mapping[str, object]] | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self._site = site
        self._health = health
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None
        r = self.registry
        self.cycle_duration = Histogram(
            "hpctl_cycle_duration_seconds",
            "Compute time of one control cycle",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.cycles = Counter("hpctl_cycles_total", "Control cycles run", registry=r)
        self.overruns = Counter(
            "hpctl_cycle_overruns_total", "Ticks skipped because a cycle ran late", registry=r
        )
        self.unit_state = Gauge(
            "hpctl_unit_state_code",
            "Unit state: 0 off, 1 starting, 2 running, 3 stopping, 4 tripped",
            ["unit"],
            registry=r,
        )
        self.unit_heat = Gauge(
            "hpctl_unit_heat_watts", "Heat output of the unit", ["unit"], registry=r
        )
        self.unit_power = Gauge(
            "hpctl_unit_power_watts", "Electric power drawn by the unit", ["unit"], registry=r
        )
        self.unit_cop = Gauge(
            "hpctl_unit_cop_ratio", "Measured coefficient of performance", ["unit"], registry=r
        )
        self.unit_supply = Gauge(
            "hpctl_unit_supply_temperature_celsius",
            "Condenser outlet temperature",
            ["unit"],
            registry=r,
        )
        self.unit_remote = Gauge(
            "hpctl_unit_remote_mode",
            "1 when the unit follows the supervisor, 0 in local control",
            ["unit"],
            registry=r,
        )
        self.unit_enabled = Gauge(
            "hpctl_unit_enable_command",
            "1 when the controller commands the compressor on",
            ["unit"],
            registry=r,
        )
        self.unit_setpoint = Gauge(
            "hpctl_unit_heat_setpoint_watts", "Commanded heat setpoint", ["unit"], registry=r
        )
        self.unit_run_hours = Gauge(
            "hpctl_unit_run_hours", "Run-hour counter of the unit (hours)", ["unit"], registry=r
        )
        self.unit_starts = Gauge(
            "hpctl_unit_starts", "Start counter of the unit as it reports it", ["unit"], registry=r
        )
        self.unit_data_good = Gauge(
            "hpctl_unit_data_good",
            "1 when the unit's essential points are good",
            ["unit"],
            registry=r,
        )
        self.tank_layer = Gauge(
            "hpctl_tank_layer_temperature_celsius",
            "Tank layer temperature, layer 1 at the bottom",
            ["tank", "layer"],
            registry=r,
        )
        self.tank_soc = Gauge(
            "hpctl_tank_state_of_charge_ratio",
            "Tank state of charge between its min and max temperature",
            ["tank"],
            registry=r,
        )
        self.tank_energy = Gauge(
            "hpctl_tank_energy_joules", "Usable energy stored in the tank", ["tank"], registry=r
        )
        self.plant_demand = Gauge(
            "hpctl_plant_heat_demand_watts", "Heat drawn by the network (heat meter)", registry=r
        )
        self.plant_supply = Gauge(
            "hpctl_plant_supply_temperature_celsius", "Network supply temperature", registry=r
        )
        self.plant_outdoor = Gauge(
            "hpctl_plant_outdoor_temperature_celsius", "Outdoor temperature", registry=r
        )
        self.plant_source = Gauge(
            "hpctl_plant_source_temperature_celsius", "Heat-source temperature", registry=r
        )
        self.boiler_heat = Gauge("hpctl_boiler_heat_watts", "Backup boiler heat output", registry=r)
        self.interlocks = Counter(
            "hpctl_interlock_trips_total",
            "Safety interventions by reason",
            ["equipment", "reason"],
            registry=r,
        )
        self.handbacks = Counter(
            "hpctl_handbacks_total",
            "Cycles in which the plant was handed to local control",
            registry=r,
        )
        self.write_errors = Counter(
            "hpctl_write_errors_total", "Failed writes to equipment", ["device"], registry=r
        )
        self.writes = Counter(
            "hpctl_writes_total", "Point values written to equipment", ["device"], registry=r
        )
        self.device_good = Gauge(
            "hpctl_device_communication_good",
            "1 when the device answered its last poll",
            ["device"],
            registry=r,
        )
        self.device_errors = Gauge(
            "hpctl_device_communication_errors",
            "Communication errors of the device since start",
            ["device"],
            registry=r,
        )
        self.policy_source = Gauge(
            "hpctl_policy_source_info",
            "Which policy produced the targets (1 for the one in use)",
            ["source"],
            registry=r,
        )
        self.unit_running = Gauge(
            "hpctl_unit_wanted_on", "1 when the policy wants the unit on", ["unit"], registry=r
        )

    def observe(self, report: CycleReport) -> None:
        self.cycles.inc()
        self.cycle_duration.observe(report.duration_s)
        state = report.state
        for unit in state.units:
            name = unit.name
            _set(self.unit_state, unit.state_code, name)
            _set(self.unit_heat, None if unit.heat_kw is None else unit.heat_kw * KW_TO_W, name)
            _set(self.unit_power, None if unit.power_kw is None else unit.power_kw * KW_TO_W, name)
            _set(self.unit_cop, unit.cop, name)
            _set(self.unit_supply, unit.supply_temp_c, name)
            _set(
                self.unit_remote,
                None if unit.remote_active is None else float(unit.remote_active),
                name,
            )
            _set(self.unit_run_hours, unit.run_hours_h, name)
            _set(self.unit_starts, unit.starts_total, name)
            self.unit_data_good.labels(name).set(1.0 if unit.data_good else 0.0)
            command = report.commands.units.get(name)
            if command is not None:
                self.unit_enabled.labels(name).set(1.0 if command.enable else 0.0)
                self.unit_setpoint.labels(name).set(command.heat_setpoint_kw * KW_TO_W)
            self.unit_running.labels(name).set(1.0 if report.targets.unit_on.get(name) else 0.0)
        for tank in state.tanks:
            for layer, temp_c in enumerate(tank.layer_temps_c, start=1):
                _set(self.tank_layer, temp_c, tank.name, str(layer))
            _set(self.tank_soc, tank.soc, tank.name)
            _set(
                self.tank_energy,
                None if tank.energy_kwh is None else tank.energy_kwh * 3.6e6,
                tank.name,
            )
        _set(
            self.plant_demand,
            None if state.network_heat_kw is None else state.network_heat_kw * KW_TO_W,
        )
        _set(self.plant_supply, state.network_supply_temp_c)
        _set(self.plant_outdoor, state.outdoor_temp_c)
        _set(self.plant_source, state.source_temp_c)
        if state.boiler is not None:
            _set(
                self.boiler_heat,
                None if state.boiler.heat_kw is None else state.boiler.heat_kw * KW_TO_W,
            )
        for interlock in report.new_interlocks:
            self.interlocks.labels(interlock.equipment, interlock.reason).inc()
        if report.handed_back:
            self.handbacks.inc()
        for device, values in report.writes.items():
            if device not in report.write_errors:
                self.writes.labels(device).inc(len(values))
        for device in report.write_errors:
            self.write_errors.labels(device).inc()
        for source in ("plan", "last_plan", "rules", "manual"):
            self.policy_source.labels(source).set(1.0 if report.targets.source == source else 0.0)
        if self._health is not None:
            for device, health in self._health().items():
                good = getattr(health, "good", None)
                errors = getattr(health, "comm_errors_total", None)
                if good is not None:
                    self.device_good.labels(device).set(1.0 if good else 0.0)
                if errors is not None:
                    self.device_errors.labels(device).set(float(errors))

    def add_overruns(self, count: int) -> None:
        if count > 0:
            self.overruns.inc(count)

    def serve(self, host: str, port: int) -> int:
        """Start the HTTP endpoint in a thread; returns the bound port (0 picks a free one)."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _set(gauge: Gauge, value: float | int | None, *labels: str) -> None:
    """A value that is not GOOD is exported as NaN, never as a stale number."""
    target = gauge.labels(*labels) if labels else gauge
    target.set(float("nan") if value is None else float(value))
