"""The simulated plant as the control cycle's driver pool, with no sockets in between.

The cycle sees the plant exactly as through the drivers: by (device, role, index), only the
roles each device's point map declares (an undeclared role reads as missing, as a BAD point
would), and it writes point names that the maps translate back into the model's roles.
"""

from __future__ import annotations

import math
from datetime import datetime

from drivers.clock import Clock
from drivers.pointmap import PointMap
from sim_plant.physics import PlantModel


class ModelSnapshot:
    """A frozen moment of the model: read lazily, valid until the model steps again."""

    def __init__(
        self,
        model: PlantModel,
        declared: frozenset[tuple[str, str]],
        now: datetime,
        taken_at_s: float,
    ) -> None:
        self._model = model
        self._declared = declared
        self._now = now
        self._taken_at_s = taken_at_s

    @property
    def now_utc(self) -> datetime:
        return self._now

    @property
    def taken_at_s(self) -> float:
        return self._taken_at_s

    def value(
        self, device: str, role: str, index: int | None = None, default: float | None = None
    ) -> float | None:
        if (device, role) not in self._declared:
            return default
        reading = self._model.value(device, role, index)
        return default if math.isnan(reading) else reading


class ModelPool:
    """`DriverPoolLike` over a `PlantModel`: snapshots read the model, writes command it."""

    def __init__(self, model: PlantModel, maps: dict[str, PointMap], clock: Clock) -> None:
        self._model = model
        self._clock = clock
        self._declared = frozenset(
            (device, point.role) for device, point_map in maps.items() for point in point_map.points
        )
        self._role_of = {
            device: {point.name: point.role for point in point_map.points if point.writable}
            for device, point_map in maps.items()
        }
        self.writes_total = 0

    def snapshot(self) -> ModelSnapshot:
        return ModelSnapshot(
            self._model, self._declared, self._clock.now(), self._clock.monotonic_s()
        )

    async def write(self, device: str, values: dict[str, float]) -> None:
        roles = self._role_of[device]
        for name, value in values.items():
            self._model.command(device, roles[name], value)
        self.writes_total += len(values)
