"""Shared by the server tests: a fake plant model and the river plant's site and maps."""

from __future__ import annotations

import logging
from pathlib import Path

from asyncua import ua

logging.getLogger("asyncua").setLevel(logging.WARNING)
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # expected timeouts would log errors

RIVER_PLANT = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"
CLIENT_TIMEOUT_S = 0.2

Key = tuple[str, str, int | None]


class FakeFaults:
    """Only the comm-drop part of the fault injector."""

    def __init__(self) -> None:
        self.dropped: set[str] = set()

    def is_comm_dropped(self, device: str) -> bool:
        return device in self.dropped


class FakeModel:
    """Shows whatever the test puts in `values`; records commands and echoes them as values."""

    def __init__(self, values: dict[Key, float] | None = None, default: float = 0.0) -> None:
        self.values: dict[Key, float] = dict(values or {})
        self.default = default
        self.commands: list[tuple[str, str, float]] = []
        self.faults = FakeFaults()

    def value(self, device: str, role: str, index: int | None = None) -> float:
        return self.values.get((device, role, index), self.default)

    def command(self, device: str, role: str, value: float) -> None:
        self.commands.append((device, role, value))
        self.values[(device, role, None)] = value


def node_id(identifier: str, namespace: int) -> ua.NodeId:
    """A string node id, typed the way asyncua's annotations want it."""
    return ua.NodeId(ua.String(identifier), ua.Int16(namespace))
