"""The dispatch policies: how the cycle's targets are chosen (plan follower, merit order or
rules), and choosing one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from controller.config import ConfigError, Plant
from controller.core.commands import Targets
from controller.core.rules import rule_targets
from controller.core.situation import Situation
from controller.runtime.market import MarketFeed
from controller.runtime.merit_policy import MeritPolicy
from controller.runtime.plan_policy import PlanPolicy
from controller.runtime.planner import PlannerService
from drivers.clock import Clock


class TargetPolicy(Protocol):
    """Where the plant should be: the plan follower with its fallbacks, or the rules alone.

    `previous` is what this policy chose in the cycle before (None in the first cycle).
    """

    def targets(self, situation: Situation, previous: Targets | None) -> Targets: ...


class RulesPolicy:
    """The rule-based staging alone: the plant's configuration comes with the situation."""

    def targets(self, situation: Situation, previous: Targets | None) -> Targets:
        return rule_targets(situation, previous)


@dataclass
class Dispatch:
    """The policy the cycle asks for targets, and the planner behind it (None for rules)."""

    policy: TargetPolicy
    planner: PlannerService | None


def build_dispatch(plant: Plant, market: MarketFeed | None, clock: Clock) -> Dispatch:
    """`policy = "planner"` and `"merit"` need a market feed: a plant file that asks for one of
    them without prices is refused (it names the fix)."""
    policy = plant.control.policy
    if policy in ("planner", "merit") and market is None:
        raise ConfigError(
            f"{plant.path}: policy '{policy}' needs prices: set [control.market] price_file "
            "(or enable MQTT market updates) or use policy = 'rules'"
        )
    if policy == "planner" and market is not None:
        planner = PlannerService(plant, market, clock)
        return Dispatch(policy=PlanPolicy(plant, planner), planner=planner)
    if policy == "merit" and market is not None:
        return Dispatch(policy=MeritPolicy(plant, market), planner=None)
    return Dispatch(policy=RulesPolicy(), planner=None)
