"""Choosing and wiring the dispatch policy a controller runs with."""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import ConfigError, Plant
from controller.cycle import RulesPolicy, TargetPolicy
from controller.market import MarketFeed
from controller.planning import PlannerService, PlanPolicy
from drivers.clock import Clock


@dataclass
class Dispatch:
    """The policy the cycle asks for targets, and the planner behind it (None for rules)."""

    policy: TargetPolicy
    planner: PlannerService | None


def build_dispatch(plant: Plant, market: MarketFeed | None, clock: Clock) -> Dispatch:
    """`policy = "planner"` needs a market feed; without one the rules run (and say so)."""
    if plant.control.policy == "planner":
        if market is None:
            raise ConfigError(
                f"{plant.path}: policy 'planner' needs prices: set [control.market] price_file "
                "or use policy = 'rules'"
            )
        planner = PlannerService(plant, market, clock)
        return Dispatch(policy=PlanPolicy(plant, planner), planner=planner)
    return Dispatch(policy=RulesPolicy(plant), planner=None)
