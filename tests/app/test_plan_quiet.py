"""`hpctl plan --json` is JSON and nothing else: the solver prints nothing of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAN = [
    "plan",
    "--plant",
    str(ROOT / "deploy" / "plants" / "river_20mw.toml"),
    "--scenario",
    str(ROOT / "controller" / "scenarios" / "demo_dk1_2024_january.csv"),
    "--start",
    "2024-01-09T13:00Z",
    "--horizon",
    "12h",
]


def _hpctl(*options: str) -> subprocess.CompletedProcess[str]:
    """`hpctl [options] plan ... --json` in a fresh process, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "controller.app.cli", *options, *PLAN, "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_plan_json_parses_and_no_solver_banner_reaches_either_stream() -> None:
    done = _hpctl()
    report = json.loads(done.stdout)
    assert report["usable"] is True
    assert report["start"] == "cold"
    assert report["time_to_first_solution_s"] >= 0.0
    for stream in (done.stdout, done.stderr):
        assert "Running HiGHS" not in stream
        assert "HiGHS" not in stream


def test_verbose_routes_the_solver_log_through_logging_not_the_console() -> None:
    done = _hpctl("-v")
    json.loads(done.stdout)
    assert "HiGHS" not in done.stdout
    solver_lines = [line for line in done.stderr.splitlines() if "HiGHS" in line]
    assert solver_lines
    assert all("DEBUG controller.core.plan.solve: HiGHS: " in line for line in solver_lines)
