"""The plan follower as the cycle's dispatch policy, with its fallback ladder.

Ladder: the new plan -> the last plan while it still covers now and is young enough -> the
rule-based staging -> (if the controller itself stops) the units' local control via the
heartbeat. Each change of rung is logged once, with its reason, and counted; the
reason also travels on the targets (`source_reason`) to the audit and MQTT events.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime

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
        self.reason = "no plan yet: the first planning run has not finished"
        self.transitions: Counter[tuple[str, str]] = Counter()

    def targets(self, situation: Situation, previous: Targets | None) -> Targets:
        state = situation.state
        plan = self._planner.current
        level, reason = self._rung(state.now_utc)
        if level != "rules" and state.soc is None:
            level, reason = "rules", "the tank's state of charge is unknown (bad or stale data)"
        self._move_to(level, reason)
        if level == "rules" or plan is None or state.soc is None:
            return replace(rule_targets(situation, previous), source_reason=reason)
        planned_kwh = self._planner.planned_energy_kwh(state.now_utc)
        return replace(follow_plan(plan, level, situation, planned_kwh), source_reason=reason)

    def _rung(self, now_utc: datetime) -> tuple[str, str]:
        """The rung the plan allows now, and why (in words, for the log and the operators)."""
        plan = self._planner.current
        attempt = self._planner.last_attempt
        config = self._plant.control.planner
        if plan is None:
            if attempt is None:
                return "rules", "no plan yet: the first planning run has not finished"
            return (
                "rules",
                f"no usable plan: the planner ended {attempt.status} ({attempt.message})",
            )
        made = plan.inputs.start_utc
        age_s = (now_utc - made).total_seconds()
        if plan.step_at(now_utc) is None:
            return "rules", (
                f"the last usable plan (from {made:%Y-%m-%d %H:%M} UTC) ends "
                f"{plan.valid_until_utc:%Y-%m-%d %H:%M} UTC: it does not cover now"
            )
        fresh = plan is attempt
        if fresh and age_s < config.interval_s * 2:
            return "plan", f"following the plan from {made:%Y-%m-%d %H:%M} UTC"
        if age_s >= config.max_plan_age_s:
            return "rules", (
                f"the last usable plan is {age_s / 3600.0:.1f} h old, beyond "
                f"max_plan_age_s {config.max_plan_age_s:g} s"
            )
        if not fresh and attempt is not None:
            why = f"the last planning run ended {attempt.status} ({attempt.message})"
        else:
            why = f"no new plan for {age_s / 60.0:.0f} min (2 planning intervals)"
        return "last_plan", f"{why}: following the plan from {made:%Y-%m-%d %H:%M} UTC"

    def _move_to(self, level: str, reason: str) -> None:
        if level != self.level:
            rising = RUNGS.index(level) > RUNGS.index(self.level)
            log.log(
                logging.INFO if rising else logging.WARNING,
                "dispatch: %s -> %s: %s",
                self.level,
                level,
                reason,
            )
            self.transitions[(self.level, level)] += 1
            self.level = level
        self.reason = reason
