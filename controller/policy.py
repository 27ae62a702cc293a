"""Choosing the dispatch policy a controller runs with."""

from __future__ import annotations

from controller.config import Plant
from controller.cycle import RulesPolicy, TargetPolicy
from drivers.scenario import Scenario


def policy_for(plant: Plant, scenario: Scenario | None) -> TargetPolicy:
    """The rule-based stager (tank state-of-charge hysteresis with lead/lag rotation)."""
    del scenario  # the planner policy will read prices from it
    return RulesPolicy(plant)
