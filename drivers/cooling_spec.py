"""What a plant file says about a heat pump plant that also cools (a hospital on a borehole field):
the building's cooling demand and how it is met, and the borehole field the heat pumps draw on.

How the cooling is met, the order the simulator and the planner both follow:
1. The heat pumps' evaporators take heat from the chilled-water loop first (heat recovery: the
   cooling costs nothing extra while the heat pumps run for heating).
2. What the evaporators need beyond that they take from the borehole field (extraction).
3. Cooling the evaporators do not take goes into the field through a heat exchanger ("free" or
   passive cooling) while the field's fluid is cold enough for the chilled-water return, up to
   the exchanger's rating: this recharges the field in summer.
4. The rest goes to the backup chiller (with its own dry cooler), whose electricity is what
   cooling costs; what the chiller cannot take is unmet cooling.

The field's mean fluid temperature drifts with its net extraction over months and years; it must
stay within [min_fluid_temp_c, max_fluid_temp_c] (the heat pumps' low-brine protection below,
the chilled-water return above).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from drivers.bounds import AirTempC, NetworkKw, NetworkKwOrZero, SourceTempC
from drivers.schema import StrictModel

Fraction = Annotated[float, Field(ge=0, le=1)]
ChilledWaterTempC = Annotated[float, Field(ge=1, le=30)]
BrineTempC = Annotated[float, Field(ge=-15, le=40)]


class CoolingSpec(StrictModel):
    """`[cooling]` of a plant file: the cooling demand and the plant's ways to meet it."""

    design_kw: NetworkKw  # cooling demand at design_outdoor_temp_c
    # all-year part (imaging, operating theatres, server rooms), a fraction of design_kw
    base_fraction: Fraction = 0.2
    start_outdoor_temp_c: AirTempC = 12.0  # comfort cooling starts above this
    design_outdoor_temp_c: AirTempC = 30.0  # and reaches design_kw here
    supply_temp_c: ChilledWaterTempC = 6.0  # chilled water to the building
    return_temp_c: ChilledWaterTempC = 12.0  # and back
    # passive cooling into the borehole field through a heat exchanger: its rating, and the
    # smallest difference between the chilled-water return and the field's fluid it needs
    free_cooling_max_kw: NetworkKwOrZero = 0.0
    free_cooling_approach_k: Annotated[float, Field(gt=0, le=20)] = 2.0
    chiller_max_kw: NetworkKwOrZero = 0.0  # the backup chiller
    chiller_cop: Annotated[float, Field(ge=1, le=15)] = 4.0  # cooling per unit of electricity

    @model_validator(mode="after")
    def _check_temperatures(self) -> Self:
        if self.return_temp_c <= self.supply_temp_c:
            raise ValueError(
                f"return_temp_c {self.return_temp_c:g} must be above supply_temp_c "
                f"{self.supply_temp_c:g}: the building warms the chilled water"
            )
        if self.design_outdoor_temp_c <= self.start_outdoor_temp_c:
            raise ValueError(
                f"design_outdoor_temp_c {self.design_outdoor_temp_c:g} must be above "
                f"start_outdoor_temp_c {self.start_outdoor_temp_c:g}"
            )
        return self

    def demand_kw(self, outdoor_temp_c: float) -> float:
        """The building's cooling demand: the base all year plus a part rising linearly with the
        outdoor temperature from start_outdoor_temp_c to design_kw at design_outdoor_temp_c."""
        span_c = self.design_outdoor_temp_c - self.start_outdoor_temp_c
        fraction = min(1.0, max(0.0, (outdoor_temp_c - self.start_outdoor_temp_c) / span_c))
        base = self.base_fraction
        return self.design_kw * (base + (1.0 - base) * fraction)


class BoreholeFieldSpec(StrictModel):
    """`[source.borehole_field]`: a rectangular field of vertical boreholes (the source of a
    `kind = "borehole"` plant). Its response to extraction comes from its g-function."""

    boreholes_x: Annotated[int, Field(ge=1, le=50)] = 8
    boreholes_y: Annotated[int, Field(ge=1, le=50)] = 8
    depth_m: Annotated[float, Field(ge=10, le=1500)] = 200.0  # active length of each borehole
    spacing_m: Annotated[float, Field(ge=2, le=50)] = 6.0
    buried_depth_m: Annotated[float, Field(ge=0, le=50)] = 4.0  # top of the active length
    radius_m: Annotated[float, Field(ge=0.03, le=0.2)] = 0.075
    ground_conductivity_w_per_m_k: Annotated[float, Field(ge=0.3, le=7)] = 2.5
    ground_diffusivity_m2_per_s: Annotated[float, Field(ge=1e-7, le=5e-6)] = 1.0e-6
    undisturbed_ground_temp_c: SourceTempC = 9.0
    # fluid-to-borehole-wall thermal resistance per metre (grout and pipes)
    borehole_resistance_m_k_per_w: Annotated[float, Field(ge=0.01, le=1)] = 0.1
    min_fluid_temp_c: BrineTempC = -2.0  # the heat pumps' low-brine protection
    max_fluid_temp_c: BrineTempC = 16.0  # above this the field cannot take cooling any more

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        if self.min_fluid_temp_c >= self.max_fluid_temp_c:
            raise ValueError(
                f"min_fluid_temp_c {self.min_fluid_temp_c:g} must be below "
                f"max_fluid_temp_c {self.max_fluid_temp_c:g}"
            )
        if not self.min_fluid_temp_c < self.undisturbed_ground_temp_c:
            raise ValueError(
                f"undisturbed_ground_temp_c {self.undisturbed_ground_temp_c:g} must be above "
                f"min_fluid_temp_c {self.min_fluid_temp_c:g}: the field starts outside its limit"
            )
        return self

    @property
    def boreholes(self) -> int:
        return self.boreholes_x * self.boreholes_y

    @property
    def total_length_m(self) -> float:
        return self.boreholes * self.depth_m
