"""`hpctl run`: the controller against a real plant (or a separate `hpctl sim`) on the wall clock.

Long-lived tasks (polling, the cycle) run under one task group. SIGTERM or SIGINT stops the
cycle, hands every unit back to its local control, then closes the connections.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from controller.app.api_wiring import build_api
from controller.app.mqtt_wiring import Operations, open_state
from controller.config import Plant
from controller.runtime.cycle import ControlCycle
from controller.runtime.dispatch import Dispatch, build_dispatch
from controller.runtime.market import FileMarket, MarketFeed
from controller.runtime.outputs import HandBack
from controller.runtime.persist import HistoryStore
from controller.telemetry.metrics import ControllerMetrics
from controller.telemetry.sdnotify import SystemdNotifier
from controller.telemetry.sources import MetricSources
from drivers.clock import Clock, WallClock
from drivers.pool import DriverPool

log = logging.getLogger(__name__)


async def run_live(plant: Plant, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        return await _run(plant, stop)
    finally:
        # the loop may outlive us (an embedding program, a test): give the signals back
        for signum in signals:
            loop.remove_signal_handler(signum)


@dataclass
class LiveController:
    """The parts of one live controller, wired; `_run` starts and stops them."""

    dispatch: Dispatch
    ops: Operations
    cycle: ControlCycle
    metrics: ControllerMetrics
    store: HistoryStore

    def close(self) -> None:
        """Close what the wiring opened (audit and state stores, metrics, history store)."""
        self.ops.close()
        self.metrics.close()
        self.store.close()


def compose_live(plant: Plant, pool: DriverPool, clock: Clock) -> LiveController:
    """Wire the controller: dispatch, operations (audit; desk and bridge with MQTT), the cycle
    asking the operations' policy, and metrics reading every part. Nothing runs yet."""
    state, mqtt_market = open_state(plant, clock, _data_dir(plant))  # MQTT on: kept, restored
    market = _market(plant) or mqtt_market  # a price file wins over MQTT updates
    dispatch = build_dispatch(plant, market, clock)
    store = HistoryStore(_data_dir(plant) / "unit_history.sqlite3")
    ops = Operations.build(plant, clock, dispatch, _data_dir(plant), mqtt_market, state)
    cycle = ControlCycle(plant, pool, clock, ops.policy, history_store=store)
    sources = MetricSources(
        health=pool.health,
        clock=clock,
        planner=dispatch.planner,
        forecaster=dispatch.planner.forecaster if dispatch.planner is not None else None,
        policy=dispatch.policy,
        market=market,
        bridge=ops.bridge,
        audit=ops.audit,
        overrides=ops.desk,
        cycle=cycle,
    )
    metrics = ControllerMetrics(plant.site, sources, control=plant.control)
    for observer in (metrics, *ops.observers):
        cycle.add_observer(observer)
    return LiveController(dispatch, ops, cycle, metrics, store)


async def _run(plant: Plant, stop: asyncio.Event) -> int:
    clock = WallClock()
    async with DriverPool(plant.site, plant.maps, clock) as pool:
        live = compose_live(plant, pool, clock)
        dispatch, ops, cycle, metrics = live.dispatch, live.ops, live.cycle, live.metrics
        try:
            port = metrics.serve(plant.control.metrics_host, plant.control.metrics_port)
        except OSError as exc:  # the port is taken: nothing ran, so there is nothing to hand back
            live.close()
            where = f"{plant.control.metrics_host}:{plant.control.metrics_port}"
            raise OSError(exc.errno, f"metrics endpoint {where}: {exc.strerror or exc}") from None
        try:
            api = build_api(plant, ops, dispatch, clock)
        except Exception:  # a port taken, a token unreadable: nothing ran, nothing to hand back
            live.close()
            raise
        mode = "read-only (nothing is written)" if plant.control.read_only else "controlling"
        log.info(
            "plant %s: %s, cycle %.1f s, metrics on http://%s:%d/metrics",
            plant.site.plant.name,
            mode,
            plant.control.cycle_s,
            plant.control.metrics_host,
            port,
        )
        systemd = SystemdNotifier(clock)
        cycle.add_observer(systemd)
        try:
            async with asyncio.TaskGroup() as group:
                polling = group.create_task(pool.run_polling(), name="poll-devices")
                planning = None
                if dispatch.planner is not None:
                    cycle.add_observer(dispatch.planner)
                    planning = group.create_task(dispatch.planner.run(stop), name="planner")
                if ops.bridge is not None:
                    group.create_task(ops.bridge.run(stop), name="mqtt-bridge")
                if api is not None:
                    cycle.add_observer(api)
                    group.create_task(api.serve(stop), name="http-api")
                    log.info("operator page and API on %s", api.url)
                await cycle.run(stop)
                polling.cancel()
                if planning is not None:
                    planning.cancel()
        finally:
            systemd.stopping()
            hand_back = await cycle.hand_back()  # read-only: nothing written, nothing to undo
            for device, error in hand_back.failed.items():
                log.error("hand-back to local control failed for %s: %s", device, error)
            ops.stopped(hand_back, clock.now())
            if api is not None:
                api.close()
            live.close()
            _log_hand_back(hand_back)
    return 0


def _log_hand_back(hand_back: HandBack) -> None:
    """Say what the shutdown really did: a hand-back that reached no device is no hand-back."""
    outcome = hand_back.outcome
    if outcome == "not_attempted":
        log.info("stopped (read-only: nothing written, nothing to hand back)")
    elif outcome == "complete":
        log.info("stopped; units handed back to local control")
    elif outcome == "failed":
        log.error(
            "stopped; the hand-back reached no device: the units return to local control only "
            "when their heartbeat times out"
        )
    else:
        log.warning(
            "stopped; handed back to local control except %s (those follow at their heartbeat "
            "timeout)",
            ", ".join(sorted(hand_back.failed)),
        )


def _market(plant: Plant) -> MarketFeed | None:
    price_file = plant.control.market.price_file
    if price_file is None:
        return None
    path = (plant.path.parent / price_file).resolve()
    return FileMarket(path, plant.control.planner.publication_time, plant.site.plant.timezone)


def _data_dir(plant: Plant) -> Path:
    """The plant's data directory: absolute, or relative to the plant file."""
    path = Path(plant.control.data_dir)
    return path if path.is_absolute() else (plant.path.parent / path).resolve()
