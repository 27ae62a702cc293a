"""`hpctl size` end to end on a small grid over two January days: the local run, a resumed run,
a brute-force check of the optimum, and the same sweep on a real Dask scheduler with two
workers on 127.0.0.1 giving identical results."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.app.cli import main
from controller.config import Plant
from controller.evaluate.data import EvaluationData, replay_window
from controller.evaluate.size_costs import CostCatalogue
from controller.evaluate.size_point import SizePoint, inputs_hash, run_point
from controller.evaluate.size_store import PointStore
from controller.evaluate.size_sweep import dask_client, size_sweep
from controller.scenarios import default_scenario_path

from .conftest import RIVER, ROOT

HEAT_PUMP_MW = (10.0, 20.0)
TANK_M3 = (0.0, 4000.0)
DAYS = 2.0
GRID = [SizePoint(hp, tank, None) for hp in HEAT_PUMP_MW for tank in TANK_M3]


def _argv(out: Path, *extra: str) -> list[str]:
    return [
        "size",
        "--plant",
        str(RIVER),
        "--scenario",
        str(default_scenario_path()),
        "--days",
        f"{DAYS:g}",
        "--heat-pump-mw",
        ",".join(f"{v:g}" for v in HEAT_PUMP_MW),
        "--tank-m3",
        ",".join(f"{v:g}" for v in TANK_M3),
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]


def _figures(size_json: Path) -> dict[tuple[float, float], dict[str, Any]]:
    """The points' figures, without the wall time (the one thing a machine may change)."""
    rows = json.loads(size_json.read_text())["points"]
    return {
        (row["heat_pump_mw"], row["tank_m3"]): {
            k: v for k, v in row.items() if k != "replay_wall_s"
        }
        for row in rows
    }


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("size-local")
    assert main(_argv(out, "--workers", "2")) == 0
    return out


def test_local_run_writes_results_report_and_plots(local_run: Path) -> None:
    data = json.loads((local_run / "size.json").read_text())
    assert len(data["points"]) == len(GRID) and data["missing"] == []
    assert (local_run / "size.png").stat().st_size > 0
    markdown = (local_run / "size.md").read_text()
    assert "Cost-optimal" in markdown and "![size](size.png)" in markdown
    lines = (local_run / "points.jsonl").read_text().splitlines()
    assert len(lines) == len(GRID)
    # two cold January days: 10 MW of heat pumps needs the boiler, 20 MW much less of it
    figures = _figures(local_run / "size.json")
    assert figures[(10.0, 4000.0)]["boiler_heat_mwh"] > figures[(20.0, 4000.0)]["boiler_heat_mwh"]
    for row in figures.values():
        assert row["heat_delivered_mwh"] > 0 and 0 <= row["boiler_share"] <= 1


