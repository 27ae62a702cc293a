"""`hpctl` follows its users' habits (issue 11, part 5): --version, -v anywhere, durations with
units on every duration option, timestamps with offsets or plain dates converted to UTC, help
on every option, output folders and ports checked before the long work starts, errors that
name the path or the address, and a plan with units, input sources and a picture."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.app import cli_args
from controller.app.cli import build_parser

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
        timeout=300,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_version() -> None:
    done = _hpctl("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"hpctl {cli_args.version()}"
    assert done.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "validate", str(RIVER)],
        ["validate", "-v", str(RIVER)],
        ["validate", str(RIVER), "-v"],
        ["audit", "--db", "x.sqlite3", "--verbose"],
    ],
)
def test_verbose_is_accepted_before_and_after_the_subcommand(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).verbose is True


def test_no_verbose_is_quiet_and_a_later_absence_does_not_reset_it() -> None:
    parser = build_parser()
    assert parser.parse_args(["validate", str(RIVER)]).verbose is False
    assert parser.parse_args(["-v", "validate", str(RIVER)]).verbose is True


def test_every_option_of_every_subcommand_has_help() -> None:
    assert cli_args.options_without_help(build_parser()) == []


def test_the_help_walker_finds_an_option_without_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    sub.choices["plan"].add_argument("--undocumented")  # type: ignore[attr-defined]
    assert cli_args.options_without_help(parser) == ["hpctl plan --undocumented"]


@pytest.mark.parametrize(
    ("text", "default_unit", "seconds"),
    [
        ("90s", "s", 90.0),
        ("90m", "s", 5400.0),
        ("90min", "h", 5400.0),
        ("48h", "h", 172800.0),
        ("2d", "h", 172800.0),
        ("1.5d", "d", 129600.0),
        ("300", "s", 300.0),
        ("48", "h", 172800.0),
        ("2", "d", 172800.0),
        (" 5M ", "s", 300.0),
    ],
)
def test_durations_with_units(text: str, default_unit: str, seconds: float) -> None:
    assert cli_args.parse_duration_s(text, default_unit) == seconds


@pytest.mark.parametrize("text", ["2x", "h", "", "-5m", "0h", "1e999h", "nan", "5 m s"])
def test_bad_durations_are_refused_saying_what_is_allowed(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        cli_args.parse_duration_s(text, "s")


def test_every_duration_option_takes_units() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "--days", "36h"]).days == 1.5
    assert parser.parse_args(["demo", "--days", "2d"]).days == 2.0
    assert parser.parse_args(["demo", "--days", "2"]).days == 2.0  # the old plain form
    plan = ["plan", "--plant", "p", "--scenario", "s", "--start", "2024-01-08"]
    assert parser.parse_args([*plan, "--horizon", "2d"]).horizon == 48.0
    assert parser.parse_args([*plan, "--horizon", "36"]).horizon == 36.0
    evaluate = ["evaluate", "--plant", "p", "--scenario", "s", "--out", "o"]
    assert parser.parse_args([*evaluate, "--step", "5m"]).step_s == 300.0
    assert parser.parse_args([*evaluate, "--step-s", "600"]).step_s == 600.0  # old name, form
    assert parser.parse_args([*evaluate, "--days", "2d"]).days == 2.0
    assert parser.parse_args([*evaluate, "--days", "12h"]).days == 0.5


def test_a_bad_duration_is_one_clear_line() -> None:
    done = _hpctl("demo", "--days", "2x")
    assert done.returncode == EXIT_BAD_INPUT
    assert "argument --days: '2x' is not a duration" in done.stderr
    assert "Traceback" not in done.stderr
    done = _hpctl("plan", "--plant", str(RIVER), "--scenario", str(DEMO),
                  "--start", "2024-01-10", "--horizon", "1h")  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert "1h is 1 hours, outside 2..96 hours" in done.stderr


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2022-11-14T00:00+01:00", datetime(2022, 11, 13, 23, tzinfo=UTC)),
        ("2022-11-14T00:00Z", datetime(2022, 11, 14, tzinfo=UTC)),
        ("2022-11-14T00:00:00-05:00", datetime(2022, 11, 14, 5, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_with_offsets_or_plain_dates_become_utc(text: str, utc: datetime) -> None:
    parsed = cli_args.parse_cli_timestamp(text)
    assert parsed == utc and parsed.utcoffset() is not None and parsed.tzinfo is UTC


def test_timestamp_options_all_convert() -> None:
    parser = build_parser()
    assert parser.parse_args(["audit", "--db", "a", "--since", "2026-12-01"]).since == datetime(
        2026, 12, 1, tzinfo=UTC
    )
    demo = parser.parse_args(["demo", "--start", "2024-01-09T01:00+01:00"])
    assert demo.start == datetime(2024, 1, 9, tzinfo=UTC)
    evaluate = ["evaluate", "--plant", "p", "--scenario", "s", "--out", "o"]
    assert parser.parse_args([*evaluate, "--start", "2024-01-09"]).start == datetime(
        2024, 1, 9, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2022-11-14T00:00", "has no UTC offset"),
        ("2022-13-01", "is not a calendar date"),
        ("yesterday", "is not ISO 8601"),
    ],
)
def test_bad_timestamps_say_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        cli_args.parse_cli_timestamp(text)


def test_an_out_of_range_start_names_the_start_given() -> None:
    """It named 2024-12-31T23:00, the hour before the one asked for."""
    done = _hpctl("plan", "--plant", str(RIVER), "--scenario", str(DEMO),
                  "--start", "2025-01-01")  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert "--start 2025-01-01T00:00Z is outside the scenario" in done.stderr
    assert "2024-12-31" not in done.stderr


def test_plan_before_the_scenario_is_refused_not_planned_on_nothing() -> None:
    done = _hpctl("plan", "--plant", str(RIVER), "--scenario", str(DEMO),
                  "--start", "2023-12-31T10:30Z")  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert "--start 2023-12-31T10:30Z is outside the scenario" in done.stderr
    assert done.stdout == ""


def test_evaluate_refuses_an_unusable_out_folder_before_replaying(tmp_path: Path) -> None:
    done = _hpctl("evaluate", "--plant", str(RIVER), "--scenario", str(DEMO),
                  "--out", "/etc/hostname/x", "--quiet")  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert (
        "--out /etc/hostname/x: cannot make the folder: /etc/hostname is not a folder"
        in done.stderr
    )
    assert done.stdout == ""  # not even the banner that precedes the replay
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    done = _hpctl("evaluate", "--plant", str(RIVER), "--scenario", str(DEMO),
                  "--out", str(blocked), "--quiet")  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert f"--out {blocked}: not a folder" in done.stderr and done.stdout == ""
    nested = tmp_path / "new" / "report"
    assert _hpctl("evaluate", "--plant", str(RIVER), "--scenario", str(tmp_path / "none.csv"),
                  "--out", str(nested)).returncode == EXIT_BAD_INPUT  # fmt: skip
    assert not (tmp_path / "new").exists()  # checked, not made, when the input is bad


def test_a_busy_metrics_port_names_the_address(busy_port: int, tmp_path: Path) -> None:
    done = _hpctl("run", "--plant", str(RIVER), "--metrics-port", str(busy_port))
    assert done.returncode == EXIT_BAD_INPUT
    assert f"metrics endpoint 127.0.0.1:{busy_port}: cannot listen there" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_busy_sim_port_names_the_connection_and_address(busy_port: int) -> None:
    done = _hpctl("sim", "--plant", str(RIVER), "--modbus-port", str(busy_port),
                  "--opcua-port", "0")  # fmt: skip
    assert done.returncode == EXIT_BAD_INPUT
    assert f"connection 'plc': 127.0.0.1:{busy_port}: cannot listen there" in done.stderr
    assert done.stdout == ""  # nothing served


def test_os_errors_name_their_path() -> None:
    error = FileNotFoundError(2, "No such file or directory", "/nope/plant.toml")
    assert cli_args.describe_os_error(error) == "/nope/plant.toml: No such file or directory"
    assert cli_args.describe_os_error(OSError(98, "x 1.2.3.4:5: in use")) == "x 1.2.3.4:5: in use"


def test_connect_overrides_are_parsed_and_checked() -> None:
    assert cli_args.connection_override("plc=127.0.0.1:5020") == ("plc", "127.0.0.1", 5020)
    assert cli_args.connection_override("plc=[::1]:5020") == ("plc", "::1", 5020)
    for bad in ("plc", "plc=host", "=h:1", "plc=h:0", "plc=h:70000", "plc=h:x"):
        with pytest.raises(Exception, match=r"plc|NAME=HOST:PORT|outside"):
            cli_args.connection_override(bad)
    done = _hpctl("run", "--plant", str(RIVER), "--connect", "nope=127.0.0.1:1")
    assert done.returncode == EXIT_BAD_INPUT
    assert "has no connection 'nope' (its connections: plc, scada)" in done.stderr


def test_plan_prints_units_sources_defaults_and_draws_the_plot(tmp_path: Path) -> None:
    no_weather = tmp_path / "prices_only.csv"
    rows = DEMO.read_text(encoding="utf-8").splitlines()
    no_weather.write_text("\n".join(",".join(r.split(",")[:2]) for r in rows) + "\n")
    picture = tmp_path / "plots" / "plan.png"
    done = _hpctl("plan", "--plant", str(RIVER), "--scenario", str(no_weather),
                  "--start", "2024-01-10", "--horizon", "6h", "--plot", str(picture))  # fmt: skip
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "start UTC" in line)
    for unit in ("EUR/MWh", "gCO2/kWh", "outdoor °C", "demand kW", "hp1 kW", "hp2 kW",
                 "boiler kW", "elec kW", "SoC %"):  # fmt: skip
        assert unit in header
    assert "outdoor  [default] no measurement and no history: 0 °C assumed" in done.stdout
    assert "price    [scenario, then forecast]" in done.stdout
    assert "history  [scenario]" in done.stdout
    assert (
        "hpctl plan: warning: assumed input, outdoor: no measurement and no history: "
        "0 °C assumed" in done.stderr
    )
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_plan_json_names_each_input_source() -> None:
    done = _hpctl("plan", "--plant", str(RIVER), "--scenario", str(DEMO),
                  "--start", "2024-01-10T01:00+01:00", "--horizon", "3h", "--json")  # fmt: skip
    report = json.loads(done.stdout)
    assert report["steps"][0]["start_utc"].startswith("2024-01-10T00:00")
    assert report["input_sources"]["outdoor"] == "forecast"
    assert report["input_sources"]["fuel"] == "default (plant file)"
    step = report["steps"][0]
    assert set(step["unit_power_kw"]) == {"hp1", "hp2"}


async def test_run_live_names_the_metrics_address_when_the_bind_fails(
    busy_port: int, tmp_path: Path
) -> None:
    """The port taken between the check and the bind: the error still names the address."""
    from controller.app.live import run_live
    from controller.config import load_plant

    plant = load_plant(RIVER).with_control(metrics_port=busy_port, data_dir=str(tmp_path))
    with pytest.raises(OSError, match=f"metrics endpoint 127.0.0.1:{busy_port}: "):
        await run_live(plant)


@pytest.mark.parametrize("speed", ["-1", "0", "nan", "fast"])
def test_a_bad_sim_speed_is_one_line_not_a_traceback(speed: str) -> None:
    done = _hpctl("sim", "--plant", str(RIVER), "--speed", speed)
    assert done.returncode == EXIT_BAD_INPUT
    assert "argument --speed:" in done.stderr and "Traceback" not in done.stderr


def test_a_duration_with_one_bound_names_that_bound() -> None:
    at_least = cli_args.duration("h", "h", low=2.0)
    with pytest.raises(argparse.ArgumentTypeError, match="outside at least 2 hours"):
        at_least("1h")
    at_most = cli_args.duration("h", "h", high=96.0)
    with pytest.raises(argparse.ArgumentTypeError, match="outside at most 96 hours"):
        at_most("5d")
