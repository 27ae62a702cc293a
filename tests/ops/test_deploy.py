"""Deployment files: the systemd unit (systemd-analyze), the compose file (docker-compose
config), the Prometheus configs (promtool), the compose plant file (hpctl validate)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from controller.app.feed import whole_days
from controller.config import load_plant
from drivers.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "hpctl.service"


def _run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)


def _unit_with_runnable_exec(tmp_path: Path) -> Path:
    """The unit as shipped, but starting a binary that exists here (hpctl is not in /opt)."""
    copy = tmp_path / "hpctl.service"
    copy.write_text(UNIT.read_text().replace("/opt/hpctl/venv/bin/hpctl", "/bin/true"))
    return copy


def _unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_systemd_unit_restarts_watches_and_runs_as_its_own_user() -> None:
    unit = _unit_settings()
    assert unit["Type"] == ["notify"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["WatchdogSec"] == ["30s"]
    assert unit["User"] == ["hpctl"] and unit["Group"] == ["hpctl"]
    assert unit["KillSignal"] == ["SIGTERM"]
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert hardening in unit, hardening
    assert unit["CapabilityBoundingSet"] == [""]


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


@needs_systemd_analyze
def test_systemd_unit_verifies_without_warnings(tmp_path: Path) -> None:
    result = _run("systemd-analyze", "verify", str(_unit_with_runnable_exec(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_systemd_analyze
def test_systemd_unit_exposure_is_low(tmp_path: Path) -> None:
    result = _run(
        "systemd-analyze", "security", "--offline=yes", str(_unit_with_runnable_exec(tmp_path))
    )
    match = re.search(r"Overall exposure level for hpctl.service: ([0-9.]+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout[-3000:]


COMPOSE = shutil.which("docker-compose")


@pytest.mark.skipif(COMPOSE is None, reason="docker-compose not installed")
def test_compose_file_validates(tmp_path: Path) -> None:
    assert COMPOSE is not None
    result = _run(COMPOSE, "-f", str(DEPLOY / "compose.yaml"), "config", cwd=DEPLOY)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == {
        "sim",
        "controller",
        "feed",
        "mosquitto",
        "prometheus",
        "grafana",
    }


def test_compose_stack_is_wired_together() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["controller"]["network_mode"] == "service:sim"
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{port} is published beyond the host"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"{source} is mounted but missing"
    prometheus = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["sim:9108"]
    plant = load_plant(DEPLOY / "compose" / "plant.toml")
    assert plant.control.metrics_host == "0.0.0.0"
    assert plant.control.metrics_port == 9108
    assert plant.control.mqtt.enabled and plant.control.mqtt.host == "mosquitto"
    grafana_env = services["grafana"]["environment"]
    assert grafana_env["HPCTL_PROMETHEUS_URL"] == "http://prometheus:9090"


def test_compose_runs_the_planner_on_a_fed_scenario_the_image_ships() -> None:
    """Compose shows dispatch: the planner, and a feed of a scenario that is in the image."""
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    plant = load_plant(DEPLOY / "compose" / "plant.toml")
    assert plant.control.policy == "planner"
    command = services["feed"]["command"]
    assert command[0] == "feed"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--plant"] == services["controller"]["command"][2]
    scenario = Path(options["--scenario"])
    assert scenario.parts[:2] == ("controller", "scenarios")  # copied into the image
    assert "COPY controller/scenarios" in (ROOT / "Dockerfile").read_text()
    assert whole_days(load_scenario(ROOT / scenario), plant.site.plant.timezone)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
@pytest.mark.parametrize(
    "config", [DEPLOY / "prometheus" / "prometheus.yml", DEPLOY / "compose" / "prometheus.yml"]
)
def test_prometheus_configs_check(config: Path) -> None:
    result = _run("promtool", "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_a_dedicated_user_and_checks_health() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.split()[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))
    ]
    assert instructions.count("FROM") == 2, "a build stage and a slim runtime stage"
    assert "USER hpctl" in text
    assert "HEALTHCHECK" in instructions and "/healthz" in text
    assert re.search(r'ENTRYPOINT \["hpctl"\]', text)
    for copied in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.MULTILINE):
        assert (ROOT / copied).exists(), f"Dockerfile copies {copied}, which does not exist"
