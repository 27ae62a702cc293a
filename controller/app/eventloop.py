"""The event loop the demo runs on: uvloop's where it is installed, asyncio's otherwise.

The demo is the controller and the simulated plant in one process, one loop: every Modbus and
OPC UA request crosses loopback and several loop passes. uvloop (libuv, in C) does those passes
and the socket calls for less CPU; on the demo day that is about a tenth of the wall time
(README, Performance). Nothing in the demo depends on which loop runs it: each phase of a
lockstep step completes before the next begins, so the figures are the same on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's `new_event_loop`, or None (asyncio's default loop) where uvloop is missing."""
    try:
        import uvloop
    except ImportError:  # not installed (it is a dependency on Linux and macOS only)
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def name() -> str:
    """The loop `run` uses, for the demo's header line."""
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the loop `loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
