"""Writes the Grafana dashboards in deploy/grafana/dashboards/ with grafana-foundation-sdk.

The JSON files are what Grafana provisions; this script is how they stay consistent: one
datasource uid, a grid that tiles, a unit, a description and thresholds on every panel, value
mappings on every status panel (unit states by the names of `drivers.kinds.StateCode`), the
`plant` variable in every query, one quantity per panel (so per axis). Edit here, then run
`.venv/bin/python deploy/grafana/build_dashboards.py`; a test checks the files match.
Grafana variables used in queries: $plant, $__rate_interval and $__range only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    prometheus,
    stat,
    statetimeline,
    timeseries,
)
from grafana_foundation_sdk.builders import dashboard as build
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the state names come from drivers
    sys.path.insert(0, str(ROOT))

from drivers.kinds import StateCode  # noqa: E402

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="hpctl-prometheus")
OUT = Path(__file__).resolve().parent / "dashboards"
J_PER_KWH = "3.6e6"
PLANT = 'plant="$plant"'
# custom units: a price is not an amount of money, a tonne of CO2 is not a tonne of anything
EUR_PER_MWH = "suffix: EUR/MWh"
G_PER_KWH = "suffix: g/kWh"
T_CO2 = "suffix: t CO2"
NEUTRAL = "blue"
NO_DATA = "#8e8e8e"

AnyPanel = Builder[dm.Panel]


def m(metric: str, *matchers: str) -> str:
    """A selector of `metric` on the chosen plant."""
    return f"{metric}{{{', '.join((PLANT, *matchers))}}}"


# --- thresholds and mappings ---------------------------------------------------------------


def steps(base: str, *above: tuple[float, str]) -> build.ThresholdsConfig:
    """Colour `base` below the first step, then each colour from its value up."""
    return (
        build.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(None, base), *(dm.Threshold(v, c) for v, c in above)])
    )


def values(*entries: tuple[int, str, str]) -> list[dm.ValueMapping]:
    """Value -> (text, colour) mappings, and NaN (a value that is not GOOD) shown as such."""
    return [
        dm.ValueMap(
            {
                str(value): dm.ValueMappingResult(text=text, color=color, index=index)
                for index, (value, text, color) in enumerate(entries)
            }
        ),
        not_measured(len(entries)),
    ]


def not_measured(index: int = 0) -> dm.ValueMapping:
    return dm.SpecialValueMap(
        dm.DashboardSpecialValueMapOptions(
            match=dm.SpecialValueMatch.NULL_AND_NAN,
            result=dm.ValueMappingResult(text="not measured", color=NO_DATA, index=index),
        )
    )


STATE_COLOURS = {
    StateCode.OFF: "#808080",
    StateCode.STARTING: "light-blue",
    StateCode.RUNNING: "green",
    StateCode.STOPPING: "light-yellow",
    StateCode.TRIPPED: "red",
}
UNIT_STATES = values(
    *(
        (int(code), code.name.lower() if code != StateCode.TRIPPED else "TRIPPED", colour)
        for code, colour in STATE_COLOURS.items()
    )
)
OK_BAD = values((1, "good", "green"), (0, "BAD", "red"))
ALARM = values((0, "no alarm", "green"), (1, "ALARM", "red"))
REMOTE = values((1, "supervised", "green"), (0, "local control", "orange"))
HEALTHY = values((1, "healthy", "green"), (0, "NOT HEALTHY", "red"))
CONNECTED = values((1, "connected", "green"), (0, "DISCONNECTED", "red"))
SUPPLY_LOW = values((0, "supply ok", "green"), (1, "BELOW MINIMUM", "red"))
READ_ONLY = values((0, "writing", "green"), (1, "READ-ONLY", "orange"))


def coded(metric: str, label: str, codes: Sequence[tuple[str, int, str]]) -> str:
    """A family of 0/1 gauges (one per label value) as one number: the code of the one at 1."""
    terms = []
    for name, code, _ in codes:
        selector = m(metric, f'{label}="{name}"')
        terms.append(f"{code} * sum({selector})")
    return " + ".join(terms)


def code_map(nothing: str, codes: Sequence[tuple[str, int, str]]) -> list[dm.ValueMapping]:
    named = ((code, name.replace("_", " "), colour) for name, code, colour in codes)
    return values((0, nothing, NO_DATA), *named)


# the rung of the fallback ladder, top first
RUNGS = (
    ("plan", 1, "green"),
    ("last_plan", 2, "yellow"),
    ("merit", 3, "blue"),
    ("rules", 4, "orange"),
)
RUNG_EXPR = coded("hpctl_policy_source", "source", RUNGS)
RUNG_MAP = code_map("no cycle yet", RUNGS)
SOLVER = (
    ("optimal", 1, "green"),
    ("time_limit_feasible", 2, "yellow"),
    ("time_limit_no_solution", 3, "red"),
    ("infeasible", 4, "red"),
    ("error", 5, "red"),
)
SOLVER_EXPR = coded("hpctl_plan_solver_status", "status", SOLVER)
SOLVER_MAP = code_map("no solve yet", SOLVER)


# --- panels ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A panel and its size on the 24-column grid."""

    panel: AnyPanel
    width: int
    height: int


