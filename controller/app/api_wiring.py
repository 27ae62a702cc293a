"""Wiring of the HTTP API and operator page into a live controller (`[control.api]`)."""

from __future__ import annotations

from controller.api.server import ApiServer, read_token
from controller.app.mqtt_wiring import Operations
from controller.config import Plant
from controller.runtime.dispatch import Dispatch
from drivers.clock import Clock


def build_api(plant: Plant, ops: Operations, dispatch: Dispatch, clock: Clock) -> ApiServer | None:
    """The API server for the plant, bound to its address; None when `[control.api]` is off.

    Bound here, before anything runs: a busy port or an unreadable token file stops the start
    with the address or path, and nothing is left to hand back."""
    if not plant.control.api.enabled or ops.desk is None:
        return None
    server = ApiServer(plant, ops.desk, dispatch.planner, ops.audit.path, clock, read_token(plant))
    server.bind(plant.control.api.host, plant.control.api.port)
    return server
