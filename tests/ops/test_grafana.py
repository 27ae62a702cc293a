"""Grafana provisioning: dashboards validated offline (grafana-foundation-sdk, Grafana 11 line)
and every panel's query run against a real Prometheus that scraped a demo day."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from controller.app.demo import load_demo_inputs
from drivers.kinds import StateCode
from tests.ops.prom import (
    PLANT_LABEL,
    POLL_ATTEMPTS,
    POLL_PAUSE_S,
    PROMETHEUS,
    DemoScrape,
    demo_scrape,
)

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
ALERT_RULES = ROOT / "deploy" / "prometheus" / "hpctl_alerts.yml"
KNOWN_PANELS = {"timeseries", "stat", "state-timeline", "bargauge"}
STATUS_PANELS = {"stat", "state-timeline", "bargauge"}
# what Grafana substitutes for its variables, at the 1 s scrape interval of the test
GRAFANA_VARIABLES = {
    "$__rate_interval": "15s",
    "$__range": "10m",
    "$__interval": "1s",
    "$plant": PLANT_LABEL,
}
# a metric name in a query, and the selector braces that follow it (if any)
SELECTOR = re.compile(r"\b(hpctl_\w+)(\{[^}]*\})?")


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _substitute(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def _all_panels() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, panel) for path in DASHBOARDS for panel in _load(path)["panels"]]


def _annotations() -> list[tuple[str, str, str]]:
    """(dashboard file, annotation name, expr) of every Prometheus annotation."""
    return [
        (path.name, item["name"], item["expr"])
        for path in DASHBOARDS
        for item in _load(path)["annotations"]["list"]
        if "expr" in item
    ]


def _panels() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) of every query."""
    return [
        (path.name, panel["title"], target["expr"])
        for path in DASHBOARDS
        for panel in _load(path)["panels"]
        for target in panel["targets"]
    ]


def _subset(wrote: Any, kept: Any, where: str) -> None:
    """Everything we wrote survives the SDK's round trip (an unknown key would be dropped)."""
    if isinstance(wrote, dict):
        assert isinstance(kept, dict), where
        for key, value in wrote.items():
            if key in ("options", "fieldConfig") and not value:
                continue
            assert key in kept, f"{where}.{key} is not a Grafana dashboard field"
            _subset(value, kept[key], f"{where}.{key}")
    elif isinstance(wrote, list):
        assert isinstance(kept, list) and len(kept) == len(wrote), where
        for index, (a, b) in enumerate(zip(wrote, kept, strict=True)):
            _subset(a, b, f"{where}[{index}]")
    else:
        assert wrote == kept, f"{where}: {wrote!r} became {kept!r}"