def _targets(panel: AnyPanel, queries: Sequence[tuple[str, str]]) -> None:
    for index, (expr, legend) in enumerate(queries):
        panel.with_target(  # type: ignore[attr-defined]
            prometheus.Dataquery()
            .expr(expr)
            .legend_format(legend or "__auto")
            .range()
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )


def stat_panel(
    title: str,
    description: str,
    queries: Sequence[tuple[str, str]],
    unit: str,
    thresholds: build.ThresholdsConfig,
    mappings: list[dm.ValueMapping] | None = None,
    width: int = 4,
    height: int = 4,
    decimals: float | None = None,
) -> Cell:
    """A big number; status stats (with mappings) colour their background."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .thresholds(thresholds)
        .mappings(mappings or [not_measured()])
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
        .graph_mode(cm.BigValueGraphMode.NONE)
        .color_mode(cm.BigValueColorMode.BACKGROUND if mappings else cm.BigValueColorMode.VALUE)
    )
    if decimals is not None:
        panel.decimals(decimals)
    _targets(panel, queries)
    return Cell(panel, width, height)


def state_panel(
    title: str,
    description: str,
    queries: Sequence[tuple[str, str]],
    mappings: list[dm.ValueMapping],
    thresholds: build.ThresholdsConfig,
    width: int = 12,
    height: int = 8,
) -> Cell:
    panel = (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit("none")
        .thresholds(thresholds)
        .mappings(mappings)
        .show_value(cm.VisibilityMode.AUTO)
        .merge_values(True)
    )
    _targets(panel, queries)
    return Cell(panel, width, height)


def series_panel(
    title: str,
    description: str,
    queries: Sequence[tuple[str, str]],
    unit: str,
    width: int = 12,
    height: int = 8,
    soft_min: float | None = None,
) -> Cell:
    """A time series of one quantity (one unit, one axis)."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .thresholds(steps(NEUTRAL))
        .legend(
            common.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    if soft_min is not None:
        panel.axis_soft_min(soft_min)
    _targets(panel, queries)
    return Cell(panel, width, height)


def bar_panel(
    title: str,
    description: str,
    queries: Sequence[tuple[str, str]],
    unit: str,
    thresholds: build.ThresholdsConfig,
    width: int = 12,
    height: int = 8,
) -> Cell:
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .thresholds(thresholds)
        .mappings([not_measured()])
        .min(0)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
        .orientation(cm.VizOrientation.HORIZONTAL)
    )
    _targets(panel, queries)
    return Cell(panel, width, height)


def q(expr: str, legend: str = "") -> tuple[str, str]:
    return expr, legend


# --- the four dashboards ----------------------------------------------------------------------


