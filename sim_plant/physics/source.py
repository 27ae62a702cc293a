"""Heat source: the temperature of a river, sea, borehole or waste heat, and for a data centre's
cooling loop the heat it offers (drivers/datacentre.py: one model with the planner's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from drivers.site import SourceSpec


@dataclass(frozen=True, slots=True)
class SourceConditions:
    """The source during one step."""

    temp_c: float
    recoverable_kw: float | None  # what the evaporators may take; None: no limit (a river)
    it_load_kw: float | None  # a data centre's IT power; None for other sources


class SourceModel:
    """Source conditions from a `SourceSpec`: its declared curve (`SourceSpec.temp_c`, the one
    formula the controller also falls back to when nothing measures the source), or a data
    centre's loop at the given IT load (its default profile when none is given)."""

    def __init__(self, spec: SourceSpec, timezone: str) -> None:
        self._spec = spec
        self._zone = ZoneInfo(timezone)

    def temp_c(self, now_utc: datetime) -> float:
        return self._spec.temp_c(now_utc, self._zone)

    def conditions(self, now_utc: datetime, it_load_kw: float | None = None) -> SourceConditions:
        loop = self._spec.recoverable(now_utc, self._zone, it_load_kw)
        if loop is None:
            return SourceConditions(self.temp_c(now_utc), None, None)
        return SourceConditions(loop.temp_c, loop.heat_kw, loop.it_load_kw)
