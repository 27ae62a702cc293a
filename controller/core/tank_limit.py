"""The tank's high limit as the plan and the plan follower see it (pure).

The `tank_high_temp` interlock stops all heat input once a tank's top is within
`tank_high_margin_k` of its `max_temp_c`; the stager already trims to minimum load
`high_limit_soft_band_k` before that. A plan that counts on the tank up to a state of charge
whose top is past that band drives the units into the interlock: the planner's storage band
ends where a tank, fully mixed, sits at the start of the soft band, and the follower stops the
units whose minimum load the tank can no longer take once its top is in the band's upper half.

A state of charge is the mean over the layers of (temperature - min) / (max - min), so a tank
whose every layer is at T holds (T - min) / (max - min); a stratified tank with the same
energy has a hotter top, which is why the band is counted from the soft band's start and not
from the interlock itself.
"""

from __future__ import annotations

from controller.config import ControlConfig
from controller.core.estimate import PlantState
from drivers.site import SiteConfig


def top_limit_c(max_temp_c: float, control: ControlConfig) -> float:
    """The top temperature at which the stager starts trimming: the soft band's start."""
    return max_temp_c - control.safety.tank_high_margin_k - control.staging.high_limit_soft_band_k


def soc_below_high_limit(site: SiteConfig, control: ControlConfig) -> float:
    """The state of charge of the plant's tanks, each fully mixed at its `top_limit_c`.

    Weighted by capacity, like the plant's state of charge; 1.0 for a plant without tanks.
    """
    capacity = sum(tank.capacity_kwh for tank in site.tanks)
    if capacity <= 0.0:
        return 1.0
    held = 0.0
    for tank in site.tanks:
        span_k = tank.max_temp_c - tank.min_temp_c
        fraction = (top_limit_c(tank.max_temp_c, control) - tank.min_temp_c) / span_k
        held += tank.capacity_kwh * min(1.0, max(0.0, fraction))
    return held / capacity


def near_high_limit(state: PlantState, site: SiteConfig, control: ControlConfig) -> bool:
    """Some tank's top is in the upper half of the soft band below its interlock.

    The lower half is the stager's (minimum load); a tank that charges on at minimum load
    through the upper half is one the follower stops heating.
    """
    half_band_k = control.staging.high_limit_soft_band_k / 2.0
    return any(
        tank.top_temp_c is not None
        and tank.top_temp_c >= top_limit_c(spec.max_temp_c, control) + half_band_k
        for tank, spec in zip(state.tanks, site.tanks, strict=True)
    )