def savings() -> Cell:
    """On more than one board: a new builder each time."""
    return stat_panel(
        "Savings today vs price-blind",
        "Since local midnight: what running the same plant price-blind (the rules: heat pumps "
        "follow the load, the tank only bridges load above them, then the boiler) would have "
        "cost, minus what this plant cost, electricity + fuel + CO2 at the carbon price, heat "
        "left in the tank valued. Green: saved; red: the plant cost more. docs/metrics.md says "
        "how it is counted.",
        [q(m("hpctl_savings_today_eur"))],
        "currencyEUR",
        steps("red", (0.0, "green")),
        decimals=0,
    )


def co2_saved() -> Cell:
    """On more than one board: a new builder each time."""
    return stat_panel(
        "CO2 saved today vs price-blind",
        "Since local midnight: the price-blind plant's CO2 minus this plant's, in tonnes (heat "
        "left in the tank valued at the price-blind CO2 per kWh). Red: the plant emitted more.",
        [q(f"{m('hpctl_savings_today_co2_grams')} / 1e6")],
        T_CO2,
        steps("red", (0.0, "green")),
        decimals=2,
    )


def cost_today() -> Cell:
    """On more than one board: a new builder each time."""
    return stat_panel(
        "Cost today",
        "Electricity and boiler fuel paid since local midnight (no carbon price). 0 without a "
        "market feed (rules policy, no price file).",
        [q(m("hpctl_today_cost_eur"))],
        "currencyEUR",
        steps(NEUTRAL),
        decimals=0,
    )


def co2_today() -> Cell:
    """On more than one board: a new builder each time."""
    return stat_panel(
        "CO2 today",
        "CO2 emitted since local midnight: electricity at the grid's hourly intensity, boiler fuel "
        "at its carbon factor.",
        [q(f"{m('hpctl_today_co2_grams')} / 1e6")],
        T_CO2,
        steps(NEUTRAL),
        decimals=2,
    )


def dispatch_rung() -> Cell:
    """On more than one board: a new builder each time."""
    return stat_panel(
        "Dispatch in use",
        "Who sets the units' targets now: plan (green), last plan (the newest solve failed; "
        "yellow), merit order (blue), rules (orange: normal when the plant file asks for the "
        "rules, a fallback when it asks for the planner). The controller health board says why.",
        [q(RUNG_EXPR)],
        "none",
        steps(NO_DATA, (1, "green"), (2, "yellow"), (3, "blue"), (4, "orange")),
        RUNG_MAP,
    )


def healthy_stat() -> Cell:
    """On more than one board: a new builder each time."""
    return stat_panel(
        "Controller healthy",
        "/healthz: green while the control cycle runs and the plant's data is fresh; red when it "
        "answers 503 (cycle stuck, or a tank or unit without fresh data).",
        [q(m("hpctl_healthy"))],
        "none",
        steps("red", (1, "green")),
        HEALTHY,
    )


