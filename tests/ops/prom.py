"""A real Prometheus (the Debian package) on a free loopback port, and a demo day it scrapes.

`demo_scrape` runs the river plant's demo day from local midnight to local midnight with the
metrics served on a free port, while Prometheus scrapes every second; it returns once the day's
hindsight regret has been computed and Prometheus has stored it. Polling is bounded in count.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from controller.app.demo import DemoSummary, load_demo_inputs, run_demo
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sources import MetricSources

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
# the plant label Prometheus puts on every series of the target, as the shipped configs do
PLANT_LABEL = "river_20mw"
# local midnight in Copenhagen (UTC+1 in January): one whole plant day, and two cycles more
DEMO_START = datetime(2024, 1, 7, 23, 0, tzinfo=UTC)
DEMO_DAYS = 1.0 + 10.0 / 86400.0
POLL_ATTEMPTS = 240
POLL_PAUSE_S = 0.5
RANGE_STEP_S = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


@dataclass
class PrometheusServer:
    url: str

    def api(self, path: str, **params: str) -> dict[str, object]:
        query = urllib.parse.urlencode(params)
        status, body = http_get(f"{self.url}/api/v1/{path}?{query}")
        payload: dict[str, object] = json.loads(body)
        if status != 200 or payload.get("status") != "success":
            raise AssertionError(f"Prometheus {path} {params}: HTTP {status}: {body[:500]}")
        return payload

    def query_range(
        self, expr: str, start_s: float, end_s: float, step_s: float = RANGE_STEP_S
    ) -> list:  # type: ignore[type-arg]
        payload = self.api(
            "query_range", query=expr, start=f"{start_s:.3f}", end=f"{end_s:.3f}", step=f"{step_s}"
        )
        data = payload["data"]
        assert isinstance(data, dict)
        return list(data["result"])

    def query(self, expr: str) -> list:  # type: ignore[type-arg]
        data = self.api("query", query=expr)["data"]
        assert isinstance(data, dict)
        return list(data["result"])

    def wait_for(self, expr: str) -> list:  # type: ignore[type-arg]
        """Poll until `expr` has a sample that is a number (bounded attempts)."""
        for _ in range(POLL_ATTEMPTS):
            result = [r for r in self.query(expr) if r["value"][1] not in ("NaN", "+Inf", "-Inf")]
            if result:
                return result
            time.sleep(POLL_PAUSE_S)
        raise AssertionError(f"Prometheus never had a number for {expr}")


@contextmanager
def prometheus(
    target_port: int, tmp_path: Path, rule_files: tuple[Path, ...] = ()
) -> Iterator[PrometheusServer]:
    """Prometheus scraping 127.0.0.1:target_port every second, its series labelled with the
    plant, evaluating `rule_files`; stopped on exit."""
    assert PROMETHEUS is not None, "prometheus is not installed (apt-get install prometheus)"
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        + (
            "rule_files:\n" + "".join(f"  - '{path}'\n" for path in rule_files)
            if rule_files
            else ""
        )
        + "scrape_configs:\n  - job_name: hpctl\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target_port}']\n"
        f"        labels:\n          plant: {PLANT_LABEL}\n"
    )
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = PrometheusServer(f"http://127.0.0.1:{port}")
    try:
        for _ in range(POLL_ATTEMPTS):
            if process.poll() is not None:
                raise AssertionError(
                    f"prometheus exited: {(tmp_path / 'prometheus.log').read_text()}"
                )
            try:
                if http_get(f"{server.url}/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(POLL_PAUSE_S)
        else:
            raise AssertionError("prometheus never became ready")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class FakeStats:
    connected: bool = True
    reconnects_total: int = 1
    messages_received_total: int = 42
    garbage_total: int = 2
    requests_accepted_total: int = 3
    requests_rejected_total: int = 1
    connect_failures_total: int = 0
    price_updates_total: int = 4
    carbon_updates_total: int = 4
    fuel_updates_total: int = 1
    published_total: int = 120
    dropped_total: int = 0


@dataclass
class FakeBridge:
    """Stands in for the MQTT bridge: only the `stats` the metrics read."""

    stats: FakeStats


@dataclass
class DemoScrape:
    prometheus: PrometheusServer
    metrics: ControllerMetrics
    metrics_url: str
    summary: DemoSummary
    started_s: float  # wall time (Unix) when the demo started, for range queries
    ended_s: float


@contextmanager
def demo_scrape(tmp_path: Path, rule_files: tuple[Path, ...] = ()) -> Iterator[DemoScrape]:
    plant, scenario = load_demo_inputs(None, None)
    plant = plant.with_control(policy="planner")
    sources = MetricSources(bridge=FakeBridge(FakeStats()))
    metrics = ControllerMetrics(plant.site, sources, control=plant.control)
    port = metrics.serve("127.0.0.1", 0)
    try:
        with prometheus(port, tmp_path, rule_files) as server:
            server.wait_for("up")
            started_s = time.time()
            result: list[DemoSummary] = []
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    result.append(
                        asyncio.run(
                            run_demo(
                                plant,
                                scenario,
                                DEMO_START,
                                DEMO_DAYS,
                                progress=None,
                                metrics=metrics,
                            )
                        )
                    )
                except BaseException as exc:  # surfaced in the test thread below
                    errors.append(exc)

            thread = threading.Thread(target=run, name="demo")
            thread.start()
            thread.join()
            if errors:
                raise errors[0]
            for future in metrics.decisions.regret_futures:
                future.result(timeout=120)
            server.wait_for("hpctl_regret_eur")
            # A range query evaluates on a grid anchored at its start, so its last point can fall
            # before a sample scraped within the last step; one step past now covers it (the
            # lookback reaches back to the newest sample).
            ended_s = time.time() + RANGE_STEP_S
            yield DemoScrape(
                server, metrics, f"http://127.0.0.1:{port}", result[0], started_s, ended_s
            )
    finally:
        metrics.close()
