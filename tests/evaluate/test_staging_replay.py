"""The baseline's rules on the city plant through the replay: the units follow a falling load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from controller.config import load_plant
from controller.evaluate.data import load_evaluation_data
from controller.evaluate.replay import replay
from controller.evaluate.runner import factory

CITY = Path(__file__).resolve().parents[2] / "deploy" / "plants" / "city_sea_4x44mw.toml"
START = datetime(2024, 1, 16, tzinfo=UTC)
HOURS = 30


def _demand_kw(hour: int) -> float:
    """155 MW for 8 h, down to 85 MW over 12 h, then 85 MW (a winter day turning mild)."""
    if hour < 8:
        return 155_000.0
    return max(85_000.0, 155_000.0 - (hour - 7) * 70_000.0 / 12)


def test_the_number_of_running_units_follows_a_falling_demand(tmp_path: Path) -> None:
    lines = ["timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh,outdoor_temp_c,heat_demand_kw"]
    for hour in range(HOURS + 1):
        when = START + timedelta(hours=hour)
        lines.append(f"{when:%Y-%m-%dT%H:%MZ},80.0,150.0,0.0,{_demand_kw(hour):.0f}")
    scenario = tmp_path / "falling.csv"
    scenario.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plant = load_plant(CITY)
    data = load_evaluation_data(scenario, plant.site)
    end = START + timedelta(hours=HOURS)
    result = replay(plant, data, factory("baseline", data, START, None), START, end)
    heat_kwh = result.trace.unit_heat_kwh  # (units, hours)
    running = (heat_kwh > 0.0).sum(axis=0)
    assert result.unmet_heat_kwh == 0.0
    assert list(running[4:8]) == [4, 4, 4, 4]  # 155 MW: every unit
    falling = running[6:]
    assert all(np.diff(falling) <= 0), running  # never a start while the demand falls
    # 85 MW: three units at 64 % (two would be at 97 %, no margin), none at its minimum load
    assert list(running[-6:]) == [3] * 6, running
    spec = plant.site.units[0]
    last = heat_kwh[:, -6:]
    assert (last[last > 0] > 1.5 * spec.heat_min_kw).all()
    assert max(result.max_starts_in_any_hour.values()) <= spec.max_starts_per_hour
