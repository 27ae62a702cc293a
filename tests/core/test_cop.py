"""The one heat-pump model: COP as a fraction of the Carnot cycle."""

from __future__ import annotations

import pytest

from controller.core.cop import APPROACH_K, COP_CAP, unit_cop
from tests.core.fakes import river


def test_cop_is_the_units_fraction_of_carnot_at_its_temperatures() -> None:
    spec = river().site.units[0]
    sink_k = 80.0 + APPROACH_K + 273.15
    source_k = 10.0 - APPROACH_K + 273.15
    expected = spec.carnot_efficiency * sink_k / (sink_k - source_k)
    assert unit_cop(spec, 80.0, 10.0) == pytest.approx(expected)


def test_cop_falls_with_the_lift_and_is_capped() -> None:
    spec = river().site.units[0]
    assert unit_cop(spec, 70.0, 10.0) > unit_cop(spec, 80.0, 10.0) > unit_cop(spec, 80.0, 5.0)
    assert unit_cop(spec, 40.0, 45.0) == COP_CAP  # no lift at all: the cap, not infinity