PLANT_BOARD: list[Cell] = [
    healthy_stat(),
    dispatch_rung(),
    stat_panel(
        "Units tripped",
        "Units whose measured state is tripped (state 4). Red at one or more: the unit is held "
        "off until its trip clears and the reset hold has passed.",
        [q(f"sum({m('hpctl_unit_state_code')} == bool {int(StateCode.TRIPPED)})")],
        "none",
        steps("green", (1, "red")),
        decimals=0,
    ),
    stat_panel(
        "Units in alarm",
        "Units reporting a non-zero alarm code now. Red at one or more.",
        [q(f"sum({m('hpctl_unit_alarm_active')})")],
        "none",
        steps("green", (1, "red")),
        decimals=0,
    ),
    stat_panel(
        "Heat delivered",
        "Heat going to the network now, from the plant's heat meter.",
        [q(m("hpctl_plant_heat_delivered_watts"))],
        "watt",
        steps(NEUTRAL),
    ),
    stat_panel(
        "Tank state of charge",
        "Share of the tank's usable heat (between its min and max temperature). Red below 10 %, "
        "orange below 20 %: little left to bridge an expensive hour or a unit stop.",
        [q(m("hpctl_tank_state_of_charge_ratio"), "{{tank}}")],
        "percentunit",
        steps("red", (0.1, "orange"), (0.2, "green")),
    ),
    savings(),
    co2_saved(),
    cost_today(),
    co2_today(),
    stat_panel(
        "Stored heat",
        "Usable heat in the tanks now.",
        [q(f"sum({m('hpctl_tank_energy_joules')}) / {J_PER_KWH}")],
        "kwatth",
        steps(NEUTRAL),
    ),
    stat_panel(
        "Operator overrides in force",
        "Operator requests (manual, setpoint, curtail, boost) in force now; yellow while any "
        "is. `hpctl audit` lists who asked for what and until when.",
        [q(f"sum({m('hpctl_operator_overrides_active')})")],
        "none",
        steps("green", (1, "yellow")),
        decimals=0,
    ),
    series_panel(
        "Heat production and delivery",
        "Heat from each unit and the boiler against the heat delivered to the network; the "
        "difference goes into (or comes out of) the tank.",
        [
            q(m("hpctl_unit_heat_watts"), "{{unit}}"),
            q(m("hpctl_boiler_heat_watts"), "boiler"),
            q(m("hpctl_plant_heat_delivered_watts"), "delivered"),
        ],
        "watt",
    ),
    state_panel(
        "Unit state",
        "Each unit's measured state: off, starting, running, stopping, TRIPPED (red).",
        [q(m("hpctl_unit_state_code"), "{{unit}}")],
        UNIT_STATES,
        steps(NEUTRAL),
    ),
    series_panel(
        "Tank layer temperatures",
        "Temperature of each tank layer, layer 1 at the bottom.",
        [q(m("hpctl_tank_layer_temperature_celsius"), "{{tank}} layer {{layer}}")],
        "celsius",
    ),
    series_panel(
        "Network, outdoor and source temperatures",
        "Network supply, outdoor air and heat-source temperatures.",
        [
            q(m("hpctl_plant_supply_temperature_celsius"), "network supply"),
            q(m("hpctl_plant_outdoor_temperature_celsius"), "outdoor"),
            q(m("hpctl_plant_source_temperature_celsius"), "source"),
        ],
        "celsius",
    ),
    series_panel(
        "Electric power",
        "Electricity each heat pump draws.",
        [q(m("hpctl_unit_power_watts"), "{{unit}}")],
        "watt",
    ),
    series_panel(
        "Unit COP",
        "Measured coefficient of performance: heat out per unit of electricity in.",
        [q(m("hpctl_unit_cop_ratio"), "{{unit}}")],
        "none",
        soft_min=0,
    ),
    state_panel(
        "Network supply below minimum",
        "Red while the network supply is below its minimum temperature: heat demand is not met.",
        [q(m("hpctl_plant_supply_below_minimum"), "network supply")],
        SUPPLY_LOW,
        steps("green", (1, "red")),
    ),
    series_panel(
        "Planned unmet heat",
        "Heat the plan in use expects not to deliver in this step (0 in normal operation).",
        [q(m("hpctl_plan_unmet_heat_watts"), "planned unmet")],
        "watt",
    ),
    series_panel(
        "Operator overrides in force by kind",
        "Requests from SCADA over MQTT, each until its expiry, by kind.",
        [q(m("hpctl_operator_overrides_active"), "{{kind}}")],
        "none",
        width=24,
    ),
]

