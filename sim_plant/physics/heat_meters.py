"""Heat meters: what a meter on the network outlet or on a unit's condenser side shows.

A meter reads the same truth the physics keeps (heat flow, the two temperatures of its water
circuit, the cumulative energy); its flow follows from heat and temperature difference, as an
EN 1434 calculator relates them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.kinds import Role
from drivers.site import NETWORK, HeatMeterSpec
from sim_plant.physics.water import SECONDS_PER_HOUR, WATER_CP_KJ_PER_KG_K, WATER_DENSITY_KG_PER_M3

if TYPE_CHECKING:
    from sim_plant.physics.model import PlantModel

MIN_DIFFERENCE_K = 0.5  # below this a calculator shows no flow rather than a wild quotient


def flow_m3_per_h(heat_kw: float, supply_temp_c: float, return_temp_c: float) -> float:
    """Volume flow carrying `heat_kw` between the two temperatures (water of the model)."""
    difference_k = supply_temp_c - return_temp_c
    if difference_k < MIN_DIFFERENCE_K or heat_kw <= 0.0:
        return 0.0
    kg_per_s = heat_kw / (WATER_CP_KJ_PER_KG_K * difference_k)
    return kg_per_s / WATER_DENSITY_KG_PER_M3 * SECONDS_PER_HOUR


def meter_value(model: PlantModel, meter: HeatMeterSpec, role: Role) -> float:
    """The meter's point with this role; KeyError for a role a heat meter does not have."""
    if meter.measures == NETWORK:
        plant = model.plant_measurements
        heat_kw = plant[Role.NETWORK_HEAT_KW]
        supply_c = plant[Role.NETWORK_SUPPLY_TEMP_C]
        return_c = plant[Role.NETWORK_RETURN_TEMP_C]
        energy_kwh = model.delivered_heat_kwh
    else:
        i = model.units.index[meter.measures]
        heat_kw = float(model.units.heat_kw[i])
        supply_c = float(model.units.supply_temp_c[i])
        return_c = float(model.units.return_temp_c[i])
        energy_kwh = float(model.units.heat_kwh[i])
    if role == Role.HEAT_KW:
        return heat_kw
    if role == Role.ENERGY_KWH:
        return float(int(energy_kwh))  # the register counts whole kWh
    if role == Role.FLOW_M3_PER_H:
        return flow_m3_per_h(heat_kw, supply_c, return_c)
    if role == Role.SUPPLY_TEMP_C:
        return supply_c
    if role == Role.RETURN_TEMP_C:
        return return_c
    raise KeyError(f"heat meter '{meter.name}' has no role '{role}'")
