"""Annualised investment: the annuity, monotone costs, the TOML override and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.config import ConfigError
from controller.evaluate.size_costs import CostCatalogue, HeatPumpCost, TankCost, load_costs
from controller.evaluate.size_point import Replayed, SizePoint
from controller.evaluate.size_report import price_point

REPLAYED = Replayed(
    unit_count=2,
    boiler_mw=12.0,
    operating_cost_eur=3e6,
    cash_cost_eur=2.5e6,
    co2_t=4000.0,
    heat_demand_mwh=90_000.0,
    heat_delivered_mwh=89_990.0,
    boiler_heat_mwh=500.0,
    boiler_share=0.005,
    unmet_heat_mwh=1.0,
    unmet_heat_hours=2,
    tank_cycles=150.0,
    electricity_mwh=30_000.0,
    average_cop=3.0,
    starts=300,
    replay_wall_s=1.0,
)


def test_annuity_factor_matches_the_textbook_formula() -> None:
    costs = CostCatalogue(discount_rate=0.04)
    assert costs.annuity_factor(25) == pytest.approx(0.04 / (1 - 1.04**-25))
    assert costs.annuity_factor(25) == pytest.approx(0.06401, abs=1e-5)
    assert CostCatalogue(discount_rate=0.0).annuity_factor(20) == pytest.approx(0.05)
    # found by hypothesis: 1 - 1.0000...1^-n rounds to 0 (a division by zero before the fix)
    assert CostCatalogue(discount_rate=1e-300).annuity_factor(1) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(0, 5e6),
    extra=st.floats(1.0, 5e6),
    heat_pump_mw=st.floats(1, 100),
    tank_m3=st.one_of(st.just(0.0), st.floats(1, 50_000)),
    lifetime=st.integers(1, 60),
    rate=st.floats(0, 0.2),
)
def test_point_cost_is_monotone_in_investment_cost(
    low: float, extra: float, heat_pump_mw: float, tank_m3: float, lifetime: int, rate: float
) -> None:
    point = SizePoint(heat_pump_mw=heat_pump_mw, tank_m3=tank_m3, boiler_mw=None)

    def total(hp_eur_per_mw: float, tank_eur_per_m3: float) -> float:
        costs = CostCatalogue(
            discount_rate=rate,
            heat_pump=HeatPumpCost(investment_eur_per_mw=hp_eur_per_mw, lifetime_years=lifetime),
            tank=TankCost(investment_eur_per_m3=tank_eur_per_m3, lifetime_years=lifetime),
        )
        return price_point(point, REPLAYED, costs, 10_000.0, 1.0).total_eur_per_year

    assert total(low + extra, 200.0) > total(low, 200.0)
    assert total(900_000.0, low + extra) >= total(900_000.0, low)
    if tank_m3 > 0:
        assert total(900_000.0, low + extra) > total(900_000.0, low)


def test_total_is_investment_plus_operation_plus_unmet_heat() -> None:
    costs = CostCatalogue()
    point = SizePoint(heat_pump_mw=20.0, tank_m3=4000.0, boiler_mw=None)
    priced = price_point(point, REPLAYED, costs, 10_000.0, 1.0)
    hp = 20.0 * (900_000.0 * costs.annuity_factor(25) + 2_000.0)
    tank = 4000.0 * 200.0 * costs.annuity_factor(40)
    boiler = 12.0 * (60_000.0 * costs.annuity_factor(25) + 2_000.0)
    assert priced.total_eur_per_year == pytest.approx(hp + tank + boiler + 3e6 + 10_000.0)
    half = price_point(point, REPLAYED, costs, 10_000.0, 0.5)
    assert half.investment_eur_per_year == pytest.approx(priced.investment_eur_per_year / 2)


def test_cost_file_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "costs.toml"
    path.write_text("discount_rate = 0.06\n[tank]\ninvestment_eur_per_m3 = 120\n")
    costs = load_costs(path)
    assert costs.discount_rate == 0.06
    assert costs.tank.investment_eur_per_m3 == 120
    assert costs.tank.lifetime_years == TankCost().lifetime_years
    assert costs.heat_pump == HeatPumpCost()
    assert load_costs(None) == CostCatalogue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[tank]\ninvestment_eur_per_m3 = -1\n", "tank.investment_eur_per_m3"),
        ("[heat_pump]\nlifetime_years = 0\n", "heat_pump.lifetime_years"),
        ("discount_rate = 0.9\n", "discount_rate"),
        ("[tank]\nprice = 3\n", "tank.price"),
        ("[tank\n", "not valid TOML"),
    ],
)
def test_bad_cost_file_names_the_file_and_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "costs.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_costs(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_missing_cost_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the cost file"):
        load_costs(tmp_path / "none.toml")
