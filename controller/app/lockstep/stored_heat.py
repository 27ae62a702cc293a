"""Stored heat: the one definition the demo and the replay report."""

from __future__ import annotations

from sim_plant.physics import PlantModel

KJ_PER_KWH = 3600.0


def stored_heat_kwh(model: PlantModel, return_temp_c: float) -> float:
    """Heat in the plant's tanks above the network's return temperature, in kWh.

    The model's own heat content (`StratifiedTank.stored_kj`, the water's constants the energy
    balance closes with), taken relative to water at the return temperature instead of 0 °C:
    the network gives water back at that temperature, so all of this heat can still be
    delivered and a run that ends with less must count the difference. Differences of it are
    exactly the model's, so a change over a run is the physical one.
    """
    total_kj = 0.0
    for tank in model.tanks:
        return_water_kj = return_temp_c * tank.spec.layers * tank.layer_heat_capacity_kj_per_k
        total_kj += tank.stored_kj() - return_water_kj
    return total_kj / KJ_PER_KWH
