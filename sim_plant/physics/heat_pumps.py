"""Heat-pump units, all of them at once as numpy arrays (one element per unit).

The unit's own PLC is modelled, not only the refrigeration cycle: a state machine (off,
starting, running, stopping, tripped), protective trips that latch until reset, and the switch
between supervisory and local control that every MW-class unit has.

Assumptions:
- COP: the one heat-pump model, drivers/heat_pump_cop.py (the planner calls it too), on the
  condenser inlet (the tanks' mixed bottom water) and outlet (the unit's supply) and the source
  inlet and outlet, with defrost where the unit declares it. The source cools by the unit's
  source_cooling_k at full heat output, in proportion below. Electric power is the line through
  (heat_min, heat_min / (COP x part_load_cop_factor)) and (heat_max, heat_max / COP), as planned.
- Where the unit declares capacity_by_source_temp its heat is capped at that share of
  heat_max_kw at the source temperature.
- The unit's controller keeps its supply setpoint inside its envelope: never above
  max_supply_temp_c nor above source + max_lift_k. The condenser needs at least
  MIN_CONDENSER_DT_K over its inlet (the tank bottom); when even that breaks a limit the unit
  trips: alarm 2 (supply above max_supply_temp_c: the tank is charged too hot) or alarm 3 (lift).
- Starting lasts startup_delay_s with no heat and auxiliary power (oil heater, pumps); the
  compressor then starts at minimum load and ramps at ramp_kw_per_s. Stopping lasts STOPPING_S.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from drivers.heat_pump_cop import MIN_CONDENSER_DT_K, capacity_fraction, defrost_factor, lorenz_cop
from drivers.kinds import KINDS, DeviceKind, Role, StateCode
from drivers.site import UnitSpec
from sim_plant.physics.water import SECONDS_PER_HOUR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# setpoints and switches the supervisor writes; the heartbeat is counted separately
COMMAND_ROLES = KINDS[DeviceKind.HEAT_PUMP].writable - {Role.HEARTBEAT}
ALARM_NONE, ALARM_LOW_FLOW, ALARM_HIGH_SUPPLY, ALARM_HIGH_LIFT = 0, 1, 2, 3
ALARM_INTERNAL = 5  # the point map's "sensor fault": what an injected trip reports

STOPPING_S = 30.0
AUX_POWER_FRACTION = 0.005  # of heat_max_kw, while starting or stopping
LOW_FLOW_VALVE_PCT = 50.0
LOW_FLOW_TRIP_S = 10.0
TRIP_RESET_S = 300.0
LOCAL_ON_BELOW_K = 5.0
LOCAL_OFF_ABOVE_K = 3.0
DEFAULT_SUPPLY_SETPOINT_C = 75.0  # the point map's safe default
# The state codes as plain ints for `step`: each StateCode.X is an enum class lookup in Python
# 3.11, and a replayed year takes about twenty of them a step, over 100,000 steps.
_OFF, _STARTING, _RUNNING, _STOPPING, _TRIPPED = (
    int(StateCode.OFF),
    int(StateCode.STARTING),
    int(StateCode.RUNNING),
    int(StateCode.STOPPING),
    int(StateCode.TRIPPED),
)


@dataclass(frozen=True, slots=True)
class UnitConditions:
    """What the units see during one step."""

    tank_top_c: float  # top of the first tank: the local thermostat's sensor
    inlet_c: float  # condenser inlet: the tanks' mixed bottom water
    source_c: float
    charging_need_c: float  # supply temperature the tank needs (the network's setpoint)
    valve_pct: FloatArray  # isolation valve position per unit (100 when it has none)


class HeatPumpBank:
    """State, registers and counters of every unit; `step` advances them all."""

    def __init__(self, specs: list[UnitSpec]) -> None:
        self.names = [spec.name for spec in specs]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.valves = [spec.isolation_valve for spec in specs]
        count = len(specs)

        def spec_array(field: str) -> FloatArray:
            return np.array([float(getattr(spec, field)) for spec in specs])

        self.heat_max_kw = spec_array("heat_max_kw")
        self.heat_min_kw = self.heat_max_kw * spec_array("min_load_fraction")
        self.specs = specs
        self.efficiency = np.array([spec.compressor_efficiency for spec in specs])
        self.refrigerants = [spec.refrigerant for spec in specs]
        self.heat_loss_fraction = spec_array("heat_loss_fraction")
        self.source_cooling_k = spec_array("source_cooling_k")
        self.part_load_cop_factor = spec_array("part_load_cop_factor")
        self.defrost_below_c = np.array(
            [
                -np.inf
                if spec.defrost_below_source_temp_c is None
                else spec.defrost_below_source_temp_c
                for spec in specs
            ]
        )
        self.defrost_cop_factor = spec_array("defrost_cop_factor")
        # units whose capacity falls with the source temperature (most have no curve)
        self.derated = [i for i, spec in enumerate(specs) if spec.capacity_by_source_temp]
        self.max_supply_temp_c = spec_array("max_supply_temp_c")
        self.max_lift_k = spec_array("max_lift_k")
        self.startup_delay_s = spec_array("startup_delay_s")
        self.ramp_kw_per_s = spec_array("ramp_kw_per_s")
        self.min_run_s = spec_array("min_run_s")
        self.min_off_s = spec_array("min_off_s")
        self.heartbeat_timeout_s = spec_array("heartbeat_timeout_s")
        self.local_setpoint_c = spec_array("local_setpoint_tank_temp_c")
        # registers written by the supervisor
        self.heartbeat = np.zeros(count)
        self.remote_request = np.zeros(count)
        self.enable_cmd = np.zeros(count)
        self.heat_setpoint_kw = np.zeros(count)
        self.supply_temp_setpoint_c = np.full(count, DEFAULT_SUPPLY_SETPOINT_C)
        self.last_heartbeat_change_s = np.full(count, -np.inf)
        # the unit's own state
        self.now_s = 0.0
        self.state: IntArray = np.zeros(count, dtype=np.int64)
        self.alarm_code: IntArray = np.zeros(count, dtype=np.int64)
        self.state_time_s = np.zeros(count)
        self.since_switch_s = np.full(count, np.inf)  # since the compressor last went on/off
        self.low_flow_s = np.zeros(count)
        self.reset_s = np.zeros(count)
        self.remote_active: BoolArray = np.zeros(count, dtype=bool)
        self.local_on: BoolArray = np.zeros(count, dtype=bool)
        self.heat_kw = np.zeros(count)
        self.power_kw = np.zeros(count)
        self.cop = np.zeros(count)
        self.supply_temp_c = np.zeros(count)
        self.return_temp_c = np.zeros(count)
        self.source_in_temp_c = np.zeros(count)
        self.source_out_temp_c = np.zeros(count)
        # counters
        self.run_hours_h = np.zeros(count)
        self.starts_total: IntArray = np.zeros(count, dtype=np.int64)
        self.heat_kwh = np.zeros(count)
        self.electricity_kwh = np.zeros(count)

    def write(self, unit: int, role: str, value: float) -> None:
        """A register write from the supervisor; a heartbeat counts only when it changes."""
        if role == Role.HEARTBEAT:
            if value != self.heartbeat[unit]:
                self.last_heartbeat_change_s[unit] = self.now_s
            self.heartbeat[unit] = value
        elif role in COMMAND_ROLES:
            getattr(self, role)[unit] = value
        else:
            raise KeyError(f"device '{self.names[unit]}' (unit) has no writable role '{role}'")

    def trip(self, mask: BoolArray, alarm_code: IntArray | int) -> None:
        """Latch a trip: compressor off at once, alarm shown until the reset completes."""
        self.state[mask] = StateCode.TRIPPED
        self.alarm_code[mask] = np.broadcast_to(alarm_code, mask.shape)[mask]
        for array in (self.heat_kw, self.power_kw, self.cop, self.state_time_s):
            array[mask] = 0.0
        self.since_switch_s[mask] = 0.0
        self.reset_s[mask] = 0.0
        self.low_flow_s[mask] = 0.0

    def step(self, dt_s: float, conditions: UnitConditions) -> None:
        state = self.state
        compressor_on = (state == _STARTING) | (state == _RUNNING)
        self.remote_active = (self.remote_request >= 0.5) & (
            self.now_s - self.last_heartbeat_change_s <= self.heartbeat_timeout_s
        )
        remote = self.remote_active
        top_c = conditions.tank_top_c
        switch_on = (top_c < self.local_setpoint_c - LOCAL_ON_BELOW_K) & (
            self.since_switch_s >= self.min_off_s
        )
        switch_off = (top_c > self.local_setpoint_c + LOCAL_OFF_ABOVE_K) & (
            self.since_switch_s >= self.min_run_s
        )
        local = np.where(self.local_on, ~switch_off, switch_on)
        # under supervision the thermostat tracks the compressor, so a fallback is bumpless
        self.local_on = np.where(remote, compressor_on, local)
        want = np.where(remote, self.enable_cmd >= 0.5, self.local_on)
        target_kw = np.where(
            remote,
            np.clip(self.heat_setpoint_kw, self.heat_min_kw, self.heat_max_kw),
            self.heat_max_kw,
        )

        tripped = state == _TRIPPED
        self.reset_s = np.where(tripped & (self.enable_cmd < 0.5), self.reset_s + dt_s, 0.0)
        cleared = tripped & (self.reset_s >= TRIP_RESET_S)
        start = (state == _OFF) & want
        abort = (state == _STARTING) & ~want
        begin_run = (state == _STARTING) & want & (self.state_time_s >= self.startup_delay_s)
        stop = (state == _RUNNING) & ~want
        stopped = (state == _STOPPING) & (self.state_time_s >= STOPPING_S)
        new_state = state.copy()
        new_state[start] = _STARTING
        new_state[abort | stopped | cleared] = _OFF
        new_state[begin_run] = _RUNNING
        new_state[stop] = _STOPPING
        self.state_time_s[new_state != state] = 0.0
        self.since_switch_s[start | abort | stop] = 0.0
        self.alarm_code[cleared] = ALARM_NONE
        self.starts_total += begin_run
        self.state = new_state

        running = new_state == _RUNNING
        ramp_kw = self.ramp_kw_per_s * dt_s
        heat_kw = np.where(
            begin_run,
            self.heat_min_kw,
            self.heat_kw + np.clip(target_kw - self.heat_kw, -ramp_kw, ramp_kw),
        )
        inlet_c = conditions.inlet_c
        source_c = conditions.source_c
        ceiling_kw = self.heat_max_kw
        if self.derated:
            ceiling_kw = ceiling_kw.copy()
            for i in self.derated:
                ceiling_kw[i] *= capacity_fraction(self.specs[i], source_c)
        self.heat_kw = np.where(running, np.clip(heat_kw, self.heat_min_kw, ceiling_kw), 0.0)

        lowest_c = inlet_c + MIN_CONDENSER_DT_K
        desired_c = np.maximum(conditions.charging_need_c, self.supply_temp_setpoint_c)
        ceiling_c = np.minimum(self.max_supply_temp_c, source_c + self.max_lift_k)
        supply_c = np.maximum(np.minimum(desired_c, ceiling_c), lowest_c)
        self.low_flow_s = np.where(
            running & (conditions.valve_pct < LOW_FLOW_VALVE_PCT), self.low_flow_s + dt_s, 0.0
        )
        high_supply = lowest_c > self.max_supply_temp_c
        high_lift = lowest_c - source_c > self.max_lift_k
        # the first alarm that holds, as np.select would pick it, without its per-call overhead
        alarm = np.where(
            self.low_flow_s > LOW_FLOW_TRIP_S,
            ALARM_LOW_FLOW,
            np.where(
                high_supply, ALARM_HIGH_SUPPLY, np.where(high_lift, ALARM_HIGH_LIFT, ALARM_NONE)
            ),
        )
        trips = running & (alarm != ALARM_NONE)
        if trips.any():
            self.trip(trips, alarm)
            running = self.state == _RUNNING

        source_out_c = source_c - self.source_cooling_k * self.heat_kw / self.heat_max_kw
        cop = lorenz_cop(
            np.full_like(supply_c, inlet_c),
            supply_c,
            np.full_like(supply_c, source_c),
            source_out_c,
            self.efficiency,
            refrigerant=self.refrigerants,
            heat_loss_fraction=self.heat_loss_fraction,
        ) * defrost_factor(
            np.full_like(supply_c, source_c), self.defrost_below_c, self.defrost_cop_factor
        )
        # the part-load line the planner plans with (see its power_coefficients)
        power_max_kw = self.heat_max_kw / cop
        span_kw = np.maximum(self.heat_max_kw - self.heat_min_kw, 1e-9)
        slope = (power_max_kw - self.heat_min_kw / (cop * self.part_load_cop_factor)) / span_kw
        slope = np.where(self.part_load_cop_factor >= 1.0, 1.0 / cop, slope)
        run_power_kw = power_max_kw - slope * (self.heat_max_kw - self.heat_kw)
        transient = (self.state == _STARTING) | (self.state == _STOPPING)
        self.power_kw = np.where(
            running,
            run_power_kw,
            np.where(transient, AUX_POWER_FRACTION * self.heat_max_kw, 0.0),
        )
        self.cop = np.where(running, self.heat_kw / np.maximum(run_power_kw, 1e-9), 0.0)
        self.supply_temp_c = np.where(running, supply_c, inlet_c)
        self.return_temp_c = np.full_like(self.heat_kw, inlet_c)
        self.source_in_temp_c = np.full_like(self.heat_kw, source_c)
        self.source_out_temp_c = source_out_c

        hours = dt_s / SECONDS_PER_HOUR
        self.run_hours_h += np.where(running, hours, 0.0)
        self.heat_kwh += self.heat_kw * hours
        self.electricity_kwh += self.power_kw * hours
        self.state_time_s += dt_s
        self.since_switch_s += dt_s
        self.now_s += dt_s
