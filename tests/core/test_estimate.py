"""Estimate: the plant state from a snapshot."""

from __future__ import annotations

import pytest

from controller.core.estimate import tank_soc
from tests.core.fakes import river


def test_soc_from_layers_spans_min_to_max() -> None:
    tank = river().site.tanks[0]
    assert tank_soc(tuple([tank.min_temp_c] * 8), tank) == 0.0
    assert tank_soc(tuple([tank.max_temp_c] * 8), tank) == 1.0
    half = (tank.min_temp_c + tank.max_temp_c) / 2
    assert tank_soc(tuple([half] * 8), tank) == pytest.approx(0.5)
    assert tank_soc((60.0, None, 60.0, 60.0, 60.0, 60.0, 60.0, 60.0), tank) is None
