"""What the world outside the plant is at each step of a lockstep run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from drivers.scenario import Scenario
from sim_plant.physics import Boundary
from sim_plant.runner import scenario_boundary


@dataclass(frozen=True)
class Instant:
    """One step's outside world: the physics' boundary and the tariff its electricity pays."""

    boundary: Boundary
    price_eur_per_mwh: float = 0.0
    carbon_g_per_kwh: float = 0.0


# (steps done since the run began, the step's start) -> the outside world during that step
Conditions = Callable[[int, datetime], Instant]


def scenario_conditions(
    scenario: Scenario, outdoor_default_c: float, carbon_default_g_per_kwh: float
) -> Conditions:
    """Boundary and tariff from the scenario row in force; gaps take the site's defaults."""
    boundary_at = scenario_boundary(scenario, outdoor_default_c)

    def at(step: int, now_utc: datetime) -> Instant:
        row = scenario.at(now_utc)
        carbon = row.carbon_g_per_kwh
        return Instant(
            boundary=boundary_at(now_utc),
            price_eur_per_mwh=row.price_eur_per_mwh,
            carbon_g_per_kwh=carbon if carbon is not None else carbon_default_g_per_kwh,
        )

    return at


@dataclass
class FixedOutdoor:
    """A steady outdoor temperature (a test can change it between runs); demand and source
    from the site's own models; no tariff."""

    outdoor_temp_c: float

    def __call__(self, step: int, now_utc: datetime) -> Instant:
        return Instant(Boundary(now_utc=now_utc, outdoor_temp_c=self.outdoor_temp_c))
