"""A unit whose capacity falls with the source temperature is planned within it."""

from __future__ import annotations

import pytest

from controller.core.plan import solve_plan
from tests.core.plan.checker import assert_plan_valid
from tests.core.plan.factories import make_inputs, make_unit


def test_the_plan_keeps_each_step_within_the_units_capacity_then() -> None:
    # cheap power, demand the unit could meet at full capacity; in the cold first half it has
    # half its capacity, so the boiler or the tank makes up the rest
    fraction = (0.5,) * 8 + (1.0,) * 8
    unit = make_unit(heat_max_fraction=fraction)
    inputs = make_inputs(
        price_eur_per_mwh=(10.0,) * 16,
        heat_demand_kw=(900.0,) * 16,
        units=(unit,),
        storage_initial_kwh=0.0,
        storage_capacity_kwh=1.0,
    )
    plan = solve_plan(inputs)
    assert_plan_valid(plan)
    heat = plan.unit_heat_kw[0]
    assert max(heat[:8]) <= 500.0 + 1e-6
    assert min(heat[8:]) == pytest.approx(900.0, abs=1.0)
    assert min(plan.boiler_heat_kw[:8]) >= 400.0 - 1.0


def test_a_capacity_series_of_the_wrong_length_or_range_is_refused() -> None:
    with pytest.raises(ValueError, match="heat_max_fraction"):
        make_unit(heat_max_fraction=(0.0,) * 16)
    with pytest.raises(ValueError, match="heat_max_fraction values"):
        make_inputs(units=(make_unit(heat_max_fraction=(1.0,) * 3),))
