"""The plan follower as the cycle's dispatch policy, with its fallback ladder.

Ladder: the new plan -> the last plan while it still covers now and is young enough -> the
rule-based staging -> (if the controller itself stops) the units' local control via the
heartbeat. Each change of rung is logged once and counted.
"""

from __future__ import annotations

import logging
from collections import Counter

from controller.config import Plant
from controller.core.commands import Targets
from controller.core.follow import follow_plan
from controller.core.rules import rule_targets
from controller.core.situation import Situation
from controller.runtime.planner import PlannerService

log = logging.getLogger(__name__)

RUNGS = ("rules", "last_plan", "plan")  # worst to best


class PlanPolicy:
    """Follows the plan's unit commitment, trimming load by measured demand and tank deviation."""

    def __init__(self, plant: Plant, planner: PlannerService) -> None:
        self._plant = plant
        self._planner = planner
        self.level = "rules"
        self.transitions: Counter[tuple[str, str]] = Counter()

    def targets(self, situation: Situation, previous: Targets | None) -> Targets:
        state = situation.state
        plan = self._planner.current
        level = "rules"
        if plan is not None and plan.step_at(state.now_utc) is not None:
            age_s = (state.now_utc - plan.inputs.start_utc).total_seconds()
            fresh = plan is self._planner.last_attempt
            if fresh and age_s < self._plant.control.planner.interval_s * 2:
                level = "plan"
            elif age_s < self._plant.control.planner.max_plan_age_s:
                level = "last_plan"
        self._move_to(level)
        if level == "rules" or plan is None or state.soc is None:
            return rule_targets(situation, previous)
        planned_kwh = self._planner.planned_energy_kwh(state.now_utc)
        return follow_plan(plan, level, situation, planned_kwh)

    def _move_to(self, level: str) -> None:
        if level != self.level:
            rising = RUNGS.index(level) > RUNGS.index(self.level)
            log.log(
                logging.INFO if rising else logging.WARNING, "dispatch: %s -> %s", self.level, level
            )
            self.transitions[(self.level, level)] += 1
            self.level = level
