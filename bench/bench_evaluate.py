"""Benchmark `hpctl evaluate`: where the time of a replay goes, per policy.

Replays the river plant on the DK1 2024 development data (carbon from DK2 2022 at the same
calendar hour) for `--days` from `--start`, each policy on its own in this process, and reports
wall time, the plant physics, the control cycle, the planning (build + solve), solves and their
times, and the projection to a full year. Writes JSON and prints a table.

With `--year` it also times a whole year of the three policies as `hpctl evaluate` runs them
(worker processes, `--jobs 2`, the lower bound included, from a week after the file starts),
with the load average before and after: a few minutes.

    python bench/bench_evaluate.py --out bench-results/evaluate.json [--days 28] [--year]

Prices: Energinet (Energi Data Service), CC BY 4.0; weather: Open-Meteo.com, CC BY 4.0;
carbon intensity: Electricity Maps, ODbL.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Runs from a checkout without an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from controller.config import Plant, load_plant
from controller.evaluate.bound import lower_bound
from controller.evaluate.data import EvaluationData, load_evaluation_data, replay_window
from controller.evaluate.policies import POLICIES
from controller.evaluate.replay import replay
from controller.evaluate.runner import evaluate, factory

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
PLANT = ROOT / "deploy" / "plants" / "river_20mw.toml"
TARGET_YEAR_S = 120.0  # issue 14: a year of the three policies on the 2-core machine
YEAR_JOBS = 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--days", type=float, default=28.0)
    parser.add_argument("--start", default="2024-03-01T00:00Z")
    parser.add_argument("--plant", type=Path, default=PLANT)
    parser.add_argument(
        "--year", action="store_true", help="also time a whole year as hpctl evaluate runs it"
    )
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
    summary: dict[str, Any] = {
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
    if args.year:
        summary["year"] = _year(plant, data)
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
    if args.year:
        year = summary["year"]
        print(
            f"a year measured ({year['start_utc'][:10]} to {year['end_utc'][:10]}, "
            f"{YEAR_JOBS} jobs): {year['wall_s']:.0f} s; replays "
            + ", ".join(f"{k} {v:.0f} s" for k, v in year["replay_wall_s"].items())
            + f"; worker CPU {year['workers_cpu_s']:.0f} s; load {year['loadavg_before'][0]:.2f} "
            f"before, {year['loadavg_after'][0]:.2f} after"
        )
    return 0


def _year(plant: Plant, data: EvaluationData) -> dict[str, Any]:
    """A year of the three policies as `hpctl evaluate` runs it, with the machine's load."""
    start, end = replay_window(data, None, None)
    load_before = os.getloadavg()
    cpu_before_s = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    evaluation = evaluate(plant, data, start, end, POLICIES, jobs=YEAR_JOBS)
    load_after = os.getloadavg()
    # CPU seconds of the worker processes: on a shared machine, what the replays cost apart
    # from what the other users took
    workers_cpu_s = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu_before_s
    return {
        "start_utc": start.isoformat(),
        "end_utc": end.isoformat(),
        "jobs": YEAR_JOBS,
        "wall_s": evaluation.wall_s,
        "replay_wall_s": {name: r.wall_s for name, r in evaluation.results.items()},
        "planning_s": {name: r.planning_wall_s for name, r in evaluation.results.items()},
        "solves": {name: int(r.solve_times_s.size) for name, r in evaluation.results.items()},
        "lower_bound_s": evaluation.bound.solve_time_s if evaluation.bound else None,
        "workers_cpu_s": workers_cpu_s,
        "loadavg_before": list(load_before),
        "loadavg_after": list(load_after),
        "target_s": TARGET_YEAR_S,
        "kpis": {
            name: {
                "adjusted_cost_eur": k.adjusted_cost_eur,
                "adjusted_co2_t": k.adjusted_co2_t,
                "unmet_heat_kwh": k.unmet_heat_kwh,
                "starts": sum(u.starts for u in k.units.values()),
            }
            for name, k in evaluation.kpis.items()
        },
    }


if __name__ == "__main__":
    sys.exit(main())
