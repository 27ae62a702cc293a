"""Heat-source temperature: seasonal and daily variation of a river, sea, borehole or waste heat."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from drivers.site import SourceSpec

DAYS_PER_YEAR = 365.25
DAILY_PEAK_LOCAL_HOUR = 15.0  # IT load and the waste heat it makes peak mid-afternoon


class SourceModel:
    """Source temperature from a `SourceSpec`.

    mean - annual_amplitude x cos(2 pi (day - coldest_day) / 365.25): the minimum falls on the
    coldest day of the year. A daily sine with its peak at 15:00 local time stands for waste heat
    that follows the IT load. The result is clipped to [min_temp_c, max_temp_c], the range the
    source really stays within (a river does not freeze below its ice point, a cooling loop has a
    control band).
    """

    def __init__(self, spec: SourceSpec, timezone: str) -> None:
        self._spec = spec
        self._zone = ZoneInfo(timezone)

    def temp_c(self, now_utc: datetime) -> float:
        spec = self._spec
        local = now_utc.astimezone(self._zone)
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        day_of_year = local.timetuple().tm_yday + hour / 24.0
        annual = -spec.annual_amplitude_k * math.cos(
            2.0 * math.pi * (day_of_year - spec.coldest_day_of_year) / DAYS_PER_YEAR
        )
        # sin peaks a quarter period (6 h) after its zero crossing: zero at 09:00, peak at 15:00
        daily = spec.daily_amplitude_k * math.sin(
            2.0 * math.pi * (hour - (DAILY_PEAK_LOCAL_HOUR - 6.0)) / 24.0
        )
        return min(spec.max_temp_c, max(spec.min_temp_c, spec.mean_temp_c + annual + daily))
