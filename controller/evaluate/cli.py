"""`hpctl evaluate`: replay a scenario under several policies and write the report.

hpctl evaluate --plant FILE --scenario FILE [--start ISO] [--days N]
    [--demand-peak-kw X] [--carbon-price-eur-per-t X | --carbon-prices X,Y,...]
    [--policies baseline,merit,mpc,perfect] [--outdoor-from FILE] [--carbon-from FILE]
    [--fuel-from FILE] [--step-s 300] [--jobs 2] [--quiet] --out DIR
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from controller.app import cli_args
from controller.config import ConfigError, load_plant
from controller.evaluate.data import load_evaluation_data, replay_window
from controller.evaluate.policies import POLICIES
from drivers.scenario import ScenarioError

if TYPE_CHECKING:
    from datetime import datetime

    from controller.config import Plant
    from controller.evaluate.data import EvaluationData
    from controller.evaluate.runner import Evaluation

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _timestamp(text: str) -> object:
    return cli_args.timestamp(text)


def _policies(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown policy {', '.join(unknown) or '(none)'}; choose from {', '.join(POLICIES)}"
        )
    return tuple(dict.fromkeys(names))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def _carbon_prices(text: str) -> tuple[float, ...]:
    def out_of_range(part: str, value: float) -> str | None:
        if value >= 0 and value < 1e5:
            return None
        return f"carbon price {part} must be in 0..100000 EUR/t"

    return cli_args.number_list(text, out_of_range, "price")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hpctl evaluate`."""
    parser.add_argument("--plant", type=Path, required=True, help="plant file")
    parser.add_argument("--scenario", type=Path, required=True, help="scenario CSV (hourly)")
    parser.add_argument(
        "--start",
        type=_timestamp,
        help="ISO 8601 with Z or an offset, or a date (default: a week after the file starts)",
    )
    parser.add_argument(
        "--days",
        type=cli_args.duration("d", "d"),
        help="time to replay: 7d, 36h, or a plain number of days (default: a year, or up to "
        "the file's end)",
    )
    parser.add_argument(
        "--demand-peak-kw", type=_positive, help="rescale the heat_demand_kw column to this peak"
    )
    carbon = parser.add_mutually_exclusive_group()
    carbon.add_argument(
        "--carbon-price-eur-per-t",
        type=float,
        default=None,
        help="weigh CO2 at this price (default: the plant file's [control.planner] value)",
    )
    carbon.add_argument(
        "--carbon-prices",
        type=_carbon_prices,
        default=None,
        help="sweep: one evaluation per price (EUR/t, comma-separated) and the cost-CO2 "
        "trade-off of each policy against the baseline",
    )
    parser.add_argument(
        "--policies", type=_policies, default=POLICIES, help="comma-separated, default all four"
    )
    parser.add_argument(
        "--outdoor-from", type=Path, help="take outdoor_temp_c from this file, by calendar hour"
    )
    parser.add_argument(
        "--carbon-from", type=Path, help="take carbon_g_per_kwh from this file, by calendar hour"
    )
    parser.add_argument(
        "--fuel-from",
        type=Path,
        help="daily boiler fuel prices (a 'date' column and one '..._eur_per_mwh' column, e.g. "
        "the TTF gas benchmark) instead of the plant file's constant",
    )
    parser.add_argument(
        "--step",
        "--step-s",
        dest="step_s",
        type=cli_args.duration("s", "s"),
        default=300.0,
        help="replay and control step: 5m, 300s, or a plain number of seconds (default 5m)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="policies replayed side by side in worker processes (default: 2)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--out", type=Path, required=True, help="directory for the report")


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and write report.json, report.md and the plots into `--out`."""
    from controller.evaluate.report import write_report
    from controller.evaluate.runner import evaluate

    try:
        cli_args.check_output_dir(args.out, "--out")  # before the replay, not after it
    except OSError as exc:
        print(f"hpctl evaluate: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        plant = load_plant(args.plant)
        data = load_evaluation_data(
            args.scenario,
            plant.site,
            demand_peak_kw=args.demand_peak_kw,
            outdoor_from=args.outdoor_from,
            carbon_from=args.carbon_from,
            fuel_from=args.fuel_from,
        )
        start, end = replay_window(data, args.start, args.days)
        if args.carbon_price_eur_per_t is not None and args.carbon_price_eur_per_t < 0:
            raise ConfigError(f"--carbon-price-eur-per-t {args.carbon_price_eur_per_t} is negative")
        if 3600.0 % args.step_s != 0:
            raise ConfigError(f"--step-s {args.step_s:g} must divide an hour (e.g. 60, 300, 600)")
    except (ConfigError, ScenarioError) as exc:
        print(f"hpctl evaluate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        f"hpctl evaluate: {plant.site.plant.name}, {start:%Y-%m-%d %H:%M} to "
        f"{end:%Y-%m-%d %H:%M} UTC, policies {', '.join(args.policies)}"
    )
    for note in data.notes:
        print(f"  {note}")
    if args.carbon_prices is not None:
        return _sweep(args, plant, data, start, end)
    evaluation = evaluate(
        plant,
        data,
        start,
        end,
        args.policies,
        args.carbon_price_eur_per_t,
        args.step_s,
        progress=None if args.quiet else sys.stderr,
        jobs=max(1, args.jobs),
    )
    plots = _plots(evaluation, args.out)
    paths = write_report(evaluation, args.out, plots)
    print(paths["markdown"].read_text(encoding="utf-8").split("\n![")[0].rstrip())
    print(f"wrote {paths['json']}, {paths['markdown']} and {len(plots)} plots")
    return EXIT_OK


def _sweep(
    args: argparse.Namespace,
    plant: Plant,
    data: EvaluationData,
    start: datetime,
    end: datetime,
) -> int:
    from controller.evaluate.report import write_report
    from controller.evaluate.sweep import carbon_sweep, write_sweep

    def written(evaluation: Evaluation, price: float) -> None:
        out = args.out / f"carbon_{price:g}"
        write_report(evaluation, out, _plots(evaluation, out))
        print(f"  carbon {price:g} EUR/t: report in {out}")

    sweep = carbon_sweep(
        plant,
        data,
        start,
        end,
        args.policies,
        args.carbon_prices,
        args.step_s,
        progress=None if args.quiet else sys.stderr,
        jobs=max(1, args.jobs),
        each=written,
    )
    paths = write_sweep(sweep, args.out)
    print(paths["markdown"].read_text(encoding="utf-8").split("\n![")[0].rstrip())
    print(f"wrote {', '.join(str(path) for path in paths.values())}")
    return EXIT_OK


def _plots(evaluation: Evaluation, out_dir: Path) -> list[str]:
    """The plots need matplotlib, which the edge install leaves out (`pip install hpctl[evaluate]`)."""
    try:
        from controller.evaluate.plots import write_plots
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("matplotlib"):
            raise
        print(
            "plots skipped: matplotlib is not installed (pip install 'hpctl[evaluate]')",
            file=sys.stderr,
        )
        return []
    return write_plots(evaluation, out_dir)
