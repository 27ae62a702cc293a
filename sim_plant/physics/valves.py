"""Motorised isolation valves: the position follows the command at a fixed speed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from drivers.site import ValveSpec

FloatArray = npt.NDArray[np.float64]
SAFE_POSITION_PCT = 100.0  # the point map's safe default: open, so local control has flow


class ValveBank:
    """All valves as arrays. A stuck actuator keeps its position and reports `fault` = 1."""

    def __init__(self, specs: list[ValveSpec]) -> None:
        self.names = [spec.name for spec in specs]
        self.index = {name: i for i, name in enumerate(self.names)}
        count = len(specs)
        self._rate_pct_per_s = np.array([100.0 / spec.travel_time_s for spec in specs])
        self.position_pct: FloatArray = np.full(count, SAFE_POSITION_PCT)
        self.command_pct: FloatArray = np.full(count, SAFE_POSITION_PCT)
        self.stuck = np.zeros(count, dtype=bool)

    def step(self, dt_s: float) -> None:
        if not self.names:
            return
        limit = self._rate_pct_per_s * dt_s
        move = np.clip(self.command_pct - self.position_pct, -limit, limit)
        self.position_pct = np.where(self.stuck, self.position_pct, self.position_pct + move)

    def command(self, valve: str, position_pct: float) -> None:
        self.command_pct[self.index[valve]] = min(100.0, max(0.0, position_pct))
