"""The dispatch ladder's catch: a policy that raises drops its cycle to the rules rung.

A bug in the plan follower, the merit policy or the operator desk must never stop the plant's
control: the rules decide that cycle, the failure is counted per policy and reported on the
cycle's record (audited and published as an event), and logged without flooding the journal:
the first failure (and a different one) with its traceback, the same one again at most every
`REMIND_S` of the cycle's clock with how often it happened since, the recovery once.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import replace
from types import TracebackType

from controller.core.commands import Targets
from controller.core.report import PolicyFailure
from controller.core.situation import Situation
from controller.runtime.dispatch import TargetPolicy

log = logging.getLogger(__name__)

REMIND_S = 300.0  # a policy that keeps failing is logged again this often (cycle seconds)


def raising_policy(tb: TracebackType | None, default: str) -> str:
    """The class whose `targets` raised: the innermost `targets` frame of the traceback (the
    desk calls the dispatch policy's `targets`, which may call further into the core)."""
    name = default
    for frame, _ in traceback.walk_tb(tb):
        owner = frame.f_locals.get("self")
        if frame.f_code.co_name == "targets" and owner is not None:
            name = type(owner).__name__
    return name


class PolicyGuard:
    """Asks `policy` for targets; when it raises, asks `fallback` (the rules rung)."""

    def __init__(self, policy: TargetPolicy, fallback: TargetPolicy) -> None:
        self._policy = policy
        self._fallback = fallback
        self.failures: dict[str, int] = {}  # policy class name -> cycles it raised
        self._failing: PolicyFailure | None = None
        self._logged_at_s: float | None = None
        self._since_logged = 0

    @property
    def failures_total(self) -> int:
        return sum(self.failures.values())

    def targets(
        self, situation: Situation, previous: Targets | None
    ) -> tuple[Targets, PolicyFailure | None]:
        """This cycle's targets, and the failure the rules stood in for (None: no failure)."""
        try:
            targets = self._policy.targets(situation, previous)
        except Exception as exc:
            failure = PolicyFailure(
                policy=raising_policy(exc.__traceback__, type(self._policy).__name__),
                error=f"{type(exc).__name__}: {exc}",
            )
            self.failures[failure.policy] = self.failures.get(failure.policy, 0) + 1
            self._log_failure(failure, situation.state.now_s)
            rules = self._fallback.targets(situation, previous)
            why = f"the {failure.policy} policy raised {failure.error}"
            return replace(rules, source_reason=why), failure
        if self._failing is not None:
            log.warning("dispatch: the policy answers again (%s)", self._failing.policy)
            self._failing = None
        return targets, None

    def _log_failure(self, failure: PolicyFailure, now_s: float) -> None:
        if self._failing is None or failure.key != self._failing.key:
            log.exception(
                "dispatch: the policy raised (%s); the rules run until it recovers", failure.policy
            )
            self._failing, self._logged_at_s, self._since_logged = failure, now_s, 0
            return
        self._since_logged += 1
        if self._logged_at_s is None or now_s - self._logged_at_s >= REMIND_S:
            log.error(
                "dispatch: the policy still raises (%s, %d more cycles on the rules): %s",
                failure.policy,
                self._since_logged,
                failure.error,
            )
            self._logged_at_s, self._since_logged = now_s, 0
