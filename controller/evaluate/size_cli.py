"""`hpctl size`: which heat-pump capacity, tank volume (and boiler) pay for themselves.

hpctl size --plant FILE --scenario FILE --heat-pump-mw 10,15,20 --tank-m3 0,2000,4000
    [--boiler-mw ...] [--policy perfect|mpc|merit|baseline] [--carbon-price-eur-per-t X]
    [--costs FILE] [--tradeoff-cost-pct 5] [--scheduler tcp://HOST:8786] [--workers N]
    [--start ISO] [--days N] [--demand-peak-kw X] [--outdoor-from FILE] [--carbon-from FILE]
    [--fuel-from FILE] [--step-s 300] [--quiet] --out DIR
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from controller.app import cli_args
from controller.config import ConfigError, load_plant
from controller.evaluate.cli import _positive, _timestamp
from controller.evaluate.data import load_evaluation_data, replay_window
from controller.evaluate.policies import POLICIES
from drivers.scenario import ScenarioError

if TYPE_CHECKING:
    from controller.evaluate.size_report import SizeStudy

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STOPPED = 130  # as a shell reports a command stopped by Ctrl-C


def _sizes(text: str, what: str, allow_zero: bool) -> tuple[float, ...]:
    def out_of_range(part: str, value: float) -> str | None:
        if (value > 0 or (allow_zero and value == 0)) and value <= 1e6:
            return None
        allowed = "0 or more" if allow_zero else "more than 0"
        return f"{part} must be {allowed}, up to 1e6"

    return cli_args.number_list(text, out_of_range, "value", what)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hpctl size`."""
    parser.add_argument("--plant", type=Path, required=True, help="plant file (the template)")
    parser.add_argument("--scenario", type=Path, required=True, help="scenario CSV (hourly)")
    parser.add_argument(
        "--heat-pump-mw",
        type=lambda t: _sizes(t, "--heat-pump-mw", False),
        required=True,
        help="heat-pump capacities in MW heat, comma-separated",
    )
    parser.add_argument(
        "--tank-m3",
        type=lambda t: _sizes(t, "--tank-m3", True),
        required=True,
        help="tank volumes in m3, comma-separated (0: no tank)",
    )
    parser.add_argument(
        "--boiler-mw",
        type=lambda t: _sizes(t, "--boiler-mw", True),
        help="boiler ratings in MW, comma-separated (0: none; default: the plant file's)",
    )
    parser.add_argument("--policy", choices=POLICIES, default="perfect", help="default perfect")
    parser.add_argument(
        "--carbon-price-eur-per-t",
        type=float,
        help="weigh CO2 at this price (default: the plant file's [control.planner] value)",
    )
    parser.add_argument("--costs", type=Path, help="TOML overriding the default cost figures")
    parser.add_argument(
        "--tradeoff-cost-pct",
        type=float,
        default=5.0,
        help="the trade-off choice: least CO2 within this %% of the optimum's cost (default 5)",
    )
    parser.add_argument(
        "--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)"
    )
    parser.add_argument(
        "--workers", type=int, help="LocalCluster worker processes (default: one per core)"
    )
    parser.add_argument("--start", type=_timestamp, help="ISO 8601 UTC (default as evaluate)")
    parser.add_argument("--days", type=_positive, help="days to replay (default: a year)")
    parser.add_argument("--demand-peak-kw", type=_positive, help="rescale heat_demand_kw")
    parser.add_argument("--outdoor-from", type=Path, help="outdoor_temp_c from this file")
    parser.add_argument("--carbon-from", type=Path, help="carbon_g_per_kwh from this file")
    parser.add_argument("--fuel-from", type=Path, help="daily boiler fuel prices")
    parser.add_argument("--step-s", type=_positive, default=300.0, help="default 300 s")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--out", type=Path, required=True, help="directory for the results")


