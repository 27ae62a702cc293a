"""Shared inputs: the river plant, the embedded January scenario and the June test excerpt."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import Plant, load_plant
from controller.evaluate.data import EvaluationData, load_evaluation_data
from controller.scenarios import default_scenario_path

ROOT = Path(__file__).resolve().parents[2]
RIVER = ROOT / "deploy" / "plants" / "river_20mw.toml"
JUNE = Path(__file__).resolve().parent / "data" / "dk1_2024_june_excerpt.csv"


@pytest.fixture(scope="session")
def river() -> Plant:
    return load_plant(RIVER)


@pytest.fixture(scope="session")
def january(river: Plant) -> EvaluationData:
    return load_evaluation_data(default_scenario_path(), river.site)


@pytest.fixture(scope="session")
def june(river: Plant) -> EvaluationData:
    return load_evaluation_data(JUNE, river.site)


@pytest.fixture(scope="session")
def june_path() -> Path:
    return JUNE
