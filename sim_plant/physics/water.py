"""Water properties used throughout the physics.

One fixed density and heat capacity (hot water around 70 °C) keep every energy account exact
and consistent with `drivers.site.TankSpec.capacity_kwh`, which uses the same numbers.
"""

from __future__ import annotations

WATER_DENSITY_KG_PER_M3 = 975.0
WATER_CP_KJ_PER_KG_K = 4.19
KELVIN_OFFSET = 273.15
SECONDS_PER_HOUR = 3600.0
