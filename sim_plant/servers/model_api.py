"""What the servers need from the plant model: values to show, commands to apply, comm faults.

Written as protocols so the servers depend on behaviour, not on the physics package: the real
`sim_plant.physics.PlantModel` satisfies them, and so does a small fake in a unit test.
"""

from __future__ import annotations

from typing import Protocol


class CommFaults(Protocol):
    """The part of the fault injector the servers consult on every request."""

    def is_comm_dropped(self, device: str) -> bool:
        """True while `device` must not answer (Modbus: no reply; OPC UA: Bad status)."""
        ...


class ServedModel(Protocol):
    """A plant model as the protocol servers see it."""

    @property
    def faults(self) -> CommFaults: ...

    def value(self, device: str, role: str, index: int | None = None) -> float:
        """The engineering value the point with this role (and index) shows now."""
        ...

    def command(self, device: str, role: str, value: float) -> None:
        """Apply a write from the controller to a writable point, in engineering units."""
        ...
