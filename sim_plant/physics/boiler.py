"""Backup gas boiler: supervisory setpoint following, or a last-resort local thermostat.

Assumptions: the boiler follows its setpoint between min and full load after startup_delay_s,
ramping over full range in RAMP_FULL_RANGE_S (a fire-tube boiler modulates fast); fuel = heat /
efficiency. Its flow temperature is the network's need or its inlet + MIN_FLOW_DT_K, whichever
is higher, and its high-limit thermostat holds the burner at zero output (without a latching
trip) when that would exceed MAX_FLOW_TEMP_C. Supervision is lost after the boiler's
`heartbeat_timeout_s` without a heartbeat change.

Without supervision the boiler is the last resort: its thermostat (on below the network's
supply_temp_min_c + 2 K, off 5 K higher) must see the tank top cold for LOCAL_START_DELAY_S
before it fires, which gives the heat pumps, on their own thermostats, time to start first.
"""

from __future__ import annotations

from drivers.kinds import KINDS, DeviceKind, Role, StateCode
from drivers.site import BoilerSpec
from sim_plant.physics.water import SECONDS_PER_HOUR

RAMP_FULL_RANGE_S = 60.0
STOPPING_S = 10.0
MAX_FLOW_TEMP_C = 95.0
MIN_FLOW_DT_K = 10.0
LOCAL_ON_ABOVE_MIN_K = 2.0  # local thermostat: on below network supply_temp_min_c + 2 K
LOCAL_HYSTERESIS_K = 5.0  # and off 5 K above that
LOCAL_START_DELAY_S = 600.0
WRITABLE_ROLES = KINDS[DeviceKind.BOILER].writable


class Boiler:
    """The boiler's registers, state and counters."""

    def __init__(self, spec: BoilerSpec) -> None:
        self.spec = spec
        self.heat_min_kw = spec.heat_max_kw * spec.min_load_fraction
        self.heartbeat = 0.0
        self.remote_request = 0.0
        self.enable_cmd = 0.0
        self.heat_setpoint_kw = 0.0
        self.last_heartbeat_change_s = float("-inf")
        self.now_s = 0.0
        self.state = StateCode.OFF
        self.state_time_s = 0.0
        self.remote_active = False
        self.local_on = False
        self.local_cold_s = 0.0  # how long the local thermostat has seen the tank top cold
        self.heat_kw = 0.0
        self.fuel_kw = 0.0
        self.flow_temp_c = 0.0
        self.starts_total = 0
        self.heat_kwh = 0.0
        self.fuel_kwh = 0.0

    def write(self, role: str, value: float) -> None:
        if role not in WRITABLE_ROLES:
            raise KeyError(f"device '{self.spec.name}' (boiler) has no writable role '{role}'")
        if role == Role.HEARTBEAT and value != self.heartbeat:
            self.last_heartbeat_change_s = self.now_s
        setattr(self, role, float(value))

    def step(
        self, dt_s: float, tank_top_c: float, inlet_c: float, need_c: float, min_c: float
    ) -> None:
        """Advance `dt_s`; `min_c` is the network's supply_temp_min_c (local thermostat base)."""
        spec = self.spec
        self.remote_active = (
            self.remote_request >= 0.5
            and self.now_s - self.last_heartbeat_change_s <= self.spec.heartbeat_timeout_s
        )
        on_below_c = min_c + LOCAL_ON_ABOVE_MIN_K
        self.local_cold_s = self.local_cold_s + dt_s if tank_top_c < on_below_c else 0.0
        if self.remote_active:
            self.local_on = self.state in (StateCode.STARTING, StateCode.RUNNING)
            want = self.enable_cmd >= 0.5
            target_kw = min(spec.heat_max_kw, max(self.heat_min_kw, self.heat_setpoint_kw))
        else:
            if self.local_cold_s >= LOCAL_START_DELAY_S:
                self.local_on = True
            elif tank_top_c > on_below_c + LOCAL_HYSTERESIS_K:
                self.local_on = False
            want = self.local_on
            target_kw = spec.heat_max_kw

        previous = self.state
        if self.state == StateCode.OFF and want:
            self.state = StateCode.STARTING
        elif self.state == StateCode.STARTING and not want:
            self.state = StateCode.OFF
        elif self.state == StateCode.STARTING and self.state_time_s >= spec.startup_delay_s:
            self.state = StateCode.RUNNING
            self.starts_total += 1
        elif self.state == StateCode.RUNNING and not want:
            self.state = StateCode.STOPPING
        elif self.state == StateCode.STOPPING and self.state_time_s >= STOPPING_S:
            self.state = StateCode.OFF
        if self.state != previous:
            self.state_time_s = 0.0

        self.flow_temp_c = max(need_c, inlet_c + MIN_FLOW_DT_K)
        if self.state == StateCode.RUNNING and previous == StateCode.STARTING:
            self.heat_kw = self.heat_min_kw  # the burner lights at minimum fire
        elif self.state == StateCode.RUNNING and self.flow_temp_c <= MAX_FLOW_TEMP_C:
            ramp_kw = spec.heat_max_kw / RAMP_FULL_RANGE_S * dt_s
            heat_kw = self.heat_kw + min(ramp_kw, max(-ramp_kw, target_kw - self.heat_kw))
            self.heat_kw = min(spec.heat_max_kw, max(self.heat_min_kw, heat_kw))
        else:
            self.heat_kw = 0.0
        self.flow_temp_c = min(self.flow_temp_c, MAX_FLOW_TEMP_C)
        self.fuel_kw = self.heat_kw / spec.efficiency
        hours = dt_s / SECONDS_PER_HOUR
        self.heat_kwh += self.heat_kw * hours
        self.fuel_kwh += self.fuel_kw * hours
        self.state_time_s += dt_s
        self.now_s += dt_s
