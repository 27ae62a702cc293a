"""The demo's event loop: uvloop's where installed, asyncio's otherwise; the demo runs on it."""

from __future__ import annotations

import asyncio
import builtins
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from controller.app import eventloop

ROOT = Path(__file__).resolve().parents[2]
HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


async def _loop_type() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed here")
def test_run_uses_uvloop_where_it_is_installed() -> None:
    assert eventloop.name() == "uvloop"
    assert eventloop.run(_loop_type()).startswith("uvloop")


def test_without_uvloop_asyncio_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_uvloop(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "uvloop":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    assert eventloop.name() == "asyncio"
    assert eventloop.run(_loop_type()).startswith("asyncio")


def test_hpctl_demo_runs_a_short_day_on_its_loop() -> None:
    """A few simulated minutes of `hpctl demo` in a fresh process: sockets, planner, figures."""
    done = subprocess.run(
        [sys.executable, "-m", "controller.app.cli", "demo", "--days", "0.005", "--quiet"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    header = done.stdout.splitlines()[0]
    assert header.endswith("event loop uvloop" if HAS_UVLOOP else "event loop asyncio")
    assert "86 cycles" in done.stdout
    assert "heat delivered" in done.stdout
