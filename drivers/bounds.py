"""Physical ranges of the numbers in plant files, `[control]` tables and point maps.

Every number a plant file gives is finite (`StrictModel`) and inside one of these ranges, so a
typo or a placeholder cannot switch a protection off: a tank limit of 1e308 that never trips,
a heartbeat timeout of a lifetime, a unit "max supply temperature" of 0. The bounds are wide
engineering envelopes, not design values; pydantic states the bound in its error
("Input should be less than or equal to 200").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Water in a heating system: liquid, above freezing, below the ~200 degC of the hottest
# pressurised networks.
WaterTempC = Annotated[float, Field(ge=1, le=200)]
# A temperature meant to heat something (a supply, a tank's top, a unit's limit): a district
# network supplies at least ~20 degC (ultra-low-temperature grids), so 0 or -50 is a typo.
SupplyTempC = Annotated[float, Field(ge=20, le=200)]
# Outdoor air and ambient around a tank: the coldest and hottest weather on record, rounded.
AirTempC = Annotated[float, Field(ge=-60, le=60)]
# A heat source: air, sea, river and ground down to -50 degC (air), waste heat up to 100 degC.
SourceTempC = Annotated[float, Field(ge=-50, le=100)]
# A temperature difference (lift, amplitude) and a margin kept from a limit.
DeltaK = Annotated[float, Field(gt=0, le=200)]
AmplitudeK = Annotated[float, Field(ge=0, le=100)]
MarginK = Annotated[float, Field(ge=0, le=50)]

# One device's rating: above zero, below 1 GW (the largest boilers and heat pumps are far below).
DeviceKw = Annotated[float, Field(gt=0, le=1_000_000)]
# A whole network or grid connection: up to 10 GW (a capital city's district heating).
NetworkKw = Annotated[float, Field(gt=0, le=10_000_000)]
NetworkKwOrZero = Annotated[float, Field(ge=0, le=10_000_000)]
RampKwPerS = Annotated[float, Field(gt=0, le=1_000_000)]

# Delays and timeouts of protections: more than an hour is no protection.
ProtectionS = Annotated[float, Field(gt=0, le=3600)]
ProtectionSOrZero = Annotated[float, Field(ge=0, le=3600)]
# Minimum run and off times, trip resets: at most a day.
HoldS = Annotated[float, Field(ge=0, le=86_400)]
# Polling and point freshness: a value older than an hour is not a measurement.
PollS = Annotated[float, Field(gt=0, le=3600)]
# A network request's timeout.
TimeoutS = Annotated[float, Field(gt=0, le=60)]

# Storage: the largest pit stores hold about 200,000 m3.
VolumeM3 = Annotated[float, Field(gt=0, le=1_000_000)]
HeightM = Annotated[float, Field(gt=0, le=200)]
LossWPerK = Annotated[float, Field(ge=0, le=10_000_000)]

# Money and emissions.
Eur = Annotated[float, Field(ge=0, le=1_000_000)]
EurPerMwh = Annotated[float, Field(ge=0, le=100_000)]
EurPerT = Annotated[float, Field(ge=0, le=100_000)]
GramsPerKwh = Annotated[float, Field(ge=0, le=2000)]

# A point's scale and offset (engineering value = raw x scale + offset), and its write range:
# finite, and small enough that the raw value still fits a 64-bit float with room to spare.
PointNumber = Annotated[float, Field(ge=-1e12, le=1e12)]
