"""Argument types and checks shared by the `hpctl` subcommands.

Durations take a unit (`90s`, `90m`, `48h`, `2d`; a plain number keeps each flag's old unit),
timestamps take any UTC offset or a plain date (read as midnight UTC) and come back in UTC,
and the places a long run will write to or listen on are checked before the run starts, so a
bad folder or a busy port is reported at once, naming the path or the address.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

from drivers.csv_input import shown

SECONDS_PER_UNIT = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-z]*)\s*$")


def parse_duration_s(text: str, default_unit: str) -> float:
    """Seconds in `text`: a positive number with a unit (s, m or min, h, d), or a plain number
    in `default_unit`. Raises ValueError saying what is allowed."""
    match = _DURATION.match(text.lower())
    unit = match.group(2) if match else ""
    if match is None or (unit and unit not in SECONDS_PER_UNIT):
        raise ValueError(
            f"'{shown(text)}' is not a duration: a number with a unit s, m, h or d "
            f"(e.g. 90s, 90m, 48h, 2d), or a plain number of {_unit_name(default_unit)}"
        )
    seconds = float(match.group(1)) * SECONDS_PER_UNIT[unit or default_unit]
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"duration '{shown(text)}' must be positive")
    return seconds


def _unit_name(unit: str) -> str:
    return {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days"}[unit]


def duration(
    default_unit: str, out_unit: str, low: float | None = None, high: float | None = None
) -> Callable[[str], float]:
    """An argparse type: a duration read as `parse_duration_s`, returned in `out_unit`, within
    [low, high] of that unit when given."""

    def convert(text: str) -> float:
        try:
            value = parse_duration_s(text, default_unit) / SECONDS_PER_UNIT[out_unit]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if (low is not None and value < low) or (high is not None and value > high):
            allowed = (
                f"{low:g}..{high:g}"
                if low is not None and high is not None
                else (f"at least {low:g}" if low is not None else f"at most {high:g}")
            )
            raise argparse.ArgumentTypeError(
                f"{text.strip()} is {value:g} {_unit_name(out_unit)}, outside "
                f"{allowed} {_unit_name(out_unit)}"
            )
        return value

    convert.__name__ = "duration"  # argparse names the type in its "invalid ..." message
    return convert


def number_list(
    text: str, out_of_range: Callable[[str, float], str | None], repeated: str, where: str = ""
) -> tuple[float, ...]:
    """A comma-separated list of distinct numbers; `out_of_range(part, value)` says what is
    wrong with one value, or None. Errors end with ` (where)` when `where` is given."""
    suffix = f" ({where})" if where else ""
    values: list[float] = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{part}' is not a number{suffix}") from None
        problem = out_of_range(part, value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem + suffix)
        values.append(value)
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"'{text}' repeats a {repeated}{suffix}")
    return tuple(values)


def parse_cli_timestamp(text: str) -> datetime:
    """A time given on the command line, in UTC: ISO 8601 with `Z` or any offset
    (`2022-11-14T00:00+01:00` is 2022-11-13T23:00Z), or a plain date (`2026-12-01`: its
    midnight, UTC). A date and time without an offset is refused: its zone would be a guess."""
    stripped = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped):
        try:
            day = date.fromisoformat(stripped)
        except ValueError as exc:
            raise ValueError(f"date '{shown(stripped)}' is not a calendar date ({exc})") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        value = datetime.fromisoformat(stripped.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"timestamp '{shown(stripped)}' is not ISO 8601 (e.g. 2024-01-08T00:00Z, "
            "2024-01-08T01:00+01:00 or a date, 2024-01-08)"
        ) from None
    if value.tzinfo is None:
        raise ValueError(
            f"timestamp '{shown(stripped)}' has no UTC offset: add Z for UTC or the local "
            "offset (e.g. +01:00), or give a plain date"
        )
    return value.astimezone(UTC)


def timestamp(text: str) -> datetime:
    """The argparse type for every timestamp option (see `parse_cli_timestamp`)."""
    try:
        return parse_cli_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def version() -> str:
    """The installed package's version (pyproject.toml)."""
    try:
        return metadata.version("hpctl")
    except metadata.PackageNotFoundError:
        return "unknown (not installed; run from a source tree)"


def add_verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept `-v` after the subcommand too (`hpctl run -v ...`), as well as before it.

    The subcommands' copies default to SUPPRESS so that leaving `-v` out after the subcommand
    does not reset a `-v` given before it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                subparser.add_argument(
                    "-v",
                    "--verbose",
                    action="store_true",
                    default=argparse.SUPPRESS,
                    help="debug logging (also accepted before the subcommand)",
                )


def options_without_help(parser: argparse.ArgumentParser, path: str = "hpctl") -> list[str]:
    """Every option and positional in the parser tree that has no help text, as 'cmd --opt'."""
    missing: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                missing.extend(options_without_help(subparser, f"{path} {name}"))
            continue
        if isinstance(action, argparse._HelpAction | argparse._VersionAction):
            continue
        if not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def check_output_dir(path: Path, option: str) -> None:
    """Make sure `path` is a writable folder or can be made one, now rather than after a long
    run, without creating anything (bad input must leave nothing behind); raises OSError
    naming the option, the path and what is wrong with it."""
    if path.exists():
        if not path.is_dir():
            raise OSError(errno.ENOTDIR, f"{option} {path}: not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise OSError(errno.EACCES, f"{option} {path}: the folder is not writable")
        return
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OSError(
            errno.ENOTDIR, f"{option} {path}: cannot make the folder: {ancestor} is not a folder"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OSError(
            errno.EACCES, f"{option} {path}: cannot make the folder: {ancestor} is not writable"
        )


def check_port_free(host: str, port: int, what: str) -> None:
    """Bind `host:port` once and let it go, so a busy or unusable address is reported before
    the long work starts, naming it. Port 0 (any free one) needs no check."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(errno.EADDRNOTAVAIL, f"{what} {host}:{port}: unknown host ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise OSError(
                exc.errno, f"{what} {host}:{port}: cannot listen there ({exc.strerror})"
            ) from None


def describe_os_error(exc: OSError) -> str:
    """An OSError as one line that names the path or address it is about, when it has one."""
    text = exc.strerror or str(exc)
    if exc.filename is not None:
        target = f"{exc.filename} -> {exc.filename2}" if exc.filename2 else str(exc.filename)
        return f"{target}: {text}"
    if exc.errno is not None and exc.strerror and str(exc) == f"[Errno {exc.errno}] {text}":
        return text
    return str(exc)


def connection_override(text: str) -> tuple[str, str, int]:
    """`NAME=HOST:PORT` (IPv6 hosts in brackets: `plc=[::1]:5020`) as (name, host, port)."""
    name, sep, where = text.partition("=")
    host, colon, port_text = where.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not (sep and colon and name.strip() and host and port_text.isdigit()):
        raise argparse.ArgumentTypeError(
            f"'{shown(text)}' is not NAME=HOST:PORT (NAME: a connection of the plant file, "
            "e.g. plc=127.0.0.1:5020)"
        )
    port = int(port_text)
    if not 0 < port <= 65535:
        raise argparse.ArgumentTypeError(f"'{shown(text)}': port {port} is outside 1..65535")
    return name.strip(), host, port


def positive_number(text: str) -> float:
    """The argparse type for a positive finite number (a speed, a factor)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{shown(text)}' is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value
