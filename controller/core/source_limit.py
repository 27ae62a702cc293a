"""What a data centre's cooling loop lets the heat pumps take over a horizon: the planner's
forecast of the recoverable heat (drivers/datacentre.py), the one model the simulator runs on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from drivers.site import SiteConfig


def recoverable_forecast_kw(
    site: SiteConfig, steps_utc: Sequence[datetime]
) -> tuple[float, ...] | None:
    """The recoverable heat at each step from the default IT-load profile (a plant does not
    know its IT load ahead); None for a source without a limit (a river, the sea, boreholes)."""
    timezone = ZoneInfo(site.plant.timezone)
    heat_kw: list[float] = []
    for when in steps_utc:
        loop = site.source.recoverable(when, timezone)
        if loop is None:
            return None
        heat_kw.append(loop.heat_kw)
    return tuple(heat_kw)
