"""What the metrics read besides the cycle report: one typed object, built by the composition
root once its parts exist.

Every field is optional: a controller without a planner, a bridge or an operator desk simply
has no such metrics (their gauges keep the value they were defined with). The fields the tests
stand in for are Protocols; the rest are the controller's own types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from controller.core.plan import Plan
from controller.runtime.dispatch import TargetPolicy
from controller.runtime.market import MarketFeed
from controller.telemetry.audit import AuditStore
from drivers.clock import Clock
from drivers.health import DeviceHealth


class PlannerView(Protocol):
    """The planner as the metrics see it: its solves and the plan in use."""

    @property
    def solves_total(self) -> int: ...

    @property
    def solve_failures_total(self) -> int: ...

    @property
    def last_attempt(self) -> Plan | None: ...

    @property
    def current(self) -> Plan | None: ...

    def planned_energy_kwh(self, now_utc: datetime) -> float | None: ...


class ForecastScore(Protocol):
    """The planner's learned forecaster as the metrics see it: how far its forecasts were from
    what happened, and what it stands on."""

    @property
    def history_hours(self) -> int: ...

    @property
    def learned_demand(self) -> bool: ...

    def errors(self) -> dict[str, float]: ...


class MqttStats(Protocol):
    """What the metrics read of an MQTT bridge: `connected`, and by name every counter of
    MQTT_COUNTERS (a test holds that table to the bridge's own BridgeStats)."""

    @property
    def connected(self) -> bool: ...


class MqttBridgeLike(Protocol):
    @property
    def stats(self) -> MqttStats: ...


class OverrideLike(Protocol):
    @property
    def kind(self) -> str: ...


class OverrideSource(Protocol):
    """The operator desk: the requests in force."""

    @property
    def active(self) -> Sequence[OverrideLike]: ...


class OverrunCounter(Protocol):
    """The cycle's own counters: ticks it skipped because it ran late, and cycles whose policy
    raised (the rules stood in)."""

    @property
    def overruns_total(self) -> int: ...

    @property
    def policy_failures(self) -> dict[str, int]:
        """Cycles whose policy raised, by the policy that raised."""
        ...


@dataclass(frozen=True, slots=True)
class MetricSources:
    """The controller's parts the metrics read each cycle (None: that part is not there).

    `clock` judges /healthz (the wall clock when None); `policy` is the dispatch policy, whose
    fallback-ladder moves are counted when it follows a plan; `forecaster` is the planner's
    learned forecaster (its errors); `overrides` is the operator desk, wired only with MQTT on.
    """

    health: Callable[[], Mapping[str, DeviceHealth]] | None = None
    clock: Clock | None = None
    planner: PlannerView | None = None
    forecaster: ForecastScore | None = None
    policy: TargetPolicy | None = None
    market: MarketFeed | None = None
    bridge: MqttBridgeLike | None = None
    audit: AuditStore | None = None
    overrides: OverrideSource | None = None
    cycle: OverrunCounter | None = None