def test_four_dashboards_are_provisioned() -> None:
    titles = {_load(path)["title"] for path in DASHBOARDS}
    assert {
        "Heat-pump plant: overview",
        "Heat-pump plant: dispatch and savings",
        "Heat-pump plant: equipment health",
        "Heat-pump plant: controller health",
    } <= titles


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_round_trips_through_the_grafana_sdk(path: Path) -> None:
    register_default_plugins()  # panel options and Prometheus queries decode to their models
    data = _load(path)
    model = Dashboard.from_json(data)
    kept = json.loads(json.dumps(model, cls=JSONEncoder))
    _subset(data, kept, path.name)
    assert model.schema_version is not None and model.schema_version >= 39


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_layout_and_references(path: Path) -> None:
    data = _load(path)
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )["datasources"][0]
    ids = [panel["id"] for panel in data["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in data["panels"]:
        where = f"{path.name}: {panel['title']}"
        assert panel["type"] in KNOWN_PANELS, where
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, f"{where}: outside the grid"
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{where}: overlaps another panel"
                cells.add((x, y))
        assert panel["targets"], f"{where}: no query"
        assert panel["fieldConfig"]["defaults"]["unit"], f"{where}: no unit"
        for target in [panel, *panel["targets"]]:
            assert target["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), where
        for target in panel["targets"]:
            leftover = re.findall(r"\$\w+", target["expr"])
            assert set(leftover) <= set(GRAFANA_VARIABLES), f"{where}: unknown {leftover}"


def test_dashboards_match_their_generator() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", GRAFANA / "build_dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    rendered = module.render()
    assert sorted(rendered) == [p.name for p in DASHBOARDS]
    for name, text in rendered.items():
        assert (GRAFANA / "dashboards" / name).read_text() == text, (
            f"{name} is stale: run .venv/bin/python deploy/grafana/build_dashboards.py"
        )


def test_every_panel_says_what_it_shows() -> None:
    for name, panel in _all_panels():
        where = f"{name}: {panel['title']}"
        assert len(panel.get("description", "")) >= 20, f"{where}: no description"
        unit = panel["fieldConfig"]["defaults"]["unit"]
        assert unit != "currencyEUR" or "/MWh" not in panel["title"] + panel["description"], (
            f"{where}: a price is not an amount of money"
        )


def test_every_status_panel_has_thresholds_and_mappings() -> None:
    """Grafana's default thresholds (green, red from 80) colour normal values red and faults
    green: every stat, state and bar panel says its own, and maps NaN (not GOOD) by name."""
    for name, panel in _all_panels():
        if panel["type"] not in STATUS_PANELS:
            continue
        where = f"{name}: {panel['title']}"
        defaults = panel["fieldConfig"]["defaults"]
        thresholds = defaults.get("thresholds")
        assert thresholds and thresholds["mode"] == "absolute", f"{where}: no thresholds"
        colours = [(step["value"], step["color"]) for step in thresholds["steps"]]
        assert colours != [(None, "green"), (80, "red")], f"{where}: Grafana's default thresholds"
        assert colours[0][0] is None, f"{where}: the first step must be the base"
        special = [m for m in defaults.get("mappings", []) if m["type"] == "special"]
        assert special and special[0]["options"]["match"] == "null+nan", where


def _mapping(panel: dict[str, Any]) -> dict[str, tuple[str, str]]:
    (values,) = [m for m in panel["fieldConfig"]["defaults"]["mappings"] if m["type"] == "value"]
    return {key: (r["text"], r["color"]) for key, r in values["options"].items()}


def _panel(dashboard: str, title: str) -> dict[str, Any]:
    (panel,) = [p for n, p in _all_panels() if n == dashboard and p["title"] == title]
    return panel


def test_faults_show_red_by_name() -> None:
    states = _mapping(_panel("plant_overview.json", "Unit state"))
    assert {int(k): text.lower() for k, (text, _) in states.items()} == {
        int(code): code.name.lower() for code in StateCode
    }
    assert states[str(int(StateCode.TRIPPED))][1] == "red"
    assert states[str(int(StateCode.RUNNING))][1] == "green"
    healthy = _panel("plant_overview.json", "Controller healthy")
    assert _mapping(healthy)["0"][1] == "red" and _mapping(healthy)["1"][1] == "green"
    assert _mapping(_panel("equipment_health.json", "Alarms"))["1"][1] == "red"
    assert _mapping(_panel("equipment_health.json", "Communication quality"))["0"][1] == "red"
    savings = _panel("plant_overview.json", "Savings today vs price-blind")
    steps = savings["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["value"], s["color"]) for s in steps] == [(None, "red"), (0.0, "green")]


def test_units_say_what_the_number_is() -> None:
    units = {
        (name, panel["title"]): panel["fieldConfig"]["defaults"]["unit"]
        for name, panel in _all_panels()
    }
    assert units["plant_overview.json", "CO2 today"] == "suffix: t CO2"
    assert units["plant_overview.json", "CO2 saved today vs price-blind"] == "suffix: t CO2"
    assert units["plant_overview.json", "Heat delivered"] == "watt"  # Grafana scales to MW
    title = "Electricity price: market now and as planned"
    assert units["dispatch_savings.json", title] == "suffix: EUR/MWh"
    title = "Grid carbon intensity: now and as planned"
    assert units["dispatch_savings.json", title] == "suffix: g/kWh"
    for name, panel in _all_panels():
        for target in panel["targets"]:
            if "co2_grams" in target["expr"]:
                assert "/ 1e6" in target["expr"], f"{name}: {panel['title']}: grams shown raw"


def test_every_query_is_of_the_chosen_plant() -> None:
    """Prometheus labels each target with its plant; a query without it adds plants up."""
    queries = [(n, p["title"], t["expr"]) for n, p in _all_panels() for t in p["targets"]]
    queries += _annotations()
    for name, title, expr in queries:
        selectors = SELECTOR.findall(expr)
        assert selectors, f"{name}: {title}: no hpctl metric in `{expr}`"
        for metric, braces in selectors:
            assert 'plant="$plant"' in braces, f"{name}: {title}: {metric} not of $plant"
    for path in DASHBOARDS:
        (variable,) = _load(path)["templating"]["list"]
        assert variable["name"] == "plant" and variable["type"] == "query"
        assert variable["query"] == "label_values(hpctl_build_info, plant)"


def test_overrides_fallbacks_trips_and_interlocks_are_annotated() -> None:
    for path in DASHBOARDS:
        names = {item["name"]: item["expr"] for item in _load(path)["annotations"]["list"]}
        assert set(names) == {
            "Operator overrides",
            "Dispatch fallbacks",
            "Unit trips",
            "Interlocks",
        }
        assert "hpctl_dispatch_transitions_total" in names["Dispatch fallbacks"]
        assert "hpctl_unit_trips_total" in names["Unit trips"]
        assert "hpctl_interlock_trips_total" in names["Interlocks"]
        assert "hpctl_operator_overrides_active" in names["Operator overrides"]


def test_provisioning_points_at_the_dashboards() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "hpctl.yaml").read_text())
    assert providers["apiVersion"] == 1
    assert providers["providers"][0]["type"] == "file"
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    path = providers["providers"][0]["options"]["path"]
    assert any(m.endswith(f":{path}:ro") and "grafana/dashboards" in m for m in mounts), mounts


needs_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed")


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoScrape]:
    with demo_scrape(tmp_path_factory.mktemp("prometheus"), (ALERT_RULES,)) as scrape:
        yield scrape


@needs_prometheus
@pytest.mark.slow
@pytest.mark.parametrize(("dashboard", "title", "expr"), _panels())
def test_every_panel_query_returns_data(
    scraped: DemoScrape, dashboard: str, title: str, expr: str
) -> None:
    query = _substitute(expr)
    series = scraped.prometheus.query_range(query, scraped.started_s, scraped.ended_s)
    numbers = [
        float(value)
        for s in series
        for _, value in s["values"]
        if value not in ("NaN", "+Inf", "-Inf")
    ]
    assert numbers, f"{dashboard} / {title}: `{query}` returned no data"


@needs_prometheus
@pytest.mark.slow
def test_regret_of_the_demo_day_reaches_prometheus(scraped: DemoScrape) -> None:
    """The whole local day was observed: its hindsight optimum is solved and exported."""
    (future,) = scraped.metrics.decisions.regret_futures
    regret = future.result()
    assert regret.status == "optimal"
    assert regret.day.isoformat() == "2024-01-08"
    # what the controller counted is what the plant paid (the demo's own meter, plus starts
    # at the plant's start cost) with its CO2 at the carbon price, as the planner weighs it
    summary = scraped.summary
    plant, _ = load_demo_inputs(None, None)
    start_cost = {spec.name: spec.start_cost_eur for spec in plant.site.units}
    starts_eur = sum(start_cost[name] * unit.starts for name, unit in summary.units.items())
    paid_eur = summary.total_cost_eur + summary.carbon_shadow_eur + starts_eur
    assert regret.actual_cost_eur == pytest.approx(paid_eur, rel=0.02)
    # the planner had forecasts, hindsight had the truth: close, and not far either way
    assert abs(regret.regret_eur) < 0.05 * regret.actual_cost_eur
    (sample,) = scraped.prometheus.query("hpctl_regret_eur")
    assert float(sample["value"][1]) == pytest.approx(regret.regret_eur)


@needs_prometheus
@pytest.mark.slow
@pytest.mark.parametrize(("dashboard", "name", "expr"), _annotations())
def test_every_annotation_query_runs(
    scraped: DemoScrape, dashboard: str, name: str, expr: str
) -> None:
    """The annotations' PromQL is valid on the real Prometheus (the demo day may have no
    trip to mark: only errors fail)."""
    scraped.prometheus.query_range(_substitute(expr), scraped.started_s, scraped.ended_s)


@needs_prometheus
@pytest.mark.slow
def test_the_plant_variable_lists_the_scraped_plant(scraped: DemoScrape) -> None:
    data = scraped.prometheus.api("label/plant/values", **{"match[]": "hpctl_build_info"})
    assert data["data"] == [PLANT_LABEL]


@needs_prometheus
@pytest.mark.slow
def test_the_alert_rules_evaluate_on_the_scraped_metrics(scraped: DemoScrape) -> None:
    never = "0001-01-01T00:00:00Z"  # how the API shows a rule not evaluated yet
    groups: list[dict[str, Any]] = []
    for _ in range(POLL_ATTEMPTS):
        groups = scraped.prometheus.api("rules")["data"]["groups"]  # type: ignore[index]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule["lastEvaluation"] != never for rule in rules):
            break
        time.sleep(POLL_PAUSE_S)
    (group,) = groups
    assert {rule["name"] for rule in group["rules"]} >= {
        "HpctlControllerDown",
        "HpctlCycleStuck",
        "HpctlDeviceStale",
        "HpctlFallbackToRules",
        "HpctlUnitTripped",
        "HpctlHeatUnmet",
        "HpctlMqttDown",
    }
    for rule in group["rules"]:
        assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
    # every metric a rule reads is one the controller exports (a renamed metric would leave
    # an alert that can never fire)
    for rule in group["rules"]:
        for metric in re.findall(r"\b(hpctl_\w+)", rule["query"]):
            assert scraped.prometheus.query(f"count({metric})"), f"{rule['name']}: {metric}"


@needs_prometheus
@pytest.mark.slow
def test_savings_of_the_demo_day_reach_prometheus(scraped: DemoScrape) -> None:
    """The planner ran the demo day on prices: the savings against price-blind are a number,
    and what the price-blind plant would have cost is of the order of what the plant paid."""
    selector = f'{{plant="{PLANT_LABEL}"}}'
    (blind,) = scraped.prometheus.query_range(
        f"hpctl_price_blind_cost_today_eur{selector}", scraped.started_s, scraped.ended_s
    )
    (savings,) = scraped.prometheus.query_range(
        f"hpctl_savings_today_eur{selector}", scraped.started_s, scraped.ended_s
    )
    # the demo ends just after midnight: its day is the sample where the reference was largest
    blind_eur = {t: float(v) for t, v in blind["values"] if v != "NaN"}
    savings_eur = {t: float(v) for t, v in savings["values"] if v != "NaN"}
    at = max(blind_eur, key=lambda t: blind_eur[t])
    assert blind_eur[at] > 1000.0  # a January day of a 20 MW plant
    assert abs(savings_eur[at]) < 0.5 * blind_eur[at]
