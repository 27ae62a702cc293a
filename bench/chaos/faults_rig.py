"""The fault campaign's rig: the plant file, the live `hpctl run` process and the audit disk.

The controller runs as a real `hpctl run` subprocess (the same `controller.app.cli.main`),
launched through a small shim that lets the campaign step the controller's wall clock the way
an NTP step would: `WallClock.now()` adds an offset read from a file; the monotonic clock, which
the cycle schedule and the data ages use, is untouched. Nothing else in the controller changes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The controller's entry point with its wall clock shifted by the seconds in argv[1] (re-read
# at most twice a second, so a jump shows within one cycle).
CLOCK_SHIM = """
import sys, time
from datetime import timedelta
from pathlib import Path
import drivers.clock as clock

offset_file = Path(sys.argv[1])
state = {"checked": -1.0, "offset_s": 0.0}
wall_now = clock.WallClock.now

def shifted_now(self):
    mono = time.monotonic()
    if mono - state["checked"] >= 0.5:
        state["checked"] = mono
        try:
            state["offset_s"] = float(offset_file.read_text() or 0.0)
        except (OSError, ValueError):
            state["offset_s"] = 0.0
    return wall_now(self) + timedelta(seconds=state["offset_s"])

clock.WallClock.now = shifted_now
from controller.app.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _scaled(text: str, key: str, factor: float, as_int: bool = False) -> str:
    """Every `key = number` line of a plant file with the number multiplied by `factor`."""

    def scale(match: re.Match[str]) -> str:
        value = float(match.group(2)) * factor
        shown = str(max(1, math.ceil(value))) if as_int else f"{value:g}"
        return f"{match.group(1)}{shown}"

    return re.sub(rf"(?m)^(\s*{key}\s*=\s*)([0-9.]+)", scale, text)


def prepare_plant_file(
    source: Path,
    directory: Path,
    protection_scale: float,
    tank_scale: float,
    initial_soc: float | None = None,
) -> Path:
    """A copy of `source` whose point maps are found from `directory`, with the units'
    protection times (min run, min off, start-up delay) times `protection_scale`, the starts
    allowed per hour divided by it, and the tanks' volume times `tank_scale` (and the simulator's initial state of charge): the same plant
    on a faster time scale, so that a campaign of minutes sees many switching decisions and
    the tank's high limit in reach. The observer judges against the copy's values."""
    text = source.read_text()
    text = text.replace(
        'pointmap = "../pointmaps/', f'pointmap = "{source.parent.parent}/pointmaps/'
    )
    if protection_scale != 1.0:
        for key in ("min_run_s", "min_off_s", "startup_delay_s"):
            text = _scaled(text, key, protection_scale)
        text = _scaled(text, "max_starts_per_hour", 1.0 / protection_scale, as_int=True)
    if tank_scale != 1.0:
        text = _scaled(text, "volume_m3", tank_scale)
    if initial_soc is not None:
        if re.search(r"(?m)^\s*initial_soc\s*=", text):
            text = re.sub(r"(?m)^(\s*initial_soc\s*=\s*)[0-9.]+", rf"\g<1>{initial_soc}", text)
        elif "[sim]\n" in text:
            text = text.replace("[sim]\n", f"[sim]\ninitial_soc = {initial_soc}\n", 1)
        else:
            text += f"\n[sim]\ninitial_soc = {initial_soc}\n"
    path = directory / "plant.toml"
    path.write_text(text)
    return path


def serve_plant_file(
    path: Path, ports: dict[str, int], data_dir: Path, metrics_port: int, mqtt_port: int
) -> None:
    """Point the plant file at the served ports, its data in `data_dir`, MQTT on the broker."""
    text = path.read_text()
    for name, port in ports.items():
        pattern = rf"(\[connections\.{re.escape(name)}\][^\[]*?port\s*=\s*)\d+"
        text, found = re.subn(pattern, rf"\g<1>{port}", text, count=1)
        if not found:
            raise ValueError(f"{path}: no port for connection '{name}'")
    control = (
        f'[control]\ndata_dir = "{data_dir}"\nmetrics_port = {metrics_port}\n'
        f'metrics_host = "127.0.0.1"\n'
    )
    if "[control]\n" not in text:
        raise ValueError(f"{path}: no [control] table")
    text = text.replace("[control]\n", control, 1)
    text += f'\n[control.mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {mqtt_port}\n'
    path.write_text(text)


