"""`hpctl plan` and `hpctl evaluate` on a bad scenario, merge or fuel file: one line on stderr
naming the file and the line, exit code 2, no traceback, nothing planned or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RIVER = ROOT / "deploy" / "plants" / "river_20mw.toml"
DEMO = ROOT / "controller" / "scenarios" / "demo_dk1_2024_january.csv"
EXIT_BAD_INPUT = 2


def _hpctl(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.app.cli", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _demo_with(tmp_path: Path, line_index: int, row: str) -> Path:
    """The demo scenario (header, carbon, outdoor) with the data row at `line_index` replaced."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    stamp = lines[line_index].split(",")[0]
    lines[line_index] = row.format(stamp=stamp)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("{stamp},-1e308,40,-3", "line 6: 'price_eur_per_mwh' -1e308 is outside -500..4000"),
        ("{stamp},50,-40,-3", "line 6: 'carbon_g_per_kwh' -40 is outside 0..2000"),
        ("{stamp},50,5,40,-3", "line 6: 5 fields, the header has 4; a decimal comma"),
        ('{stamp},"' + "7" * 140_000 + '",40,-3', "line 6: not CSV (a field longer than"),
    ],
)
def test_plan_refuses_a_bad_scenario_with_its_line(tmp_path: Path, row: str, expected: str) -> None:
    bad = _demo_with(tmp_path, 5, row)
    done = _hpctl(
        "plan", "--plant", str(RIVER), "--scenario", str(bad),
        "--start", "2024-01-06T00:00Z", "--horizon", "12h",
    )  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert done.stderr.startswith(f"hpctl: {bad}, {expected}")
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_evaluate_refuses_bad_scenario_merge_and_fuel_files_with_their_lines(
    tmp_path: Path,
) -> None:
    good_prices = tmp_path / "prices.csv"
    good_prices.write_text(
        "timestamp_utc,price_eur_per_mwh\n"
        + "".join(f"2024-01-06T{h:02d}:00Z,50\n" for h in range(24)),
        encoding="utf-8",
    )
    negative_carbon = _demo_with(tmp_path, 3, "{stamp},50,-40,-3")
    bad_fuel = tmp_path / "gas.csv"
    bad_fuel.write_text("date,gas_eur_per_mwh\n2024-01-04,30\n2024-01-05,1e300\n")
    cases = [
        ([str(negative_carbon)], f"{negative_carbon}, line 4: 'carbon_g_per_kwh' -40 is outside"),
        (
            [str(good_prices), "--carbon-from", str(negative_carbon)],
            f"{negative_carbon}, line 4: 'carbon_g_per_kwh' -40 is outside",
        ),
        (
            [str(good_prices), "--fuel-from", str(bad_fuel)],
            f"{bad_fuel}, line 3: 'gas_eur_per_mwh' 1e300 is outside 0..2000",
        ),
    ]
    for scenario_and_options, expected in cases:
        out = tmp_path / "report"
        done = _hpctl(
            "evaluate", "--plant", str(RIVER), "--scenario", *scenario_and_options,
            "--policies", "baseline", "--quiet", "--out", str(out),
        )  # fmt: skip
        assert done.returncode == EXIT_BAD_INPUT, done.stderr
        assert done.stderr.startswith(f"hpctl evaluate: {expected}")
        assert "Traceback" not in done.stderr
        assert not out.exists()
