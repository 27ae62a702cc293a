"""The shipped Prometheus alert rules: unit-tested with the real promtool, loaded by both
Prometheus configs, and reading metrics the controller exports in the way the rules expect."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from controller.app.demo import DEFAULT_PLANT
from controller.config import load_plant
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sources import MetricSources
from tests.ops.prom import PROMTOOL, FakeBridge, FakeStats

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "hpctl_alerts.yml"
RULE_TESTS = Path(__file__).resolve().parent / "promtool" / "hpctl_alerts_test.yml"
ASKED = {
    "HpctlControllerDown",
    "HpctlCycleStuck",
    "HpctlDeviceStale",
    "HpctlFallbackToRules",
    "HpctlUnitTripped",
    "HpctlHeatUnmet",
    "HpctlMqttDown",
}

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")


def _rules() -> list[dict[str, object]]:
    (group,) = yaml.safe_load(RULES.read_text())["groups"]
    rules: list[dict[str, object]] = group["rules"]
    return rules


@needs_promtool
def test_the_rules_pass_their_promtool_unit_tests() -> None:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_the_rules_check() -> None:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_asked_alert_is_shipped_and_unit_tested() -> None:
    names = {str(rule["alert"]) for rule in _rules()}
    assert names >= ASKED
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert tested == names, f"alerts never seen firing in a test: {sorted(names - tested)}"
    for rule in _rules():
        labels = rule["labels"]
        assert isinstance(labels, dict) and labels["severity"] in ("critical", "warning")
        annotations = rule["annotations"]
        assert isinstance(annotations, dict) and annotations["summary"]
        assert annotations["description"]


def test_both_prometheus_configs_load_the_rules() -> None:
    edge = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (edge_rules,) = edge["rule_files"]
    assert (DEPLOY / "prometheus" / edge_rules).resolve() == RULES
    compose_prometheus = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    (pattern,) = compose_prometheus["rule_files"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    mounted = [m.split(":")[1] for m in mounts if m.startswith("./prometheus/hpctl_alerts.yml:")]
    assert len(mounted) == 1 and Path(mounted[0]).match(pattern), (mounts, pattern)


def test_the_rules_read_metrics_the_controller_exports() -> None:
    plant = load_plant(DEFAULT_PLANT)
    metrics = ControllerMetrics(plant.site, control=plant.control)
    exported = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in metrics.registry.collect()
    }
    for rule in _rules():
        for metric in re.findall(r"\b(hpctl_\w+)", str(rule["expr"])):
            assert metric in exported, f"{rule['alert']}: {metric} is not exported"


def _value(metrics: ControllerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_mqtt_not_enabled_is_not_mqtt_down() -> None:
    """HpctlMqttDown fires on 0: a controller without a bridge exports NaN, not 0."""
    plant = load_plant(DEFAULT_PLANT)
    alone = ControllerMetrics(plant.site, control=plant.control)
    value = _value(alone, "hpctl_mqtt_connected")
    assert value is not None and math.isnan(value)
    bridged = ControllerMetrics(
        plant.site,
        MetricSources(bridge=FakeBridge(FakeStats(connected=False))),
        control=plant.control,
    )
    bridged._observe_comms()  # what each cycle does
    assert _value(bridged, "hpctl_mqtt_connected") == 0.0


@pytest.mark.parametrize("policy", ["planner", "merit", "rules"])
def test_the_configured_policy_is_exported(policy: str) -> None:
    """HpctlFallbackToRules stays quiet on a plant that chose the rules."""
    plant = load_plant(DEFAULT_PLANT).with_control(policy=policy)
    metrics = ControllerMetrics(plant.site, control=plant.control)
    assert _value(metrics, "hpctl_policy_configured", policy=policy) == 1.0
    others = [p for p in ("planner", "merit", "rules") if p != policy]
    assert all(_value(metrics, "hpctl_policy_configured", policy=p) is None for p in others)
