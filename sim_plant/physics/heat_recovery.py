"""The heat pumps' share of a data centre's recovered heat, and the dry coolers' rest.

The evaporators cannot take more heat than the servers put into the loop: when the units ask
for more, the loop's warm side falls towards its cold side and each unit's evaporator
protection (low source temperature, low suction pressure) unloads the compressor. Modelled as
that end state: every running unit unloads by the same factor, at its COP of the step, until
the evaporators take exactly the recoverable heat. The data centre's dry coolers reject what the
heat pumps leave.
"""

from __future__ import annotations

import numpy as np

from sim_plant.physics.heat_pumps import HeatPumpBank
from sim_plant.physics.water import SECONDS_PER_HOUR


def evaporator_kw(units: HeatPumpBank) -> float:
    """Heat the running units take from their source now: heat output minus electric power."""
    running = units.heat_kw > 0
    return float((units.heat_kw - units.power_kw)[running].sum())


def limit_to_recoverable(units: HeatPumpBank, recoverable_kw: float, dt_s: float) -> float:
    """Unload the units of this step so their evaporators take at most `recoverable_kw`; the
    step's heat and electricity counters are corrected with them. Returns the heat taken."""
    taken_kw = evaporator_kw(units)
    if taken_kw <= recoverable_kw or taken_kw <= 0.0:
        return taken_kw
    keep = max(0.0, recoverable_kw) / taken_kw
    running = units.heat_kw > 0
    cut_heat_kw = units.heat_kw * (1.0 - keep)
    cut_power_kw = np.where(running, units.power_kw * (1.0 - keep), 0.0)
    hours = dt_s / SECONDS_PER_HOUR
    units.heat_kw = units.heat_kw - cut_heat_kw
    units.power_kw = units.power_kw - cut_power_kw
    units.heat_kwh -= cut_heat_kw * hours
    units.electricity_kwh -= cut_power_kw * hours
    # the source water cools in proportion to the heat taken from it
    units.source_out_temp_c = units.source_in_temp_c - keep * (
        units.source_in_temp_c - units.source_out_temp_c
    )
    return evaporator_kw(units)