DISPATCH_BOARD: list[Cell] = [
    savings(),
    co2_saved(),
    stat_panel(
        "Price-blind cost today",
        "What the price-blind plant would have cost since local midnight (electricity, fuel, "
        "CO2 at the carbon price): the reference of the savings.",
        [q(m("hpctl_price_blind_cost_today_eur"))],
        "currencyEUR",
        steps(NEUTRAL),
        decimals=0,
    ),
    cost_today(),
    co2_today(),
    stat_panel(
        "Regret of the last complete day",
        "What the plant paid on the last completely observed day (with carbon and starts) minus "
        "what a perfect-foresight plan would have paid, as a share of what it paid. Green "
        "below 2 %, red above 10 %. Empty until a whole day with prices has been seen.",
        [q(f"{m('hpctl_regret_eur')} / {m('hpctl_regret_actual_cost_eur')}")],
        "percentunit",
        steps("green", (0.02, "orange"), (0.1, "red")),
    ),
    series_panel(
        "Electricity price: market now and as planned",
        "Day-ahead price of the current hour, and the price the plan in use assumed.",
        [
            q(m("hpctl_market_price_eur_per_mwh"), "market"),
            q(m("hpctl_plan_price_eur_per_mwh"), "plan"),
        ],
        EUR_PER_MWH,
    ),
    series_panel(
        "Grid carbon intensity: now and as planned",
        "Grid CO2 intensity of the current hour, and what the plan in use assumed.",
        [
            q(m("hpctl_market_carbon_intensity_grams_per_kwh"), "grid"),
            q(m("hpctl_plan_carbon_intensity_grams_per_kwh"), "plan"),
        ],
        G_PER_KWH,
        soft_min=0,
    ),
    series_panel(
        "Heat per unit: planned vs actual",
        "Heat the plan wants from each unit in this step, and what it makes.",
        [
            q(m("hpctl_unit_planned_heat_watts"), "{{unit}} planned"),
            q(m("hpctl_unit_heat_watts"), "{{unit}} actual"),
        ],
        "watt",
    ),
    series_panel(
        "Stored heat: planned vs actual",
        "Heat the plan expects in the tank now, and what it holds.",
        [
            q(f"{m('hpctl_plan_storage_energy_joules')} / {J_PER_KWH}", "planned"),
            q(f"sum({m('hpctl_tank_energy_joules')}) / {J_PER_KWH}", "actual"),
        ],
        "kwatth",
    ),
    series_panel(
        "Demand forecast vs heat delivered",
        "The planner's heat demand forecast for this step against the heat meter.",
        [
            q(m("hpctl_plan_heat_demand_watts"), "forecast"),
            q(m("hpctl_plant_heat_delivered_watts"), "delivered"),
        ],
        "watt",
    ),
    series_panel(
        "Boiler: planned vs actual",
        "Boiler heat the plan wants in this step, and what the boiler makes.",
        [
            q(m("hpctl_plan_boiler_heat_watts"), "planned"),
            q(m("hpctl_boiler_heat_watts"), "actual"),
        ],
        "watt",
    ),
    series_panel(
        "Cost of heat",
        "Electricity and fuel paid per MWh of heat delivered, over the rate interval.",
        [
            q(
                f"rate({m('hpctl_cost_eur_total')}[$__rate_interval])"
                f" / (rate({m('hpctl_plant_heat_delivered_joules_total')}[$__rate_interval])"
                " / 3.6e9)",
                "per MWh delivered",
            ),
        ],
        EUR_PER_MWH,
    ),
    series_panel(
        "Regret of the last complete day (EUR)",
        "What the plant paid on the last complete day and what perfect foresight would have "
        "paid, both with carbon and starts.",
        [
            q(m("hpctl_regret_actual_cost_eur"), "paid"),
            q(m("hpctl_regret_hindsight_cost_eur"), "perfect foresight"),
        ],
        "currencyEUR",
    ),
    state_panel(
        "Fallback level",
        "Rung of the dispatch ladder over time: plan, last plan, merit order, rules.",
        [q(RUNG_EXPR, "dispatch")],
        RUNG_MAP,
        steps(NO_DATA, (1, "green"), (2, "yellow"), (3, "blue"), (4, "orange")),
    ),
    bar_panel(
        "Moves along the fallback ladder",
        "How often the dispatch moved from one rung to another in the time range; any move to "
        "the rules is orange. Each move is also an annotation on the time series.",
        [
            q(
                "sum by (from_level, to_level) "
                f"(increase({m('hpctl_dispatch_transitions_total')}[$__range]))",
                "{{from_level}} -> {{to_level}}",
            ),
        ],
        "none",
        steps("green", (1, "orange")),
    ),
]

