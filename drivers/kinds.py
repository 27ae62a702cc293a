"""Device kinds: the one declaration of which roles each kind of device has.

A point map names its kind; its points carry roles. Everything that reads or writes a device
by role (the point-map loader, the controller's estimate and outputs, the simulator, the test
fakes) takes the role names and the unit state codes from here, so a misspelt role is a
NameError or a mypy error in code and a load error in a map, never a point that is silently
never read.

Adding a kind (a heat meter, say): a `DeviceKind` member, its `Role` members, a `KindSpec` in
`KINDS`, then a point map, a site binding (`drivers.site`) and the consumers.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class DeviceKind(StrEnum):
    HEAT_PUMP = "heat_pump"
    VALVE = "valve"
    TANK = "tank"
    BOILER = "boiler"
    PLANT_IO = "plant_io"  # plant-wide measurements: network heat meter, outdoor, source
    HEAT_METER = "heat_meter"  # a heat meter of its own (EN 1434): on the network outlet or a unit


class Role(StrEnum):
    """What a point means to the controller, whatever the vendor calls it."""

    # commands (written by the controller)
    HEARTBEAT = "heartbeat"
    REMOTE_REQUEST = "remote_request"
    ENABLE_CMD = "enable_cmd"
    HEAT_SETPOINT_KW = "heat_setpoint_kw"
    SUPPLY_TEMP_SETPOINT_C = "supply_temp_setpoint_c"
    POSITION_CMD_PCT = "position_cmd_pct"
    # unit and boiler measurements
    STATE_CODE = "state_code"
    REMOTE_ACTIVE = "remote_active"
    ALARM_CODE = "alarm_code"
    HEAT_KW = "heat_kw"
    POWER_KW = "power_kw"
    FUEL_KW = "fuel_kw"
    COP = "cop"
    SUPPLY_TEMP_C = "supply_temp_c"
    RETURN_TEMP_C = "return_temp_c"
    SOURCE_IN_TEMP_C = "source_in_temp_c"
    SOURCE_OUT_TEMP_C = "source_out_temp_c"
    RUN_HOURS_H = "run_hours_h"
    STARTS_TOTAL = "starts_total"
    # valve
    POSITION_PCT = "position_pct"
    FAULT = "fault"
    # tank
    LAYER_TEMP_C = "layer_temp_c"
    # plant-wide
    IT_LOAD_KW = "it_load_kw"  # a data centre's IT power: its waste heat follows it
    DRY_COOLER_HEAT_KW = "dry_cooler_heat_kw"  # the data centre's heat the heat pumps left
    NETWORK_HEAT_KW = "network_heat_kw"
    NETWORK_SUPPLY_TEMP_C = "network_supply_temp_c"
    NETWORK_RETURN_TEMP_C = "network_return_temp_c"
    OUTDOOR_TEMP_C = "outdoor_temp_c"
    SOURCE_TEMP_C = "source_temp_c"
    COOLING_DEMAND_KW = "cooling_demand_kw"
    # a plant that cools (drivers/cooling_spec.py): how the demand was met, and the field
    COOLING_DELIVERED_KW = "cooling_delivered_kw"  # by evaporators, free cooling and chiller
    FREE_COOLING_KW = "free_cooling_kw"  # into the borehole field through its exchanger
    CHILLER_POWER_KW = "chiller_power_kw"  # the backup chiller's electricity
    FIELD_FLUID_TEMP_C = "field_fluid_temp_c"  # the borehole field's mean fluid temperature
    # heat meter (its heat_kw, supply_temp_c and return_temp_c are the roles above)
    FLOW_M3_PER_H = "flow_m3_per_h"
    ENERGY_KWH = "energy_kwh"  # the meter's cumulative register


class StateCode(IntEnum):
    """A unit's or the boiler's operating state, as the `state_code` role reports it.

    A vendor whose status word uses other numbers maps them onto these in its point map
    (`value_map`)."""

    OFF = 0
    STARTING = 1
    RUNNING = 2
    STOPPING = 3
    TRIPPED = 4


# Roles whose values are the members of an enum: a value map may name them ("running").
ROLE_VALUES: Mapping[Role, type[IntEnum]] = {Role.STATE_CODE: StateCode}


@dataclass(frozen=True, slots=True)
class KindSpec:
    """The roles of one device kind.

    `required`: a map without them cannot serve the controller. `writable`: roles the
    controller commands; a map must declare them writable, and only them. `indexed`: roles
    repeated with an `index` (tank layers, bottom to top)."""

    kind: DeviceKind
    required: frozenset[Role]
    optional: frozenset[Role] = frozenset()
    writable: frozenset[Role] = frozenset()
    indexed: frozenset[Role] = frozenset()

    @property
    def roles(self) -> frozenset[Role]:
        return self.required | self.optional


def _spec(
    kind: DeviceKind,
    required: set[Role],
    optional: set[Role] | None = None,
    writable: set[Role] | None = None,
    indexed: set[Role] | None = None,
) -> KindSpec:
    return KindSpec(
        kind,
        frozenset(required),
        frozenset(optional or ()),
        frozenset(writable or ()),
        frozenset(indexed or ()),
    )


_UNIT_COMMANDS = {Role.REMOTE_REQUEST, Role.ENABLE_CMD, Role.HEAT_SETPOINT_KW}

KINDS: Mapping[DeviceKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        _spec(
            DeviceKind.HEAT_PUMP,
            # without state and heat a unit is never "data good"; without the commands the
            # outputs cannot run it; without the heartbeat a unit cannot tell that the
            # controller died and keeps running on its last command
            required={Role.STATE_CODE, Role.HEAT_KW, Role.HEARTBEAT, *_UNIT_COMMANDS},
            optional={
                Role.SUPPLY_TEMP_SETPOINT_C,
                Role.REMOTE_ACTIVE,
                Role.ALARM_CODE,
                Role.POWER_KW,
                Role.COP,
                Role.SUPPLY_TEMP_C,
                Role.RETURN_TEMP_C,
                Role.SOURCE_IN_TEMP_C,
                Role.SOURCE_OUT_TEMP_C,
                Role.RUN_HOURS_H,
                Role.STARTS_TOTAL,
            },
            writable={*_UNIT_COMMANDS, Role.HEARTBEAT, Role.SUPPLY_TEMP_SETPOINT_C},
        ),
        _spec(
            DeviceKind.BOILER,
            required={Role.STATE_CODE, Role.HEAT_KW, Role.HEARTBEAT, *_UNIT_COMMANDS},
            optional={Role.REMOTE_ACTIVE, Role.FUEL_KW, Role.STARTS_TOTAL},
            writable={*_UNIT_COMMANDS, Role.HEARTBEAT},
        ),
        _spec(
            DeviceKind.VALVE,
            required={Role.POSITION_PCT, Role.POSITION_CMD_PCT},
            optional={Role.FAULT},
            writable={Role.POSITION_CMD_PCT},
        ),
        _spec(
            DeviceKind.TANK,
            required={Role.LAYER_TEMP_C},
            indexed={Role.LAYER_TEMP_C},
        ),
        _spec(
            DeviceKind.PLANT_IO,
            required={Role.NETWORK_HEAT_KW},  # demand: what the network draws
            optional={
                Role.IT_LOAD_KW,
                Role.DRY_COOLER_HEAT_KW,
                Role.NETWORK_SUPPLY_TEMP_C,
                Role.NETWORK_RETURN_TEMP_C,
                Role.OUTDOOR_TEMP_C,
                Role.SOURCE_TEMP_C,
                Role.COOLING_DEMAND_KW,
                Role.COOLING_DELIVERED_KW,
                Role.FREE_COOLING_KW,
                Role.CHILLER_POWER_KW,
                Role.FIELD_FLUID_TEMP_C,
            },
        ),
        _spec(
            DeviceKind.HEAT_METER,
            required={Role.HEAT_KW},
            optional={Role.ENERGY_KWH, Role.FLOW_M3_PER_H, Role.SUPPLY_TEMP_C, Role.RETURN_TEMP_C},
        ),
    )
}


def closest_role(spec: KindSpec, role: str) -> str | None:
    """The kind's role nearest to a misspelt one, for the error message."""
    matches = difflib.get_close_matches(role, sorted(spec.roles), n=1, cutoff=0.6)
    return matches[0] if matches else None


def value_label(role: str, label: str) -> int:
    """The number behind a named value of a role (`running` of `state_code` is 2).

    Raises ValueError naming the role's values when the role has none or the name is unknown."""
    member = Role._value2member_map_.get(role)
    enum = ROLE_VALUES.get(Role(role)) if member is not None else None
    if enum is None:
        raise ValueError(f"role '{role}' has no named values; map to numbers")
    names = {member.name.lower(): int(member) for member in enum}
    if label.lower() not in names:
        raise ValueError(f"'{label}' is not a value of role '{role}' (known: {', '.join(names)})")
    return names[label.lower()]
