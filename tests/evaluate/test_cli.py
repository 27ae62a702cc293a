"""`hpctl evaluate` through its argument parser: a short real run, parallel and sequential alike."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from controller.config import Plant
from controller.evaluate.cli import EXIT_BAD_INPUT, EXIT_OK, add_arguments, run
from controller.evaluate.data import EvaluationData
from controller.evaluate.runner import evaluate

from .conftest import JUNE, RIVER


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hpctl evaluate")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_a_short_run_writes_the_report_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    args = parse(
        "--plant", str(RIVER), "--scenario", str(JUNE), "--start", "2024-06-04T00:00Z",
        "--days", "1", "--policies", "baseline,mpc", "--jobs", "2", "--out", str(out),
    )  # fmt: skip
    assert run(args) == EXIT_OK
    report = json.loads((out / "report.json").read_text())
    assert set(report["policies"]) == {"baseline", "mpc"}
    assert report["hours"] == 24 and report["lower_bound"] is None
    assert (out / "week_mpc.png").exists() and (out / "load_duration.png").exists()
    printed = capsys.readouterr()
    assert "| mpc |" in printed.out and "mpc 100%" in printed.err


def test_a_bad_scenario_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    lines = JUNE.read_text().splitlines()[:30]
    lines[17] = lines[17].replace(lines[17].split(",")[1], "n/a", 1)
    bad.write_text("\n".join(lines) + "\n")
    args = parse("--plant", str(RIVER), "--scenario", str(bad), "--out", str(tmp_path / "o"))
    assert run(args) == EXIT_BAD_INPUT
    assert "line 18: 'price_eur_per_mwh' is not a number" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_policies_are_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        parse("--plant", "p", "--scenario", "s", "--out", "o", "--policies", "mpc,oracle")


def test_parallel_replays_equal_sequential_ones(river: Plant, june: EvaluationData) -> None:
    start = datetime(2024, 6, 5, tzinfo=UTC)
    end = start + timedelta(hours=12)
    names = ("baseline", "perfect")
    alone = evaluate(river, june, start, end, names, jobs=1)
    side_by_side = evaluate(river, june, start, end, names, jobs=2)
    for name in names:
        a, b = alone.results[name].trace, side_by_side.results[name].trace
        assert np.array_equal(a.unit_heat_kwh, b.unit_heat_kwh)
        assert np.array_equal(a.electricity_cost_eur, b.electricity_cost_eur)
        assert alone.kpis[name].total_cost_eur == side_by_side.kpis[name].total_cost_eur


def test_without_matplotlib_the_report_is_written_and_the_plots_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the edge install leaves the evaluate extra out: importing matplotlib fails there
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "controller.evaluate.plots", raising=False)
    out = tmp_path / "report"
    args = parse(
        "--plant", str(RIVER), "--scenario", str(JUNE), "--start", "2024-06-04T00:00Z",
        "--days", "1", "--policies", "baseline", "--jobs", "1", "--out", str(out),
    )  # fmt: skip
    assert run(args) == EXIT_OK
    assert json.loads((out / "report.json").read_text())["policies"].keys() == {"baseline"}
    assert not list(out.glob("*.png"))
    assert "plots skipped: matplotlib is not installed" in capsys.readouterr().err


def test_the_edge_controller_does_not_load_matplotlib() -> None:
    probe = (
        "import sys, controller.app.cli, controller.app.live, controller.app.demo; "
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
