"""The plan keeps clear of the tank's high-limit interlock.

A June day that drives the tank to its limit: power paid for (-30 EUR/MWh) from 04:00 to 22:00
UTC and a network drawing 1.5 MW, below one unit's 3.5 MW minimum load, while mpc's forecaster,
with two days of history, expects the network's design curve (about 3.7 MW). Before the plan's
storage band ended below the stager's soft band and the follower stopped the units a full tank
cannot take, mpc charged the tank on at minimum load until `tank_high_temp` stopped the unit:
once at 15:55 with the start costs of the time (40 EUR), five times at 250 EUR.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.config import Plant
from controller.evaluate.data import load_evaluation_data
from controller.evaluate.replay import replay
from controller.evaluate.runner import factory

START = datetime(2024, 6, 3, tzinfo=UTC)


def _paid_to_heat_a_quiet_network(june_path: Path, out: Path) -> Path:
    """The June excerpt (prices "Source: Energinet (Energi Data Service)", CC BY 4.0) with the
    day's price made negative in its middle and the demand held at 1.5 MW."""
    with june_path.open(newline="") as source, out.open("w", newline="") as target:
        rows = csv.DictReader(source)
        writer = csv.writer(target)
        writer.writerow([*(rows.fieldnames or []), "heat_demand_kw"])
        for row in rows:
            hour = int(row["timestamp_utc"][11:13])
            if 4 <= hour < 22:
                row["price_eur_per_mwh"] = "-30.0"
            writer.writerow([*row.values(), "1500.0"])
    return out


def test_mpc_keeps_the_tank_below_its_interlock_on_a_day_that_hit_it(
    river: Plant, june_path: Path, tmp_path: Path
) -> None:
    scenario = _paid_to_heat_a_quiet_network(june_path, tmp_path / "paid_to_heat.csv")
    data = load_evaluation_data(scenario, river.site)
    end = START + timedelta(days=1)
    result = replay(river, data, factory("mpc", data, START, None), START, end)
    assert result.interlocks == {}, result.interlocks_by_equipment
    assert result.unmet_heat_kwh == 0.0
    # the tank was really driven there: paid to run, the plan charged it to its band's top
    assert sum(result.unit_run_hours_h.values()) > 6.0
