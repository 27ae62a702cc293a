"""The situation one cycle decides in: what every pure decision of the cycle sees (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.config import ControlConfig
from controller.core.estimate import PlantState
from controller.core.history import UnitHistory
from drivers.site import SiteConfig


@dataclass(frozen=True, slots=True)
class Situation:
    """The plant as measured now, each unit's switching history, and the plant's own description
    and control settings: one frozen bundle, so that rules, overrides, staging and safety all
    decide on exactly the same facts within a cycle.

    `histories` holds an entry for every unit in `state` (a unit seen for the first time has a
    conservative first history).
    """

    state: PlantState
    histories: Mapping[str, UnitHistory]
    site: SiteConfig
    control: ControlConfig
