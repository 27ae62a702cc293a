"""Scenarios shipped with the package (real public data; see README.md here for attribution)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEMO_SCENARIO = "demo_dk1_2024_january.csv"


def default_scenario_path() -> Path:
    """The embedded demo scenario: DK1 January 2024 prices and weather, with carbon intensity."""
    return Path(str(resources.files(__name__).joinpath(DEMO_SCENARIO)))