EQUIPMENT_BOARD: list[Cell] = [
    bar_panel(
        "Starts in the time range",
        "Compressor starts of each unit in the time range, from its own start counter.",
        [q(f"delta({m('hpctl_unit_starts')}[$__range])", "{{unit}}")],
        "none",
        steps(NEUTRAL),
        width=8,
    ),
    bar_panel(
        "Run hours",
        "Run-hour counter of each unit.",
        [q(f"{m('hpctl_unit_run_time_seconds')} / 3600", "{{unit}}")],
        "h",
        steps(NEUTRAL),
        width=8,
    ),
    stat_panel(
        "Start counter",
        "Start counter of each unit as it reports it.",
        [q(m("hpctl_unit_starts"), "{{unit}}")],
        "none",
        steps(NEUTRAL),
        width=8,
        height=8,
        decimals=0,
    ),
    state_panel(
        "Alarms",
        "Red while a unit reports a non-zero alarm code.",
        [q(m("hpctl_unit_alarm_active"), "{{unit}}")],
        ALARM,
        steps("green", (1, "red")),
    ),
    state_panel(
        "Remote or local control",
        "Green while the unit follows the supervisor; orange in local control (its own "
        "thermostat, after a hand-back or at the panel).",
        [q(m("hpctl_unit_remote_mode"), "{{unit}}")],
        REMOTE,
        steps("orange", (1, "green")),
    ),
    series_panel(
        "Supply and return temperature per unit",
        "Condenser outlet (supply) and inlet (return) temperature of each unit.",
        [
            q(m("hpctl_unit_supply_temperature_celsius"), "{{unit}} supply"),
            q(m("hpctl_unit_return_temperature_celsius"), "{{unit}} return"),
        ],
        "celsius",
    ),
    bar_panel(
        "Interlock trips by reason",
        "Safety interventions in the time range by reason (README lists them). Orange from one, "
        "red from ten.",
        [
            q(
                f"sum by (reason) (increase({m('hpctl_interlock_trips_total')}[$__range]))",
                "{{reason}}",
            ),
        ],
        "none",
        steps("green", (1, "orange"), (10, "red")),
    ),
    state_panel(
        "Communication quality",
        "Green while the device answered its last poll; red when it did not.",
        [q(m("hpctl_device_communication_good"), "{{device}}")],
        OK_BAD,
        steps("red", (1, "green")),
    ),
    series_panel(
        "Communication errors per minute",
        "Failed polls per minute, per device.",
        [
            q(
                f"rate({m('hpctl_device_communication_errors_total')}[$__rate_interval]) * 60",
                "{{device}}",
            ),
        ],
        "suffix: /min",
        soft_min=0,
    ),
    state_panel(
        "Unit data quality",
        "Green while the unit's essential points (state, heat) are good; a unit with bad data "
        "is not enabled.",
        [q(m("hpctl_unit_data_good"), "{{unit}}")],
        OK_BAD,
        steps("red", (1, "green")),
    ),
    bar_panel(
        "Write errors in the time range",
        "Failed writes to each device in the time range. Red from one.",
        [q(f"increase({m('hpctl_write_errors_total')}[$__range])", "{{device}}")],
        "none",
        steps("green", (1, "red")),
    ),
]

