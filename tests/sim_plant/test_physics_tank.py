"""Stratified tank: exact energy balance, stratification, buoyancy mixing, losses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from drivers.site import SiteConfig, TankSpec, load_site
from sim_plant.physics.tank import StratifiedTank, initial_layer_temps_c, mix_inversions
from sim_plant.physics.water import WATER_CP_KJ_PER_KG_K

RIVER = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "river_20mw.toml"


@pytest.fixture(scope="module")
def river() -> SiteConfig:
    return load_site(RIVER)


def small_tank(river: SiteConfig, **update: float) -> TankSpec:
    return river.tanks[0].model_copy(update={"volume_m3": 20.0, "layers": 10, **update})


@pytest.mark.parametrize("soc", [0.0, 0.3, 0.5, 0.77, 1.0])
def test_initial_profile_holds_exactly_the_requested_soc(river: SiteConfig, soc: float) -> None:
    spec = river.tanks[0]
    tank = StratifiedTank(spec, soc)
    assert tank.energy_above_min_kwh() == pytest.approx(soc * spec.capacity_kwh, rel=1e-12)
    assert np.all(np.diff(tank.temps_c) >= 0)


def test_energy_balance_closes_over_a_long_run(river: SiteConfig) -> None:
    """Charging, discharging and losses for two simulated days: in - out - losses = change."""
    tank = StratifiedTank(river.tanks[0], 0.4)
    rng = np.random.default_rng(7)
    start_kj = tank.stored_kj()
    charged = discharged = lost = 0.0
    for step in range(2 * 17280):
        hour = step * 5.0 / 3600.0
        charging = 80.0 * max(0.0, math.sin(2 * math.pi * hour / 24.0)) + rng.uniform(0, 5)
        drawing = 60.0 + 30.0 * rng.uniform()
        exchange = tank.step(5.0, charging, 78.0 + rng.uniform(-3, 3), drawing, 42.0)
        charged += exchange.charged_kj
        discharged += exchange.discharged_kj
        lost += exchange.loss_kj
    change_kj = tank.stored_kj() - start_kj
    assert charged > 1e6 and discharged > 1e6 and lost > 1e4
    assert charged - discharged - lost == pytest.approx(change_kj, abs=1e-9 * charged)


def test_energy_balance_holds_with_substeps_and_keeps_temperatures_bounded(
    river: SiteConfig,
) -> None:
    """Flows larger than a layer per step force substeps; still exact and no overshoot."""
    tank = StratifiedTank(small_tank(river), 0.5)
    layer_kg = tank.layer_mass_kg
    start_kj = tank.stored_kj()
    exchange = tank.step(60.0, 3 * layer_kg / 60.0, 90.0, 0.5 * layer_kg / 60.0, 40.0)
    total = exchange.charged_kj - exchange.discharged_kj - exchange.loss_kj
    assert total == pytest.approx(tank.stored_kj() - start_kj, rel=1e-12)
    assert tank.temps_c.min() >= 40.0 - 1e-9
    assert tank.temps_c.max() <= 90.0 + 1e-9


def test_charging_a_cold_tank_builds_a_hot_top_over_a_cold_bottom(river: SiteConfig) -> None:
    tank = StratifiedTank(small_tank(river), 0.0)
    layer_kg = tank.layer_mass_kg
    for _ in range(40):  # about four layers' worth of hot water
        tank.step(5.0, layer_kg / 50.0, 85.0, 0.0, 40.0)
    temps = tank.temps_c
    assert temps[-1] > 80.0
    assert temps[0] == pytest.approx(river.tanks[0].min_temp_c, abs=0.5)
    assert np.all(np.diff(temps) >= 0), "a charged tank is stably stratified"


def test_discharging_pulls_the_thermocline_up(river: SiteConfig) -> None:
    tank = StratifiedTank(small_tank(river), 1.0)
    layer_kg = tank.layer_mass_kg
    for _ in range(30):
        tank.step(5.0, 0.0, 0.0, layer_kg / 50.0, 40.0)
    assert tank.temps_c[0] < 45.0  # return water fills the bottom
    assert tank.temps_c[-1] == pytest.approx(river.tanks[0].max_temp_c, abs=0.5)


def test_mixing_removes_inversions_and_keeps_energy() -> None:
    temps = np.array([50.0, 70.0, 60.0, 80.0, 75.0, 90.0])
    mixed = mix_inversions(temps)
    assert np.all(np.diff(mixed) >= 0)
    assert mixed.sum() == pytest.approx(temps.sum(), rel=1e-15)
    np.testing.assert_allclose(mixed, [50.0, 65.0, 65.0, 77.5, 77.5, 90.0])


def test_cooler_water_charged_at_the_top_sinks_to_its_level(river: SiteConfig) -> None:
    tank = StratifiedTank(small_tank(river), 1.0)  # all at 85 °C
    tank.step(5.0, tank.layer_mass_kg / 20.0, 60.0, 0.0, 40.0)
    assert np.all(np.diff(tank.temps_c) >= 0)


def test_standing_losses_follow_ua_times_temperature_difference(river: SiteConfig) -> None:
    spec = small_tank(river, loss_w_per_k=2000.0)
    tank = StratifiedTank(spec, 1.0)
    exchange = tank.step(60.0, 0.0, 0.0, 0.0, 40.0)
    expected_kj = 2.0 * (spec.max_temp_c - spec.ambient_temp_c) * 60.0
    assert exchange.loss_kj == pytest.approx(expected_kj, rel=1e-3)
    assert tank.temps_c[-1] < spec.max_temp_c


def test_layer_temps_helper_clips_soc(river: SiteConfig) -> None:
    spec = river.tanks[0]
    np.testing.assert_array_equal(initial_layer_temps_c(spec, 1.5), np.full(8, spec.max_temp_c))
    np.testing.assert_array_equal(initial_layer_temps_c(spec, -1), np.full(8, spec.min_temp_c))


def test_heat_capacity_matches_the_site_capacity(river: SiteConfig) -> None:
    spec = river.tanks[0]
    tank = StratifiedTank(spec, 0.0)
    span_k = spec.max_temp_c - spec.min_temp_c
    capacity_kwh = tank.layer_heat_capacity_kj_per_k * spec.layers * span_k / 3600.0
    assert capacity_kwh == pytest.approx(spec.capacity_kwh, rel=1e-12)
    assert tank.layer_heat_capacity_kj_per_k == pytest.approx(
        tank.layer_mass_kg * WATER_CP_KJ_PER_KG_K
    )
