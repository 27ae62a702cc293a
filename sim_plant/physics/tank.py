"""Stratified hot-water storage: a stack of fully mixed layers, index 0 (bottom) to n-1 (top).

Hydraulics: producers (heat pumps, boiler) put hot water into the top layer and take the same
mass from the bottom; the network draws from the top and returns the same mass to the bottom.
The difference of the two flows moves through the stack as plug flow, discretised upwind (each
interface carries water at the temperature of the layer it leaves). Explicit in time, with as
many substeps as needed so that no layer gives away more than its own mass in one substep.

Heat: standing losses to ambient through the tank's UA, shared equally by the layers (side
wall dominates a tall tank). Buoyancy: a layer warmer than the one above it cannot stay there;
the unstable part of the stack is fully mixed (pool-adjacent-violators on equal masses), which
is what convection does within a minute. Conduction between layers is neglected: it is slow
compared with the 5 s steps and the flows.

Every term is an explicit exchange with the same layer temperatures on both sides, so mass and
energy balance exactly (to rounding): charged - discharged - losses = change in stored energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from drivers.site import TankSpec
from sim_plant.physics.water import WATER_CP_KJ_PER_KG_K, WATER_DENSITY_KG_PER_M3

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TankExchange:
    """Energy one tank exchanged during a step (kJ); all are non-negative for normal flows."""

    charged_kj: float  # producers: flow x cp x (inlet - bottom)
    discharged_kj: float  # network: flow x cp x (top - return)
    loss_kj: float  # to ambient


INITIAL_HOT_BELOW_MAX_K = 5.0


def initial_layer_temps_c(spec: TankSpec, soc: float) -> FloatArray:
    """A sharp thermocline holding exactly `soc` of the usable energy: hot above, cold below.

    The hot water sits INITIAL_HOT_BELOW_MAX_K under the tank's maximum, as units charging at
    their supply temperature leave it, unless the state of charge needs hotter water.
    """
    soc = min(1.0, max(0.0, soc))
    span_k = spec.max_temp_c - spec.min_temp_c
    hot_c = max(spec.min_temp_c + soc * span_k, spec.max_temp_c - INITIAL_HOT_BELOW_MAX_K)
    temps = np.full(spec.layers, spec.min_temp_c, dtype=np.float64)
    hot_layers = soc * spec.layers * span_k / (hot_c - spec.min_temp_c) if soc > 0 else 0.0
    full = min(spec.layers, math.floor(hot_layers))
    if full > 0:
        temps[spec.layers - full :] = hot_c
    if full < spec.layers:
        partial = hot_layers - full
        temps[spec.layers - full - 1] = spec.min_temp_c + partial * (hot_c - spec.min_temp_c)
    return temps


def mix_inversions(temps_c: FloatArray) -> FloatArray:
    """Fully mix every unstable run of equal-mass layers so temperature rises upwards."""
    if temps_c.size < 2 or bool(np.all(temps_c[1:] >= temps_c[:-1])):
        return temps_c
    sums: list[float] = []
    counts: list[int] = []
    for temp in temps_c.tolist():
        total, count = temp, 1
        while sums and sums[-1] * count > total * counts[-1]:
            total += sums.pop()
            count += counts.pop()
        sums.append(total)
        counts.append(count)
    means = [total / count for total, count in zip(sums, counts, strict=True)]
    return np.repeat(np.asarray(means, dtype=np.float64), counts)


class StratifiedTank:
    """One tank: layer temperatures and the exchanges of a time step."""

    def __init__(self, spec: TankSpec, initial_soc: float) -> None:
        self.spec = spec
        self.layer_mass_kg = spec.volume_m3 * WATER_DENSITY_KG_PER_M3 / spec.layers
        self.layer_heat_capacity_kj_per_k = self.layer_mass_kg * WATER_CP_KJ_PER_KG_K
        self._layer_ua_kw_per_k = spec.loss_w_per_k / 1000.0 / spec.layers
        self.temps_c = initial_layer_temps_c(spec, initial_soc)

    @property
    def volume_m3(self) -> float:
        return self.spec.volume_m3

    @property
    def top_temp_c(self) -> float:
        return float(self.temps_c[-1])

    @property
    def bottom_temp_c(self) -> float:
        return float(self.temps_c[0])

    def stored_kj(self) -> float:
        """Heat content relative to water at 0 °C (only differences of it mean anything)."""
        return float(self.temps_c.sum()) * self.layer_heat_capacity_kj_per_k

    def energy_above_min_kwh(self) -> float:
        """Heat above the tank's min_temp_c, layer by layer (colder layers count as zero)."""
        excess_k = np.maximum(self.temps_c - self.spec.min_temp_c, 0.0).sum()
        return float(excess_k) * self.layer_heat_capacity_kj_per_k / 3600.0

    def step(
        self,
        dt_s: float,
        charge_flow_kg_per_s: float,
        charge_temp_c: float,
        draw_flow_kg_per_s: float,
        return_temp_c: float,
    ) -> TankExchange:
        """Advance `dt_s` with the producers' and the network's flows through this tank."""
        mass_kg = self.layer_mass_kg
        cp = WATER_CP_KJ_PER_KG_K
        largest_kg = max(charge_flow_kg_per_s, draw_flow_kg_per_s) * dt_s
        substeps = max(1, math.ceil(largest_kg / mass_kg))
        h_s = dt_s / substeps
        charge_kg = charge_flow_kg_per_s * h_s
        draw_kg = draw_flow_kg_per_s * h_s
        down_kg = charge_kg - draw_kg  # positive: the stack moves down (charging)
        ambient_c = self.spec.ambient_temp_c
        loss_factor = self._layer_ua_kw_per_k * h_s / self.layer_heat_capacity_kj_per_k
        temps = self.temps_c
        charged = discharged = loss = 0.0
        for _ in range(substeps):
            bottom_c = float(temps[0])
            top_c = float(temps[-1])
            charged += charge_kg * cp * (charge_temp_c - bottom_c)
            discharged += draw_kg * cp * (top_c - return_temp_c)
            # kg·K exchanged across each interface, positive downwards, upwind temperature
            upwind = temps[1:] if down_kg >= 0 else temps[:-1]
            across = down_kg * upwind
            delta = np.zeros_like(temps)
            delta[:-1] += across
            delta[1:] -= across
            delta[-1] += charge_kg * charge_temp_c - draw_kg * top_c
            delta[0] += draw_kg * return_temp_c - charge_kg * bottom_c
            temps = temps + delta / mass_kg
            loss_k = (temps - ambient_c) * loss_factor
            loss += float(loss_k.sum()) * self.layer_heat_capacity_kj_per_k
            temps = temps - loss_k
        self.temps_c = mix_inversions(temps)
        return TankExchange(charged_kj=charged, discharged_kj=discharged, loss_kj=loss)