def run(args: argparse.Namespace) -> int:
    """Sweep the grid (resuming from `--out`), then write size.json, size.md and the plots."""
    from controller.evaluate.size_costs import load_costs
    from controller.evaluate.size_point import SizePoint, check_point, inputs_hash
    from controller.evaluate.size_report import SizeStudy, price_point, write_study
    from controller.evaluate.size_store import PointStore

    try:
        from controller.evaluate.size_sweep import dask_client, size_sweep
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in ("dask", "distributed"):
            raise
        print(
            "hpctl size: the sweep runs on Dask, which is not installed "
            "(pip install 'hpctl[evaluate]')",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT

    boilers: tuple[float | None, ...] = args.boiler_mw or (None,)
    points = [
        SizePoint(heat_pump_mw=hp, tank_m3=tank, boiler_mw=boiler)
        for boiler, hp, tank in itertools.product(boilers, args.heat_pump_mw, args.tank_m3)
    ]
    try:
        plant = load_plant(args.plant)
        costs = load_costs(args.costs)
        data = load_evaluation_data(
            args.scenario,
            plant.site,
            demand_peak_kw=args.demand_peak_kw,
            outdoor_from=args.outdoor_from,
            carbon_from=args.carbon_from,
            fuel_from=args.fuel_from,
        )
        start, end = replay_window(data, args.start, args.days)
        if args.carbon_price_eur_per_t is not None and not args.carbon_price_eur_per_t >= 0:
            raise ConfigError(f"--carbon-price-eur-per-t {args.carbon_price_eur_per_t} is negative")
        if 3600.0 % args.step_s != 0:
            raise ConfigError(f"--step-s {args.step_s:g} must divide an hour (e.g. 60, 300, 600)")
        if not 0 <= args.tradeoff_cost_pct <= 100:
            raise ConfigError(f"--tradeoff-cost-pct {args.tradeoff_cost_pct:g} must be 0..100")
        if args.workers is not None and args.workers < 1:
            raise ConfigError(f"--workers {args.workers} must be 1 or more")
        for point in points:
            check_point(plant, point)
    except (ConfigError, ScenarioError) as exc:
        print(f"hpctl size: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    digest = inputs_hash(
        plant, data, args.policy, args.carbon_price_eur_per_t, start, end, args.step_s
    )
    store = PointStore(args.out, digest)
    where = args.scheduler or f"a LocalCluster of {args.workers or 'one worker per core'}"
    print(
        f"hpctl size: {plant.site.plant.name}, {len(points)} points, policy {args.policy}, "
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, on {where}; inputs {digest}"
    )
    try:
        with dask_client(args.scheduler, args.workers) as client:
            outcome = size_sweep(
                client,
                plant,
                data,
                points,
                store,
                args.policy,
                args.carbon_price_eur_per_t,
                start,
                end,
                args.step_s,
                progress=None if args.quiet else sys.stderr,
            )
    except KeyboardInterrupt:
        print(
            f"hpctl size: stopped; finished points are in {store.path}: the same command resumes",
            file=sys.stderr,
        )
        return EXIT_STOPPED
    except OSError as exc:  # the scheduler cannot be reached
        print(
            f"hpctl size: cannot reach the Dask scheduler {args.scheduler}: {exc}", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    print(f"  {len(outcome.computed)} points replayed, {len(outcome.reused)} found in {store.path}")
    for point, error in outcome.failed.items():
        print(f"  {point.key} failed: {error}", file=sys.stderr)
    carbon = (
        plant.control.planner.carbon_price_eur_per_t
        if args.carbon_price_eur_per_t is None
        else args.carbon_price_eur_per_t
    )
    unmet = costs.unmet_heat_eur_per_mwh
    if unmet is None:
        unmet = plant.control.planner.unmet_penalty_eur_per_mwh
    year_fraction = (end - start).total_seconds() / (365.0 * 86400.0)
    study = SizeStudy(
        plant=plant.site.plant.name,
        policy=args.policy,
        start_utc=start,
        end_utc=end,
        carbon_price_eur_per_t=carbon,
        costs=costs,
        unmet_heat_eur_per_mwh=unmet,
        tradeoff_cost_pct=args.tradeoff_cost_pct,
        points=tuple(
            price_point(point, replayed, costs, unmet, year_fraction)
            for point, replayed in outcome.results.items()
        ),
        missing=tuple(point for point in points if point not in outcome.results),
    )
    plots = _plots(study, args.out)
    paths = write_study(study, args.out, plots)
    print(paths["markdown"].read_text(encoding="utf-8").split("\n![")[0].rstrip())
    print(f"wrote {paths['json']}, {paths['markdown']} and {len(plots)} plots")
    return EXIT_FAILED if outcome.failed else EXIT_OK


def _plots(study: SizeStudy, out_dir: Path) -> list[str]:
    try:
        from controller.evaluate.size_plots import write_size_plots
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("matplotlib"):
            raise
        print("plots skipped: matplotlib is not installed (pip install 'hpctl[evaluate]')")
        return []
    return write_size_plots(study, out_dir)