CONTROLLER_BOARD: list[Cell] = [
    healthy_stat(),
    stat_panel(
        "Last cycle age",
        "Wall time since the last cycle's timestamp. Orange from 10 s, red from 30 s (the cycle "
        "runs every few seconds; simulated runs show their simulated clock).",
        [q(f"time() - {m('hpctl_last_cycle_timestamp_seconds')}")],
        "s",
        steps("green", (10, "orange"), (30, "red")),
    ),
    stat_panel(
        "Solver status",
        "How the last plan solve ended: optimal (green), time limit with a plan (yellow), no "
        "plan, infeasible or error (red).",
        [q(SOLVER_EXPR)],
        "none",
        steps(NO_DATA, (1, "green"), (2, "yellow"), (3, "red")),
        SOLVER_MAP,
    ),
    stat_panel(
        "Plan age",
        "Time since the plan in use was made. Re-planned every 15 min and on new prices: "
        "orange from 30 min, red from 4 h (a plan that old is no longer trusted).",
        [q(m("hpctl_plan_age_seconds"))],
        "s",
        steps("green", (1800, "orange"), (14400, "red")),
    ),
    stat_panel(
        "Write mode",
        "READ-ONLY (orange) while commissioning with --read-only: the controller then writes "
        "nothing to the plant.",
        [q(m("hpctl_read_only"))],
        "none",
        steps("green", (1, "orange")),
        READ_ONLY,
    ),
    stat_panel(
        "MQTT connection",
        "Green while the MQTT bridge is connected, red when not; 'not measured' when MQTT is "
        "not enabled in the plant file.",
        [q(m("hpctl_mqtt_connected"))],
        "none",
        steps("red", (1, "green")),
        CONNECTED,
    ),
    stat_panel(
        "Interlocks active",
        "Safety interventions active in the last cycle. Orange from one.",
        [q(m("hpctl_interlocks_active"))],
        "none",
        steps("green", (1, "orange")),
        decimals=0,
    ),
    stat_panel(
        "Solve failures in the time range",
        "Solves that gave no usable plan. Orange from one, red from three: the dispatch falls "
        "back to the last plan, then to the rules.",
        [q(f"increase({m('hpctl_plan_solve_failures_total')}[$__range])")],
        "none",
        steps("green", (1, "orange"), (3, "red")),
        decimals=0,
    ),
    stat_panel(
        "Solves in the time range",
        "Plan solves run in the time range.",
        [q(f"increase({m('hpctl_plan_solves_total')}[$__range])")],
        "none",
        steps(NEUTRAL),
        decimals=0,
    ),
    stat_panel(
        "Cycle overruns in the time range",
        "Ticks skipped because a cycle ran late. Orange from one.",
        [q(f"increase({m('hpctl_cycle_overruns_total')}[$__range])")],
        "none",
        steps("green", (1, "orange")),
        decimals=0,
    ),
    stat_panel(
        "Hand-backs to local control",
        "Cycles in which the plant was handed to local control in the time range. Orange from one.",
        [q(f"increase({m('hpctl_handbacks_total')}[$__range])")],
        "none",
        steps("green", (1, "orange")),
        decimals=0,
    ),
    stat_panel(
        "MQTT reconnects in the time range",
        "Times the MQTT bridge reconnected. Orange from one.",
        [q(f"increase({m('hpctl_mqtt_reconnects_total')}[$__range])")],
        "none",
        steps("green", (1, "orange")),
        decimals=0,
    ),
    series_panel(
        "Cycle duration",
        "Compute time of one control cycle, median and 99th percentile.",
        [
            q(
                "histogram_quantile(0.5, sum by (le) "
                f"(rate({m('hpctl_cycle_duration_seconds_bucket')}[$__rate_interval])))",
                "p50",
            ),
            q(
                "histogram_quantile(0.99, sum by (le) "
                f"(rate({m('hpctl_cycle_duration_seconds_bucket')}[$__rate_interval])))",
                "p99",
            ),
        ],
        "s",
    ),
    series_panel(
        "Cycles per second",
        "Control cycles run per second.",
        [q(f"rate({m('hpctl_cycles_total')}[$__rate_interval])", "cycles")],
        "hertz",
        soft_min=0,
    ),
    series_panel(
        "Solve time",
        "Solver time of the last plan solve.",
        [q(m("hpctl_plan_solve_duration_seconds"), "solve time")],
        "s",
        soft_min=0,
    ),
    series_panel(
        "MIP gap",
        "Relative gap of the last solve between its plan and the best bound.",
        [q(m("hpctl_plan_mip_gap_ratio"), "gap")],
        "percentunit",
        soft_min=0,
    ),
    series_panel(
        "MQTT messages per second",
        "Messages received, published, and dropped because the publish queue was full.",
        [
            q(f"rate({m('hpctl_mqtt_messages_received_total')}[$__rate_interval])", "received"),
            q(f"rate({m('hpctl_mqtt_published_total')}[$__rate_interval])", "published"),
            q(f"rate({m('hpctl_mqtt_dropped_total')}[$__rate_interval])", "dropped"),
        ],
        "suffix: msg/s",
        width=24,
        soft_min=0,
    ),
]

