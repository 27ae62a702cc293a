"""The one heat-pump model: COP from the four water temperatures (both glides).

It lives in `drivers`, the lowest layer, because both the controller (planner, merit order,
regret, overrides) and the simulator (`sim_plant`) must call the same function, and `sim_plant`
may not import `controller`. It is pure: numbers (or numpy arrays, one element per unit) in,
COP out; no I/O.

The model is the approximation of Jensen et al. (2018), "Heat pump COP, part 2: Generalized COP
estimation of heat pump processes" (13th IIR Gustav Lorentzen Conference), in the form PyPSA-Eur
uses for district-heating heat pumps (scripts/build_cop_profiles/CentralHeatingCopApproximator.py,
https://github.com/PyPSA/pypsa-eur, MIT; defaults from Pieper et al. 2020): the ideal Lorenz COP
on log-mean sink and source temperatures, corrected for the heat-exchanger pinch, the
refrigerant's own temperature glide against the sink and the source, the expansion losses (ratio
of evaporation to compression work), the compressor's isentropic efficiency (the one calibrated
number per unit) and a heat loss fraction. Written here from the published equations.

Defrost (air sources only, where the unit declares it): below a threshold source temperature the
COP is multiplied by a factor, the icing correction of oemof-thermal's `calc_cops`
(https://github.com/oemof/oemof-thermal, compression_heatpumps_and_chillers; its examples use
2 degC and 0.8).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from drivers.site import UnitSpec

KELVIN_OFFSET = 273.15
PINCH_K = 5.0  # heat-exchanger pinch, Pieper et al. 2020 / PyPSA-Eur default
ISENTROPIC_EFFICIENCY_DEFAULT = 0.8  # PyPSA-Eur default; reproduces the published cases
# Below this lift (sink outlet minus source inlet) no real compressor works at the Lorenz
# limit; the model holds the lift here (Zajacs et al. 2020, after Meggers et al. 2010; PyPSA-Eur
# uses 10 K and returns 0 below it, which the planner could not divide by)
MIN_LIFT_K = 10.0
COP_MAX = 8.0  # no MW unit exceeds this; also keeps the planner's power finite
COP_MIN = 1.0  # a compressor at worst turns its electricity into heat
# a unit's own controller keeps its supply at least this far over its condenser inlet (the
# simulator models that controller; the planner plans with the same rule)
MIN_CONDENSER_DT_K = 5.0
# the rating point at which a legacy `carnot_efficiency` is converted (see `legacy_efficiency`):
# one of the published reference cases, sink 45 -> 75 degC, source 10 -> 4 degC
RATING_SINK_IN_C, RATING_SINK_OUT_C = 45.0, 75.0
RATING_SOURCE_IN_C, RATING_SOURCE_OUT_C = 10.0, 4.0
LEGACY_APPROACH_K = 3.0  # the approach of the model that `carnot_efficiency` belonged to

Refrigerant = Literal["ammonia", "isobutane"]
# Jensen et al.'s fits per refrigerant: the refrigerant-to-sink temperature difference
# (a x (T_sink_out - T_source_out + 2 pinch) + b x sink glide + c) and the ratio of evaporation
# to compression work (same form)
_SINK_DT = {"ammonia": (0.2, 0.2, 0.016), "isobutane": (-0.0011, 0.3, 2.4)}
_WORK_RATIO = {"ammonia": (0.0014, -0.0015, 0.039), "isobutane": (0.0035, -0.0033, 0.053)}

Temps = TypeVar("Temps", float, npt.NDArray[np.float64])


Coefficients = tuple[float | npt.NDArray[np.float64], ...]


def _coefficients(
    table: dict[str, tuple[float, float, float]], refrigerant: Refrigerant | Sequence[Refrigerant]
) -> Coefficients:
    # one refrigerant, or one per unit (the simulator's bank)
    if isinstance(refrigerant, str):
        return table[refrigerant]
    rows = np.array([table[name] for name in refrigerant], dtype=np.float64)
    return rows[:, 0], rows[:, 1], rows[:, 2]


def _log_mean(hot_k: Temps, cold_k: Temps) -> Temps:
    # where the two are (nearly) equal the log mean is their mean: no 0/0
    hot = np.asarray(hot_k, dtype=np.float64)
    cold = np.asarray(cold_k, dtype=np.float64)
    close = np.abs(hot - cold) < 1e-6
    ratio = np.where(close, 2.0, hot / np.where(close, 1.0, cold))
    mean = np.where(close, (hot + cold) / 2.0, (hot - cold) / np.log(ratio))
    return mean if mean.ndim else float(mean)  # type: ignore[return-value]


def lorenz_cop(
    sink_in_c: Temps,
    sink_out_c: Temps,
    source_in_c: Temps,
    source_out_c: Temps,
    isentropic_efficiency: float | npt.NDArray[np.float64],
    *,
    refrigerant: Refrigerant | Sequence[Refrigerant] = "ammonia",
    pinch_k: float = PINCH_K,
    heat_loss_fraction: float | npt.NDArray[np.float64] = 0.0,
) -> Temps:
    """COP of a heat pump heating water from `sink_in_c` to `sink_out_c` while cooling its
    source from `source_in_c` to `source_out_c` (degC; floats or arrays of one shape).

    Held within [COP_MIN, COP_MAX]; a sink inlet above the outlet counts as no sink glide, a
    source outlet above the inlet as no source glide, a lift below MIN_LIFT_K as MIN_LIFT_K.
    """
    sink_out_k = np.asarray(sink_out_c, dtype=np.float64) + KELVIN_OFFSET
    sink_in_k = np.minimum(np.asarray(sink_in_c, dtype=np.float64) + KELVIN_OFFSET, sink_out_k)
    source_in_k = np.minimum(
        np.asarray(source_in_c, dtype=np.float64) + KELVIN_OFFSET, sink_out_k - MIN_LIFT_K
    )
    source_out_k = np.minimum(
        np.asarray(source_out_c, dtype=np.float64) + KELVIN_OFFSET, source_in_k
    )
    sink_mean_k = _log_mean(sink_out_k, sink_in_k)
    source_mean_k = _log_mean(source_in_k, source_out_k)
    lift_k = np.maximum(sink_mean_k - source_mean_k, MIN_LIFT_K)
    sink_glide_k = sink_out_k - sink_in_k
    spread_k = sink_out_k - source_out_k + 2.0 * pinch_k
    a, b, c = _coefficients(_SINK_DT, refrigerant)
    refrigerant_sink_k = a * spread_k + b * sink_glide_k + c
    refrigerant_source_k = (source_in_k - source_out_k) / 2.0
    a, b, c = _coefficients(_WORK_RATIO, refrigerant)
    work_ratio = a * spread_k + b * sink_glide_k + c
    correction = (1.0 + (refrigerant_sink_k + pinch_k) / sink_mean_k) / (
        1.0 + (refrigerant_sink_k + refrigerant_source_k + 2.0 * pinch_k) / lift_k
    )
    eta = np.asarray(isentropic_efficiency, dtype=np.float64)
    cop = (sink_mean_k / lift_k) * correction * eta * (1.0 - work_ratio) + 1.0 - eta
    cop = np.clip(cop - heat_loss_fraction, COP_MIN, COP_MAX)
    return cop if cop.ndim else float(cop)  # type: ignore[return-value]


def defrost_factor(
    source_in_c: Temps,
    below_c: float | npt.NDArray[np.float64],
    factor: float | npt.NDArray[np.float64],
) -> Temps:
    """The COP multiplier for defrosting: `factor` where the source is below `below_c`, else 1
    (a unit without defrost: below_c = -inf)."""
    result = np.where(np.asarray(source_in_c, dtype=np.float64) < below_c, factor, 1.0)
    return result if result.ndim else float(result)  # type: ignore[return-value]


def capacity_fraction(spec: UnitSpec, source_in_c: float) -> float:
    """The share of `heat_max_kw` the unit delivers at this source temperature (1 when the unit
    declares no capacity curve): linear between the declared points, flat outside them."""
    curve = spec.capacity_by_source_temp
    if not curve:
        return 1.0
    temps = [point[0] for point in curve]
    fractions = [point[1] for point in curve]
    return float(np.interp(source_in_c, temps, fractions))


def unit_cop(
    spec: UnitSpec, sink_in_c: float, sink_out_c: float, source_in_c: float, source_out_c: float
) -> float:
    """A unit's COP at these four temperatures, defrost included (the simulator runs the same
    two functions over all its units at once)."""
    cop = lorenz_cop(
        sink_in_c,
        sink_out_c,
        source_in_c,
        source_out_c,
        spec.compressor_efficiency,
        refrigerant=spec.refrigerant,
        heat_loss_fraction=spec.heat_loss_fraction,
    )
    below_c = spec.defrost_below_source_temp_c
    factor = defrost_factor(
        source_in_c, -math.inf if below_c is None else below_c, spec.defrost_cop_factor
    )
    return max(COP_MIN, cop * factor)


def legacy_efficiency(carnot_efficiency: float) -> float:
    """The isentropic efficiency that gives, at the rating point, the COP the old model gave a
    unit declared with `carnot_efficiency` (a fraction of Carnot on the supply temperature plus
    a 3 K approach and the source minus 3 K): old plant files keep their COP there.

    The model is linear in the efficiency (COP = 1 + eta x (A - 1) with A the corrected Lorenz
    term), so the conversion is exact.
    """
    sink_k = RATING_SINK_OUT_C + LEGACY_APPROACH_K + KELVIN_OFFSET
    source_k = RATING_SOURCE_IN_C - LEGACY_APPROACH_K + KELVIN_OFFSET
    target = carnot_efficiency * sink_k / (sink_k - source_k)
    at_one = lorenz_cop(
        RATING_SINK_IN_C, RATING_SINK_OUT_C, RATING_SOURCE_IN_C, RATING_SOURCE_OUT_C, 1.0
    )
    return (target - 1.0) / (at_one - 1.0)
