"""The dispatch policies: how the cycle's targets are chosen (plan follower or rules), and choosing one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from controller.config import ConfigError, Plant
from controller.core.commands import Targets
from controller.core.estimate import PlantState
from controller.core.history import UnitHistory
from controller.core.rules import rule_targets
from controller.runtime.market import MarketFeed
from controller.runtime.planner import PlannerService, PlanPolicy
from drivers.clock import Clock


class TargetPolicy(Protocol):
    """Where the plant should be: the plan follower with its fallbacks, or the rules alone."""

    def targets(
        self, state: PlantState, histories: dict[str, UnitHistory], previous: Targets | None
    ) -> Targets: ...


class RulesPolicy:
    def __init__(self, plant: Plant) -> None:
        self._plant = plant

    def targets(
        self, state: PlantState, histories: dict[str, UnitHistory], previous: Targets | None
    ) -> Targets:
        return rule_targets(
            state, histories, self._plant.site, self._plant.control.staging, previous
        )


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