# operators see these as marks on every time series: from counters and gauges that exist
ANNOTATIONS = (
    (
        "Operator overrides",
        "yellow",
        f"changes(sum by (kind) ({m('hpctl_operator_overrides_active')})[2m:]) > 0",
    ),
    (
        "Dispatch fallbacks",
        "orange",
        f"sum by (from_level, to_level) (increase({m('hpctl_dispatch_transitions_total')}[2m])) > 0",
    ),
    (
        "Unit trips",
        "red",
        f"sum by (unit) (increase({m('hpctl_unit_trips_total')}[2m])) > 0",
    ),
    (
        "Interlocks",
        "purple",
        f"sum by (reason) (increase({m('hpctl_interlock_trips_total')}[2m])) > 0",
    ),
)

DASHBOARDS: dict[str, tuple[str, str, str, list[Cell]]] = {
    "plant_overview": (
        "hpctl-plant",
        "Heat-pump plant: overview",
        "The plant at a glance: health, dispatch, units, tank, savings today.",
        PLANT_BOARD,
    ),
    "dispatch_savings": (
        "hpctl-dispatch",
        "Heat-pump plant: dispatch and savings",
        "What the dispatch decided against prices and carbon, and what it saved.",
        DISPATCH_BOARD,
    ),
    "equipment_health": (
        "hpctl-equipment",
        "Heat-pump plant: equipment health",
        "Units, alarms, interlocks and communication with the equipment.",
        EQUIPMENT_BOARD,
    ),
    "controller_health": (
        "hpctl-controller",
        "Heat-pump plant: controller health",
        "The controller itself: cycle, planner, MQTT.",
        CONTROLLER_BOARD,
    ),
}


def dashboard(uid: str, title: str, description: str, cells: list[Cell]) -> dm.Dashboard:
    board = (
        build.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["hpctl"])
        .timezone("browser")
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .refresh("10s")
        .time("now-24h", "now")
        .link(
            build.DashboardLink("hpctl dashboards")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags(["hpctl"])
            .as_dropdown(True)
        )
        .with_variable(
            build.QueryVariable("plant")
            .label("Plant")
            .description("The plant's label in Prometheus (prometheus.yml, scrape target)")
            .datasource(DATASOURCE)
            .query("label_values(hpctl_build_info, plant)")
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dm.VariableSort.ALPHABETICAL_ASC)
        )
    )
    for name, colour, expr in ANNOTATIONS:
        board.annotation(
            build.AnnotationQuery()
            .name(name)
            .datasource(DATASOURCE)
            .enable(True)
            .icon_color(colour)
            .expr(expr)
        )
    x = y = row_height = 0
    for panel_id, cell in enumerate(cells, start=1):
        if x + cell.width > 24:
            x, y, row_height = 0, y + row_height, 0
        cell.panel.id(panel_id).grid_pos(dm.GridPos(h=cell.height, w=cell.width, x=x, y=y))  # type: ignore[attr-defined]
        board.with_panel(cell.panel)
        x += cell.width
        row_height = max(row_height, cell.height)
    return board.build()


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        f"{name}.json": json.dumps(dashboard(*spec), cls=JSONEncoder, indent=2) + "\n"
        for name, spec in DASHBOARDS.items()
    }


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
