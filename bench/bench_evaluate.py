"""Benchmark `hpctl evaluate`: where the time of a replay goes, per policy.

Replays the river plant on the DK1 2024 development data (carbon from DK2 2022 at the same
calendar hour) for `--days` from `--start`, each policy on its own in this process, and reports
wall time, the plant physics, the control cycle, the planning (build + solve), solves and their
times, and the projection to a full year. Writes JSON and prints a table.

    python bench/bench_evaluate.py --out bench-results/evaluate.json [--days 28]

Prices: Energinet (Energi Data Service), CC BY 4.0; weather: Open-Meteo.com, CC BY 4.0;
carbon intensity: Electricity Maps, ODbL.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Runs from a checkout without an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from controller.config import load_plant
from controller.evaluate.bound import lower_bound
from controller.evaluate.data import load_evaluation_data
from controller.evaluate.policies import POLICIES
from controller.evaluate.replay import replay
from controller.evaluate.runner import factory

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
PLANT = ROOT / "deploy" / "plants" / "river_20mw.toml"
TARGET_YEAR_S = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--days", type=float, default=28.0)
    parser.add_argument("--start", default="2024-03-01T00:00Z")
    parser.add_argument("--plant", type=Path, default=PLANT)
    args = parser.parse_args()
    plant = load_plant(args.plant)
    data = load_evaluation_data(
        DATA / "dk1_2024_price_weather_hourly.csv",
        plant.site,
        carbon_from=DATA / "dk2_2021_2022_price_carbon_hourly.csv",
    )
    start = datetime.fromisoformat(args.start.replace("Z", "+00:00")).astimezone(UTC)
    end = start + timedelta(days=args.days)
    rows: dict[str, dict[str, float]] = {}
    for name in POLICIES:
        result = replay(plant, data, factory(name, data, start, None), start, end)
        cycle_s = float(result.cycle_durations_s.sum())
        solves = result.solve_times_s
        rows[name] = {
            "wall_s": result.wall_s,
            "physics_s": result.physics_wall_s,
            "cycle_s": cycle_s,
            "planning_s": result.planning_wall_s,
            "other_s": result.wall_s - result.physics_wall_s - cycle_s - result.planning_wall_s,
            "solves": float(solves.size),
            "solve_ms_p50": float(np.percentile(solves, 50)) * 1000 if solves.size else 0.0,
            "solve_ms_p99": float(np.percentile(solves, 99)) * 1000 if solves.size else 0.0,
            "solve_s_total": float(solves.sum()),
            "year_projection_s": result.wall_s * 366.0 / args.days,
        }
    started = time.perf_counter()
    bound = lower_bound(plant, data, start, end, None)
    bound_s = time.perf_counter() - started
    sequential = sum(row["year_projection_s"] for row in rows.values())
    parallel = max(rows["mpc"]["year_projection_s"], sequential - rows["mpc"]["year_projection_s"])
    summary = {
        "plant": plant.site.plant.name,
        "start_utc": start.isoformat(),
        "days": args.days,
        "policies": rows,
        "lower_bound_s": bound_s,
        "lower_bound_status": bound.status,
        "year_projection_sequential_s": sequential,
        "year_projection_two_jobs_s": parallel,
        "target_year_s": TARGET_YEAR_S,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{args.days:g} days from {start:%Y-%m-%d}, plant {plant.site.plant.name}")
    print("policy    wall s  physics  cycle  planning  solves  p50 ms  p99 ms  year s")
    for name, row in rows.items():
        print(
            f"{name:<9}{row['wall_s']:7.1f}{row['physics_s']:9.1f}{row['cycle_s']:7.1f}"
            f"{row['planning_s']:10.1f}{row['solves']:8.0f}{row['solve_ms_p50']:8.1f}"
            f"{row['solve_ms_p99']:8.1f}{row['year_projection_s']:8.0f}"
        )
    print(
        f"lower bound LP {bound_s:.2f} s; a year: {sequential:.0f} s one after another, "
        f"{parallel:.0f} s on two jobs (target {TARGET_YEAR_S:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
