"""Heat-source temperature: seasonal and daily variation of a river, sea, borehole or waste heat."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from drivers.site import SourceSpec


class SourceModel:
    """Source temperature from a `SourceSpec`: its declared curve (`SourceSpec.temp_c`, the one
    formula the controller also falls back to when nothing measures the source)."""

    def __init__(self, spec: SourceSpec, timezone: str) -> None:
        self._spec = spec
        self._zone = ZoneInfo(timezone)

    def temp_c(self, now_utc: datetime) -> float:
        return self._spec.temp_c(now_utc, self._zone)
