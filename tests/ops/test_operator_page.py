"""The operator page in a real browser (Debian's chromium, driven by selenium), served by a real
`hpctl run` process controlling a real `hpctl sim` process: the page shows the units by their
state names and the plan, and a click on Cancel releases an override, which the audit shows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from controller.app.demo import DEFAULT_PLANT
from drivers.clock import WallClock
from tests.api.rig import REPO, TOKEN, free_port, write_prices

HPCTL = [sys.executable, "-m", "controller.app.cli"]
STATE_NAMES = {"off", "starting", "running", "stopping", "tripped"}
WAIT_S = 120  # a guard against a hang on a loaded machine, not a speed check


def _browser() -> WebDriver:
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail(
            "the operator page test needs Debian's chromium and chromium-driver: "
            "apt-get install -y chromium chromium-driver (.ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    for _ in range(WAIT_S * 10):
        if process.poll() is not None:
            raise AssertionError(f"the process ended with {process.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def _stop(process: subprocess.Popen[bytes]) -> str:
    """SIGINT, as an operator's Ctrl-C; its output."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output.decode(errors="replace")


@dataclass
class Sim:
    modbus_port: int
    opcua_port: int


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    """`hpctl sim` serving the river plant on free ports, for the module's controllers."""
    ports = Sim(free_port(), free_port())
    process = subprocess.Popen(
        [
            *HPCTL,
            "sim",
            "--plant",
            str(DEFAULT_PLANT),
            "--modbus-port",
            str(ports.modbus_port),
            "--opcua-port",
            str(ports.opcua_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    try:
        _wait_for_port(ports.modbus_port, process)
        _wait_for_port(ports.opcua_port, process)
        yield ports
    finally:
        _stop(process)


def _plant_file(tmp_path: Path, sim: Sim, api_port: int) -> Path:
    """The river plant's file as a site would keep it, pointed at the simulator's ports, with
    the planner on a price file and the API on."""
    text = DEFAULT_PLANT.read_text()
    text = text.replace('"../pointmaps/', f'"{REPO}/deploy/pointmaps/')
    text = text.replace("port = 5020", f"port = {sim.modbus_port}")
    text = text.replace("port = 4840", f"port = {sim.opcua_port}")
    prices = write_prices(tmp_path / "prices.csv")
    control = (
        "[control]\n"
        "cycle_s = 1\n"
        f'data_dir = "{tmp_path / "data"}"\n'
        f"metrics_port = {free_port()}\n"
        'policy = "planner"\n\n'
        "[control.market]\n"
        f'price_file = "{prices}"\n\n'
        "[control.api]\n"
        "enabled = true\n"
        f"port = {api_port}\n"
    )
    assert "[control]\ncycle_s = 5\n" in text
    text = text.replace("[control]\ncycle_s = 5\n", control)
    path = tmp_path / "plant.toml"
    path.write_text(text)
    return path


@pytest.fixture
def controller(tmp_path: Path, sim: Sim, request: pytest.FixtureRequest) -> Iterator[str]:
    """`hpctl run` (read-only if the test is marked so) with the token in its environment;
    yields the page's address and checks the process stopped cleanly."""
    api_port = free_port()
    plant = _plant_file(tmp_path, sim, api_port)
    extra = ["--read-only"] if request.node.get_closest_marker("read_only") else []
    process = subprocess.Popen(
        [*HPCTL, "run", "--plant", str(plant), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env=os.environ | {"HPCTL_API_TOKEN": TOKEN},
    )
    try:
        _wait_for_port(api_port, process)
        yield f"http://127.0.0.1:{api_port}"
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert f"operator page and API on http://127.0.0.1:{api_port}/" in output, output


def _post(base: str, path: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
    return answer


def _wait(browser: WebDriver, what: str, check: object) -> None:
    try:
        WebDriverWait(browser, WAIT_S, poll_frequency=0.2).until(check)  # type: ignore[arg-type]
    except TimeoutException:
        raise AssertionError(f"the page never showed {what}:\n{_page_text(browser)}") from None


def _page_text(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def _unit_states(browser: WebDriver) -> dict[str, str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#units tbody tr")
    return {
        str(row.get_attribute("data-unit")): row.find_element(By.CSS_SELECTOR, ".state").text
        for row in rows
    }


def test_the_page_shows_the_plant_and_a_cancel_click_releases_an_override(
    controller: str,
) -> None:
    expires = (WallClock().now() + timedelta(hours=1)).isoformat()
    curtail = {
        "id": "grid-7",
        "kind": "curtail",
        "max_power_kw": 0,
        "priority": 70,
        "operator": "tso",
        "expires_utc": expires,
    }
    answer = _post(controller, "/api/v1/requests", curtail)  # an EMS, over the API
    assert answer["accepted"] is True, answer

    browser = _browser()
    try:
        browser.get(controller + "/")
        _wait(
            browser,
            "both units with a state name",
            lambda b: (
                set(_unit_states(b)) == {"hp1", "hp2"}
                and set(_unit_states(b).values()) <= STATE_NAMES
            ),
        )
        assert browser.find_element(By.ID, "readonly").is_displayed() is False
        assert browser.find_element(By.ID, "rung").text in {"plan", "last_plan", "rules"}
        assert browser.find_element(By.ID, "rung-reason").text
        assert "%" in browser.find_element(By.ID, "tank-soc").text
        _wait(
            browser,
            "the plan as a chart",
            lambda b: (
                len(b.find_elements(By.CSS_SELECTOR, "#plan-heat rect")) > 0
                and len(b.find_elements(By.CSS_SELECTOR, "#plan-price polyline")) == 1
                and len(b.find_elements(By.CSS_SELECTOR, "#plan-carbon polyline")) == 1
            ),
        )
        legend = browser.find_element(By.ID, "plan-legend").text
        assert "hp1" in legend and "hp2" in legend and "boiler" in legend

        button = browser.find_element(By.CSS_SELECTOR, "#overrides button.cancel[data-id='grid-7']")
        browser.find_element(By.ID, "token").send_keys(TOKEN)
        button.click()
        _wait(
            browser,
            "the override gone",
            lambda b: not b.find_elements(By.CSS_SELECTOR, "#overrides tbody tr"),
        )
        assert "cancelled" in browser.find_element(By.ID, "message").text
        _wait(
            browser,
            "the release in the audit",
            lambda b: any(
                "grid-7" in row.text
                for row in b.find_elements(
                    By.CSS_SELECTOR, "#audit tbody tr[data-kind='override_released']"
                )
            ),
        )
    finally:
        browser.quit()


@pytest.mark.read_only
def test_the_page_shows_read_only_mode(controller: str) -> None:
    browser = _browser()
    try:
        browser.get(controller + "/")
        _wait(
            browser,
            "the read-only banner",
            lambda b: b.find_element(By.ID, "readonly").is_displayed(),
        )
        assert "READ-ONLY" in browser.find_element(By.ID, "readonly").text
        _wait(browser, "the units", lambda b: set(_unit_states(b)) == {"hp1", "hp2"})
    finally:
        browser.quit()