@dataclass
class ControllerProcess:
    """One `hpctl run` at a time; `start` again after a kill is a restart on the same files."""

    plant_file: Path
    metrics_port: int
    clock_offset_file: Path
    log_file: Path
    repo: Path = REPO  # the checkout whose controller code runs
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)  # unexpected exit codes

    def start(self) -> None:
        self.clock_offset_file.write_text("0")
        env = {**os.environ, "PYTHONPATH": str(self.repo)}
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    CLOCK_SHIM,
                    str(self.clock_offset_file),
                    "run",
                    "--plant",
                    str(self.plant_file),
                ],
                cwd=self.repo,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the controller is not running")
        return self.process.pid

    def exited(self) -> int | None:
        """The exit code when the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL: no hand-back, no flush, nothing the process can do about it."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum: signal.Signals) -> None:
        """Signal the process; one that already ended is left to the crash check."""
        with contextlib.suppress(ProcessLookupError, RuntimeError):
            os.kill(self.pid, signum)

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM: the controller hands the units back and exits; its exit code."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def set_clock_offset(self, offset_s: float) -> None:
        self.clock_offset_file.write_text(f"{offset_s:.3f}")

    def healthz(self) -> dict[str, object] | None:
        """The /healthz body (200 or 503 alike), or None when nothing answers."""
        url = f"http://127.0.0.1:{self.metrics_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                body: dict[str, object] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as error:
            loaded: dict[str, object] = json.loads(error.read())
            return loaded
        except (OSError, ValueError):
            return None

    def metric(self, name: str, labels: str = "") -> float | None:
        """One sample from /metrics (`labels` as exposed, e.g. `kind="manual"`)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                text = response.read().decode()
        except (OSError, ValueError):
            return None
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in text.splitlines():
            key, _, value = line.rpartition(" ")
            if key == wanted:
                return float(value)
        return None


def audit_rows(path: Path) -> tuple[int, int]:
    """(rows, highest id) committed in the audit store, read by a separate connection."""
    if not path.exists():
        return 0, 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        count, highest = connection.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM audit"
        ).fetchone()
        return int(count), int(highest)
    finally:
        connection.close()


def audit_rows_up_to(path: Path, highest_id: int) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        (count,) = connection.execute(
            "SELECT count(*) FROM audit WHERE id <= ?", (highest_id,)
        ).fetchone()
        return int(count)
    finally:
        connection.close()


@dataclass
class AuditDisk:
    """The controller's data directory on a small tmpfs of its own, so it can be filled."""

    mount_point: Path
    size_mb: int = 32
    mounted: bool = False
    filler: Path | None = None

    def mount(self) -> bool:
        self.mount_point.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m", "tmpfs", str(self.mount_point)],
            capture_output=True,
        )
        self.mounted = result.returncode == 0
        return self.mounted

    def fill(self) -> None:
        """Write zeros until the disk is full (ENOSPC), keeping what the controller wrote."""
        self.filler = self.mount_point / "chaos-filler"
        block = b"\0" * (1 << 20)
        with self.filler.open("wb", buffering=0) as out:
            try:
                while True:
                    out.write(block)
            except OSError:
                pass
            small = b"\0" * 4096
            try:
                while True:
                    out.write(small)
            except OSError:
                pass

    def free(self) -> None:
        if self.filler is not None:
            self.filler.unlink(missing_ok=True)
            self.filler = None

    def unmount(self) -> None:
        self.free()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.mount_point)], capture_output=True)
            self.mounted = False
