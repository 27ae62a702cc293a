"""Writes the Grafana dashboards in deploy/grafana/dashboards/ from the panel lists below.

The JSON files are what Grafana provisions; this script is how they are kept consistent (one
datasource uid, a grid that tiles, units on every panel). Edit here, then run
`.venv/bin/python deploy/grafana/build_dashboards.py`; a test checks the files match.
Grafana variables used in queries: $__rate_interval and $__range only.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "hpctl-prometheus"}
OUT = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39  # Grafana 11
J_PER_KWH = "3.6e6"


@dataclass(frozen=True)
class Q:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class P:
    title: str
    kind: str  # timeseries | stat | state-timeline | bargauge
    queries: tuple[Q, ...]
    unit: str = "none"
    width: int = 12
    height: int = 8
    description: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def q(expr: str, legend: str = "") -> Q:
    return Q(expr, legend)


PLANT = (
    P("Heat delivered", "stat", (q("hpctl_plant_heat_delivered_watts"),), "watt", 6, 4),
    P(
        "Tank state of charge",
        "stat",
        (q("hpctl_tank_state_of_charge_ratio", "{{tank}}"),),
        "percentunit",
        6,
        4,
    ),
    P(
        "Stored heat",
        "stat",
        (q(f"sum(hpctl_tank_energy_joules) / {J_PER_KWH}"),),
        "kwatth",
        6,
        4,
    ),
    P(
        "Dispatch in use",
        "stat",
        (q("hpctl_policy_source == 1", "{{source}}"),),
        "none",
        6,
        4,
        "Fallback level: plan, last_plan, rules",
        {"options": {"textMode": "name", "reduceOptions": {"calcs": ["lastNotNull"]}}},
    ),
    P(
        "Heat production and delivery",
        "timeseries",
        (
            q("hpctl_unit_heat_watts", "{{unit}}"),
            q("hpctl_boiler_heat_watts", "boiler"),
            q("hpctl_plant_heat_delivered_watts", "delivered"),
        ),
        "watt",
    ),
    P(
        "Tank layer temperatures",
        "timeseries",
        (q("hpctl_tank_layer_temperature_celsius", "{{tank}} layer {{layer}}"),),
        "celsius",
    ),
    P(
        "Unit state (0 off, 1 starting, 2 running, 3 stopping, 4 tripped)",
        "state-timeline",
        (q("hpctl_unit_state_code", "{{unit}}"),),
        "none",
    ),
    P(
        "Electric power",
        "timeseries",
        (q("hpctl_unit_power_watts", "{{unit}} power"),),
        "watt",
    ),
    P("Unit COP", "timeseries", (q("hpctl_unit_cop_ratio", "{{unit}}"),), "none"),
    P(
        "Network, outdoor and source temperatures",
        "timeseries",
        (
            q("hpctl_plant_supply_temperature_celsius", "network supply"),
            q("hpctl_plant_outdoor_temperature_celsius", "outdoor"),
            q("hpctl_plant_source_temperature_celsius", "source"),
        ),
        "celsius",
    ),
    P(
        "Unmet heat",
        "timeseries",
        (
            q("hpctl_plant_supply_below_minimum", "supply below minimum"),
            q("hpctl_plan_unmet_heat_watts / 1e6", "planned unmet (MW)"),
        ),
        "none",
        description="1 while the network supply is below its minimum; the plan's expected shortfall",
    ),
    P(
        "Cost and CO2 today",
        "stat",
        (q("hpctl_today_cost_eur", "EUR"), q("hpctl_today_co2_grams / 1e6", "t CO2")),
        "none",
    ),
    P(
        "Operator overrides in force",
        "timeseries",
        (q("hpctl_operator_overrides_active", "{{kind}}"),),
        "none",
        description="Requests from SCADA over MQTT, each until its expiry (hpctl audit lists them)",
    ),
)

DISPATCH = (
    P(
        "Electricity price: market now and as planned",
        "timeseries",
        (
            q("hpctl_market_price_eur_per_mwh", "market"),
            q("hpctl_plan_price_eur_per_mwh", "plan"),
        ),
        "currencyEUR",
        description="EUR/MWh",
    ),
    P(
        "Grid carbon intensity: now and as planned",
        "timeseries",
        (
            q("hpctl_market_carbon_intensity_grams_per_kwh", "grid"),
            q("hpctl_plan_carbon_intensity_grams_per_kwh", "plan"),
        ),
        "none",
        description="gCO2/kWh",
    ),
    P(
        "Heat per unit: planned vs actual",
        "timeseries",
        (
            q("hpctl_unit_planned_heat_watts", "{{unit}} planned"),
            q("hpctl_unit_heat_watts", "{{unit}} actual"),
        ),
        "watt",
    ),
    P(
        "Stored heat: planned vs actual",
        "timeseries",
        (
            q(f"hpctl_plan_storage_energy_joules / {J_PER_KWH}", "planned"),
            q(f"sum(hpctl_tank_energy_joules) / {J_PER_KWH}", "actual"),
        ),
        "kwatth",
    ),
    P(
        "Demand forecast vs heat delivered",
        "timeseries",
        (
            q("hpctl_plan_heat_demand_watts", "forecast"),
            q("hpctl_plant_heat_delivered_watts", "delivered"),
        ),
        "watt",
    ),
    P(
        "Boiler: planned vs actual",
        "timeseries",
        (
            q("hpctl_plan_boiler_heat_watts", "planned"),
            q("hpctl_boiler_heat_watts", "actual"),
        ),
        "watt",
    ),
    P(
        "Cost of heat",
        "timeseries",
        (
            q(
                "rate(hpctl_cost_eur_total[$__rate_interval])"
                " / (rate(hpctl_plant_heat_delivered_joules_total[$__rate_interval]) / 3.6e9)",
                "EUR per MWh delivered",
            ),
        ),
        "currencyEUR",
    ),
    P(
        "Cost and CO2 today",
        "stat",
        (q("hpctl_today_cost_eur", "EUR"), q("hpctl_today_co2_grams", "CO2")),
        "none",
        6,
    ),
    P(
        "Regret of the last complete day",
        "stat",
        (
            q("hpctl_regret_eur", "regret"),
            q("hpctl_regret_actual_cost_eur", "paid"),
            q("hpctl_regret_hindsight_cost_eur", "perfect foresight"),
        ),
        "currencyEUR",
        6,
        description="What the plant paid minus what a perfect-foresight plan would have paid",
    ),
    P(
        "Fallback level",
        "state-timeline",
        (q("hpctl_policy_source", "{{source}}"),),
        "none",
    ),
    P(
        "Moves along the fallback ladder",
        "bargauge",
        (
            q(
                "sum by (from_level, to_level) (increase(hpctl_dispatch_transitions_total[$__range]))",
                "{{from_level}} -> {{to_level}}",
            ),
        ),
        "none",
    ),
)

EQUIPMENT = (
    P(
        "Starts in the time range",
        "bargauge",
        (q("delta(hpctl_unit_starts[$__range])", "{{unit}}"),),
        "none",
        8,
    ),
    P(
        "Run hours",
        "bargauge",
        (q("hpctl_unit_run_time_seconds / 3600", "{{unit}}"),),
        "h",
        8,
    ),
    P("Start counter", "stat", (q("hpctl_unit_starts", "{{unit}}"),), "none", 8),
    P(
        "Alarms",
        "state-timeline",
        (
            q("hpctl_unit_alarm_active", "{{unit}} alarm"),
            q("hpctl_unit_remote_mode", "{{unit}} remote"),
        ),
        "none",
    ),
    P(
        "Supply and return temperature per unit",
        "timeseries",
        (
            q("hpctl_unit_supply_temperature_celsius", "{{unit}} supply"),
            q("hpctl_unit_return_temperature_celsius", "{{unit}} return"),
        ),
        "celsius",
    ),
    P(
        "Interlock trips by reason",
        "bargauge",
        (
            q(
                "sum by (reason) (increase(hpctl_interlock_trips_total[$__range]))",
                "{{reason}}",
            ),
        ),
        "none",
    ),
    P(
        "Communication quality",
        "state-timeline",
        (q("hpctl_device_communication_good", "{{device}}"),),
        "none",
    ),
    P(
        "Communication errors per minute",
        "timeseries",
        (
            q(
                "rate(hpctl_device_communication_errors_total[$__rate_interval]) * 60",
                "{{device}}",
            ),
        ),
        "none",
    ),
    P(
        "Unit data quality",
        "state-timeline",
        (q("hpctl_unit_data_good", "{{unit}}"),),
        "none",
    ),
    P(
        "Write errors in the time range",
        "bargauge",
        (q("increase(hpctl_write_errors_total[$__range])", "{{device}}"),),
        "none",
    ),
)

CONTROLLER = (
    P("Healthy (/healthz)", "stat", (q("hpctl_healthy"),), "bool_yes_no", 6, 4),
    P(
        "Last cycle age",
        "stat",
        (q("time() - hpctl_last_cycle_timestamp_seconds"),),
        "s",
        6,
        4,
        "Wall time since the last cycle's timestamp (simulated runs show their simulated clock)",
    ),
    P(
        "Solver status",
        "stat",
        (q("hpctl_plan_solver_status == 1", "{{status}}"),),
        "none",
        6,
        4,
        extra={"options": {"textMode": "name", "reduceOptions": {"calcs": ["lastNotNull"]}}},
    ),
    P("Plan age", "stat", (q("hpctl_plan_age_seconds"),), "s", 6, 4),
    P(
        "Cycle duration",
        "timeseries",
        (
            q(
                "histogram_quantile(0.5, sum by (le) (rate(hpctl_cycle_duration_seconds_bucket[$__rate_interval])))",
                "p50",
            ),
            q(
                "histogram_quantile(0.99, sum by (le) (rate(hpctl_cycle_duration_seconds_bucket[$__rate_interval])))",
                "p99",
            ),
        ),
        "s",
    ),
    P(
        "Cycles per second and overruns",
        "timeseries",
        (
            q("rate(hpctl_cycles_total[$__rate_interval])", "cycles/s"),
            q("increase(hpctl_cycle_overruns_total[$__rate_interval])", "overruns"),
        ),
        "none",
    ),
    P(
        "Solve time and MIP gap",
        "timeseries",
        (
            q("hpctl_plan_solve_duration_seconds", "solve time (s)"),
            q("hpctl_plan_mip_gap_ratio", "gap"),
        ),
        "none",
    ),
    P(
        "Solves and failures in the time range",
        "stat",
        (
            q("increase(hpctl_plan_solves_total[$__range])", "solves"),
            q("increase(hpctl_plan_solve_failures_total[$__range])", "failures"),
        ),
        "none",
    ),
    P(
        "Hand-backs to local control",
        "stat",
        (q("increase(hpctl_handbacks_total[$__range])", "hand-backs"),),
        "none",
    ),
    P(
        "MQTT",
        "timeseries",
        (
            q("hpctl_mqtt_connected", "connected"),
            q("increase(hpctl_mqtt_reconnects_total[$__rate_interval])", "reconnects"),
            q("rate(hpctl_mqtt_messages_received_total[$__rate_interval])", "messages/s"),
            q("rate(hpctl_mqtt_published_total[$__rate_interval])", "published/s"),
            q("increase(hpctl_mqtt_dropped_total[$__rate_interval])", "dropped"),
        ),
        "none",
    ),
)

DASHBOARDS = {
    "plant_overview": ("hpctl-plant", "Heat-pump plant: overview", PLANT),
    "dispatch_savings": ("hpctl-dispatch", "Heat-pump plant: dispatch and savings", DISPATCH),
    "equipment_health": ("hpctl-equipment", "Heat-pump plant: equipment health", EQUIPMENT),
    "controller_health": ("hpctl-controller", "Heat-pump plant: controller health", CONTROLLER),
}


def panel_json(panel: P, panel_id: int, x: int, y: int) -> dict[str, object]:
    targets = [
        {
            "datasource": DATASOURCE,
            "expr": query.expr,
            "legendFormat": query.legend or "__auto",
            "range": True,
            "refId": chr(ord("A") + index),
        }
        for index, query in enumerate(panel.queries)
    ]
    out: dict[str, object] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": targets,
    }
    out.update(panel.extra)
    return out


def dashboard_json(uid: str, title: str, panels: tuple[P, ...]) -> dict[str, object]:
    laid_out = []
    x = y = row_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        laid_out.append(panel_json(panel, panel_id, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": uid,
        "title": title,
        "tags": ["hpctl"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "10s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-24h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": []},
        "links": [
            {
                "title": "hpctl dashboards",
                "type": "dashboards",
                "tags": ["hpctl"],
                "asDropdown": True,
            }
        ],
        "panels": laid_out,
    }


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        f"{name}.json": json.dumps(dashboard_json(uid, title, panels), indent=2) + "\n"
        for name, (uid, title, panels) in DASHBOARDS.items()
    }


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
