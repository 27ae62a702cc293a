"""Grafana provisioning: dashboards validated offline (grafana-foundation-sdk, Grafana 11 line)
and every panel's query run against a real Prometheus that scraped a demo day."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from controller.app.demo import load_demo_inputs
from tests.ops.prom import PROMETHEUS, DemoScrape, demo_scrape

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
KNOWN_PANELS = {"timeseries", "stat", "state-timeline", "bargauge"}
# what Grafana substitutes for its variables, at the 1 s scrape interval of the test
GRAFANA_VARIABLES = {"$__rate_interval": "15s", "$__range": "10m", "$__interval": "1s"}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


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
    with demo_scrape(tmp_path_factory.mktemp("prometheus")) as scrape:
        yield scrape


@needs_prometheus
@pytest.mark.slow
@pytest.mark.parametrize(("dashboard", "title", "expr"), _panels())
def test_every_panel_query_returns_data(
    scraped: DemoScrape, dashboard: str, title: str, expr: str
) -> None:
    query = expr
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
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
