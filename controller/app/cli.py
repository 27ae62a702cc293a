"""`hpctl`: the command line of the controller.

hpctl [-v] [--version] COMMAND ...   (-v also after the command)
hpctl demo [--plant FILE] [--scenario FILE] [--start TIME] [--days 1d] [--policy rules] [--compare]
hpctl sim --plant FILE [--bind HOST] [--modbus-port N] [--opcua-port N] [--speed X]
          [--scenario FILE] [--faults FILE] [--control-port N]
hpctl run --plant FILE [--read-only] [--metrics-port N] [--connect NAME=HOST:PORT ...]
hpctl plan --plant FILE --scenario FILE --start TIME [--horizon 48h] [--json] [--plot FILE]
hpctl audit (--plant FILE | --db FILE) [--since TIME] [--unit NAME]
hpctl evaluate --plant FILE --scenario FILE [--start TIME] [--days 7d] [--policies ...] --out DIR
hpctl size --plant FILE --scenario FILE --heat-pump-mw 10,20 --tank-m3 0,4000 --out DIR
hpctl validate FILE...        plant files and point maps; exit 1 listing every problem

TIME: ISO 8601 with Z or an offset (converted to UTC), or a plain date (midnight UTC).
Durations take a unit: 90s, 90m, 48h, 2d (a plain number keeps the option's own unit).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from controller.app import cli_args
from controller.config import ConfigError, Plant, load_plant
from drivers.pointmap import PointMapError, load_point_map
from drivers.scenario import ScenarioError
from drivers.schema import read_toml
from drivers.site import SiteError

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _timestamp(text: str) -> datetime:
    return cli_args.timestamp(text)


_hours = cli_args.duration("h", "h", 2.0, 96.0)


def _port(text: str) -> int:
    if not text.strip().isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a TCP port (0..65535; 0: a free one)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpctl", description="Supervisory controller for heat-pump plants"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--version",
        action="version",
        version=f"hpctl {cli_args.version()}",
        help="print the version",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="run the controller against the simulated plant, faster than real time"
    )
    demo.add_argument(
        "--plant", type=Path, help="plant file (default: the river-source reference plant)"
    )
    demo.add_argument(
        "--scenario", type=Path, help="scenario CSV (default: embedded DK1 January 2024 excerpt)"
    )
    demo.add_argument(
        "--start",
        type=_timestamp,
        help="start time: ISO 8601 with Z or an offset, or a date (default: scenario start + 2 days)",
    )
    demo.add_argument(
        "--days",
        type=cli_args.duration("d", "d"),
        default=1.0,
        help="simulated time: 2d, 36h, 90m, or a plain number of days (default 1)",
    )
    demo.add_argument(
        "--policy",
        choices=("rules", "merit", "planner"),
        default=None,
        help="dispatch policy (default: planner)",
    )
    demo.add_argument(
        "--compare",
        action="store_true",
        help="then run the rules on the same day and print both side by side",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    sim = sub.add_parser("sim", help="serve a simulated plant on Modbus TCP and OPC UA")
    sim.add_argument("--plant", type=Path, required=True, help="plant file to simulate")
    sim.add_argument(
        "--bind",
        default="127.0.0.1",
        help="address the servers listen on, whatever hosts the plant file names "
        "(default 127.0.0.1; 0.0.0.0: every interface)",
    )
    sim.add_argument(
        "--modbus-port", type=_port, help="default: the plant file's Modbus connection port"
    )
    sim.add_argument(
        "--opcua-port", type=_port, help="default: the plant file's OPC UA connection port"
    )
    sim.add_argument(
        "--speed",
        type=cli_args.positive_number,
        default=1.0,
        help="simulated seconds per real second (default 1: real time)",
    )
    sim.add_argument(
        "--scenario", type=Path, help="scenario CSV for outdoor temperature and demand"
    )
    sim.add_argument(
        "--start", type=_timestamp, help="simulated start time (default: scenario start or now)"
    )
    sim.add_argument("--faults", type=Path, help="fault schedule (TOML) to play during the run")
    sim.add_argument(
        "--control-port",
        type=_port,
        help="serve the fault control API on 127.0.0.1 at this port (0: a free one)",
    )

    run = sub.add_parser("run", help="run the controller against a plant on the wall clock")
    run.add_argument("--plant", type=Path, required=True, help="plant file")
    run.add_argument(
        "--read-only", action="store_true", help="poll, estimate and decide, but write nothing"
    )
    run.add_argument(
        "--metrics-port", type=_port, help="Prometheus port (default: the plant file's)"
    )
    run.add_argument(
        "--metrics-host", help="bind address of the metrics endpoint (default 127.0.0.1)"
    )
    run.add_argument(
        "--connect",
        type=cli_args.connection_override,
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="reach the plant file's connection NAME at HOST:PORT instead (repeatable), e.g. "
        "to run a real plant's file against `hpctl sim`",
    )

    plan = sub.add_parser("plan", help="one planning run from a scenario, printed as a table")
    plan.add_argument("--plant", type=Path, required=True, help="plant file")
    plan.add_argument(
        "--scenario", type=Path, required=True, help="scenario CSV: prices, carbon, weather"
    )
    plan.add_argument(
        "--start",
        type=_timestamp,
        required=True,
        help="planning time: ISO 8601 with Z or an offset, or a date (midnight UTC)",
    )
    plan.add_argument(
        "--horizon",
        type=_hours,
        default=None,
        help="2h..96h, e.g. 48h or 2d; a plain number is hours (default: the plant file's)",
    )
    plan.add_argument(
        "--carbon-price-eur-per-t",
        type=float,
        default=None,
        help="weigh CO2 at this price, EUR/t (default: the plant file's [control.planner])",
    )
    plan.add_argument(
        "--soc", type=float, default=0.5, help="tank state of charge at the start (0..1)"
    )
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.add_argument(
        "--plot", type=Path, help="also draw the plan (heat per unit, storage, price) to this PNG"
    )

    from controller.app import audit_cli
    from controller.evaluate import cli as evaluate_cli
    from controller.evaluate import size_cli

    audit_cli.add_arguments(sub.add_parser("audit", help="print the audit store"))
    evaluate_cli.add_arguments(
        sub.add_parser(
            "evaluate", help="replay a scenario under baseline, mpc and perfect; report and plots"
        )
    )

    size_cli.add_arguments(
        sub.add_parser("size", help="sweep heat-pump and tank sizes over a year, on Dask")
    )

    validate = sub.add_parser("validate", help="check plant files and point maps")
    validate.add_argument("files", type=Path, nargs="+", help="plant files and point maps (TOML)")
    cli_args.add_verbose_everywhere(parser)  # last: every subcommand, whoever added it
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("asyncua").setLevel(logging.ERROR)  # its session-timeout notice is noise
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "sim":
            return _sim(args)
        if args.command == "run":
            return _run(args)
        if args.command == "plan":
            return _plan(args)
        if args.command == "audit":
            from controller.app import audit_cli

            return audit_cli.run(args)
        if args.command == "evaluate":
            from controller.evaluate import cli as evaluate_cli

            return evaluate_cli.run(args)
        if args.command == "size":
            from controller.evaluate import size_cli

            return size_cli.run(args)
        return _validate(args.files)
    except (ConfigError, ScenarioError, PointMapError, SiteError) as exc:
        print(f"hpctl: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a port in use, an unreachable address, an unusable folder
        print(f"hpctl: {cli_args.describe_os_error(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


def _demo(args: argparse.Namespace) -> int:
    from controller.app import eventloop
    from controller.app.demo import default_start, load_demo_inputs, render_comparison, run_demo

    plant, scenario = load_demo_inputs(args.plant, args.scenario)
    plant = plant.with_control(policy=args.policy or "planner")
    start = args.start or default_start(scenario)
    print(
        f"hpctl demo: {plant.site.plant.name}, {args.days:g} day(s) from {start:%Y-%m-%d %H:%M} UTC, "
        f"policy {plant.control.policy}, scenario {Path(scenario.source).name}, "
        f"event loop {eventloop.name()}"
    )
    progress = None if args.quiet else sys.stderr
    summary = eventloop.run(run_demo(plant, scenario, start, args.days, progress=progress))
    print(summary.render())
    if args.compare:
        other = "rules" if plant.control.policy != "rules" else "planner"
        print(f"hpctl demo: the same day under {other}, for comparison")
        reference = eventloop.run(
            run_demo(plant.with_control(policy=other), scenario, start, args.days, progress)
        )
        print(reference.render())
        print(render_comparison(summary, reference))
    return EXIT_OK


def _sim(args: argparse.Namespace) -> int:
    from drivers.clock import WallClock
    from drivers.site import load_site
    from sim_plant.runner import run_sim, server_ports

    site = load_site(args.plant)
    for name, port in server_ports(site, args.modbus_port, args.opcua_port).items():
        cli_args.check_port_free(args.bind, port, f"connection '{name}':")
    if args.control_port is not None:
        cli_args.check_port_free("127.0.0.1", args.control_port, "--control-port:")
    asyncio.run(
        run_sim(
            plant_path=args.plant,
            modbus_port=args.modbus_port,
            opcua_port=args.opcua_port,
            speed=args.speed,
            scenario=args.scenario,
            start=args.start,
            clock=WallClock(),
            faults=args.faults,
            control_port=args.control_port,
            host=args.bind,
        )
    )
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from controller.app.live import run_live

    plant = load_plant(args.plant)
    changes: dict[str, object] = {}
    if args.read_only:
        changes["read_only"] = True
    if args.metrics_port is not None:
        changes["metrics_port"] = args.metrics_port
    if args.metrics_host is not None:
        changes["metrics_host"] = args.metrics_host
    if changes:
        plant = plant.with_control(**changes)
    plant = _connect(plant, args.connect)
    control = plant.control
    cli_args.check_port_free(control.metrics_host, control.metrics_port, "metrics endpoint")
    return asyncio.run(run_live(plant))


def _connect(plant: Plant, overrides: list[tuple[str, str, int]]) -> Plant:
    """The plant with `--connect NAME=HOST:PORT` applied: the same devices and point maps,
    reached elsewhere (a simulator standing in for the real plant)."""
    site = plant.site
    for name, host, port in overrides:
        if name not in site.connections:
            known = ", ".join(sorted(site.connections)) or "none"
            raise ConfigError(
                f"--connect {name}={host}:{port}: {plant.path} has no connection '{name}' "
                f"(its connections: {known})"
            )
        site = site.with_ports({name: port}, host)
        logging.getLogger("hpctl").info("connection %s: %s:%d (--connect)", name, host, port)
    return plant.with_site(site)


def _plan(args: argparse.Namespace) -> int:
    from controller.app.plan_report import defaulted_inputs, dumps, plan_once, render_table
    from drivers.scenario import load_scenario

    plant = load_plant(args.plant)
    scenario = load_scenario(args.scenario)
    changes: dict[str, float] = {}
    if args.horizon is not None:
        changes["horizon_h"] = args.horizon
    if args.carbon_price_eur_per_t is not None:
        changes["carbon_price_eur_per_t"] = args.carbon_price_eur_per_t
    if changes:
        plant = plant.with_planner(**changes)
    if not 0.0 <= args.soc <= 1.0:
        raise ConfigError(f"--soc {args.soc} is outside 0..1")
    if not scenario.start_utc <= args.start < scenario.end_utc:  # name the start asked for
        raise ScenarioError(
            f"{scenario.source}: --start {args.start:%Y-%m-%dT%H:%MZ} is outside the scenario "
            f"({scenario.start_utc:%Y-%m-%dT%H:%MZ} to {scenario.end_utc:%Y-%m-%dT%H:%MZ})"
        )
    if args.plot is not None:
        cli_args.check_output_dir(args.plot.parent, "--plot")
    run = plan_once(plant, scenario, args.start, args.soc)
    print(dumps(run) if args.json else render_table(run))
    for warning in defaulted_inputs(run):
        print(f"hpctl plan: warning: assumed input, {warning}", file=sys.stderr)
    if args.plot is not None and run.plan.usable:
        try:
            from controller.evaluate.plan_plot import plot_plan
        except ImportError as exc:  # the edge install leaves the plotting library out
            raise ConfigError(
                f"--plot needs matplotlib, the 'evaluate' extra (pip install 'hpctl[evaluate]'): "
                f"{exc}"
            ) from None
        args.plot.parent.mkdir(parents=True, exist_ok=True)  # checked before planning
        plot_plan(run, args.plot)
        print(f"hpctl plan: plot written to {args.plot}", file=sys.stderr)
    return EXIT_OK if run.plan.usable else 1


def _validate(files: list[Path]) -> int:
    """Check each file on its own and print every problem it has; 1 if any file is bad."""
    failed = 0
    for path in files:
        try:
            print(f"ok  {path}: {_check_file(path)}")
        except (ConfigError, PointMapError, SiteError) as exc:
            failed += 1
            print(f"BAD {exc}", file=sys.stderr)
        except Exception as exc:  # a checker's bug must not hide the other files' results
            failed += 1
            print(
                f"BAD {path}: could not be checked ({type(exc).__name__}: {exc}); "
                "this is a bug in hpctl, please report it",
                file=sys.stderr,
            )
    return EXIT_OK if failed == 0 else 1


def _check_file(path: Path) -> str:
    """What the file is, once it has validated: a plant file has `[plant]`, a point map
    `[device]` and `[[points]]`."""
    data = read_toml(path, ConfigError, "plant file or point map")
    if "plant" in data:
        plant = load_plant(path)
        return f"plant {plant.site.plant.name}, {len(plant.site.devices())} devices"
    if "device" in data or "points" in data:
        point_map = load_point_map(path)
        return f"{point_map.device.kind.value} point map, {len(point_map.points)} points"
    raise ConfigError(
        f"{path}: neither a plant file (it has no [plant] table) nor a point map "
        "(it has no [device] table or [[points]])"
    )


if __name__ == "__main__":
    sys.exit(main())