def test_resumed_sweep_replays_only_the_missing_point(
    local_run: Path, river: Plant, january: EvaluationData, tmp_path: Path
) -> None:
    start, end = replay_window(january, None, DAYS)
    digest = inputs_hash(river, january, "perfect", None, start, end, 300.0)
    original = PointStore(local_run, digest).load()
    assert set(original) == set(GRID)
    lines = (local_run / "points.jsonl").read_text().splitlines()
    missing, kept = GRID[1], GRID[2]
    resumed_lines = []
    for line in lines:
        raw = json.loads(line)
        point = SizePoint(raw["point"]["heat_pump_mw"], raw["point"]["tank_m3"], None)
        if point == missing:
            continue
        if point == kept:  # a mark no replay could produce: it must come back untouched
            raw["replayed"]["operating_cost_eur"] = 12345.0
        resumed_lines.append(json.dumps(raw))
    half = lines[0][: len(lines[0]) // 2]  # a line a stop cut short
    (tmp_path / "points.jsonl").write_text("\n".join(resumed_lines) + "\n" + half)
    store = PointStore(tmp_path, digest)
    assert set(store.load()) == set(GRID) - {missing}
    with dask_client(None, 1) as client:
        outcome = size_sweep(
            client, river, january, GRID, store, "perfect", None, start, end, 300.0
        )
    assert outcome.computed == [missing]
    assert set(outcome.reused) == set(GRID) - {missing}
    assert outcome.results[kept].operating_cost_eur == 12345.0
    again = outcome.results[missing]
    assert again.operating_cost_eur == original[missing].operating_cost_eur
    assert again.co2_t == original[missing].co2_t
    assert set(store.load()) == set(GRID)
    # other inputs (another policy, another period) find nothing of this store
    assert PointStore(tmp_path, "0" * 16).load() == {}


def test_optimum_matches_brute_force(
    local_run: Path, river: Plant, january: EvaluationData
) -> None:
    start, end = replay_window(january, None, DAYS)
    costs = CostCatalogue()
    year_fraction = DAYS / 365.0
    unmet_eur_per_mwh = river.control.planner.unmet_penalty_eur_per_mwh
    totals: dict[SizePoint, float] = {}
    for point in GRID:  # each replayed here, in this process, not through the sweep
        figures = run_point(river, january, point, "perfect", None, start, end, 300.0)
        hp = point.heat_pump_mw * (900_000.0 * costs.annuity_factor(25) + 2_000.0)
        tank = point.tank_m3 * 200.0 * costs.annuity_factor(40)
        boiler = figures["boiler_mw"] * (60_000.0 * costs.annuity_factor(25) + 2_000.0)
        totals[point] = (
            (hp + tank + boiler) * year_fraction
            + figures["operating_cost_eur"]
            + figures["unmet_heat_mwh"] * unmet_eur_per_mwh
        )
    best = min(totals, key=lambda p: totals[p])
    data = json.loads((local_run / "size.json").read_text())
    assert data["cost_optimal"] == {
        "heat_pump_mw": best.heat_pump_mw,
        "tank_m3": best.tank_m3,
        "boiler_mw": None,
    }
    reported = {(r["heat_pump_mw"], r["tank_m3"]): r["total_eur_per_year"] for r in data["points"]}
    for point, total in totals.items():
        assert reported[(point.heat_pump_mw, point.tank_m3)] == pytest.approx(total, rel=1e-9)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1 free ports."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler = [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1"]
    worker = [sys.executable, "-m", "dask", "worker", address, "--host", "127.0.0.1"]
    logs = [open(tmp_path / f"dask-{i}.log", "w") for i in range(3)]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [*scheduler, "--port", str(port), "--no-dashboard"],
            env=env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
    ]
    for i in (1, 2):
        processes.append(
            subprocess.Popen(
                [*worker, "--nworkers", "1", "--nthreads", "1", "--name", f"worker-{i}"],
                env=env,
                stdout=logs[i],
                stderr=subprocess.STDOUT,
            )
        )
    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address
    finally:
        for process in processes[::-1]:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def test_distributed_run_gives_the_local_results(
    local_run: Path, dask_cluster: str, tmp_path: Path
) -> None:
    out = tmp_path / "distributed"
    assert main(_argv(out, "--scheduler", dask_cluster)) == 0
    assert _figures(out / "size.json") == _figures(local_run / "size.json")
    local = json.loads((local_run / "size.json").read_text())
    remote = json.loads((out / "size.json").read_text())
    assert remote["cost_optimal"] == local["cost_optimal"]
    assert remote["tradeoff"] == local["tradeoff"]


def test_unreachable_scheduler_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    assert main(_argv(tmp_path, "--scheduler", address)) == 2
    assert f"cannot reach the Dask scheduler {address}" in capsys.readouterr().err


def test_new_cost_file_reprices_without_replaying(
    local_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "repriced"
    out.mkdir()
    (out / "points.jsonl").write_text((local_run / "points.jsonl").read_text())
    costs = tmp_path / "costs.toml"
    costs.write_text("[heat_pump]\ninvestment_eur_per_mw = 2_000_000\n")
    assert main(_argv(out, "--workers", "1", "--costs", str(costs))) == 0
    assert f"0 points replayed, {len(GRID)} found" in capsys.readouterr().out
    before = json.loads((local_run / "size.json").read_text())["points"]
    after = json.loads((out / "size.json").read_text())["points"]
    for old, new in zip(before, after, strict=True):
        assert new["operating_cost_eur"] == old["operating_cost_eur"]
        assert new["heat_pump_eur_per_year"] > old["heat_pump_eur_per_year"]
        assert new["total_eur_per_year"] > old["total_eur_per_year"]
