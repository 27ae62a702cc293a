"""Market data received over MQTT survives a restart of `hpctl run`'s wiring: what the feed
would still hand out had the controller never stopped comes back, nothing older."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from controller.app.mqtt_wiring import open_state
from controller.config import MqttConfig, Plant
from controller.runtime.state_store import STATE_FILE, StateStoreError
from controller.telemetry.mqtt.messages import CarbonUpdate, FuelUpdate, PriceUpdate
from drivers.clock import SimClock
from tests.core.fakes import T0, river

H = timedelta(hours=1)


def _plant(data_dir: Path, mqtt: bool = True) -> Plant:
    return river().with_control(mqtt=MqttConfig(enabled=mqtt), data_dir=str(data_dir))


def _feed(plant: Plant, data_dir: Path) -> None:
    """A first controller life: today's prices, tomorrow's ahead of publication, carbon, fuel."""
    store, market = open_state(plant, SimClock(T0), data_dir)
    assert store is not None and market is not None
    today = [{"start_utc": T0 + k * H, "price_eur_per_mwh": 40.0 + k} for k in range(24)]
    market.add_prices(PriceUpdate.model_validate({"prices": today}), T0)
    tomorrow = {
        "published_utc": T0 + 13 * H,
        "prices": [{"start_utc": T0 + (24 + k) * H, "price_eur_per_mwh": 90.0} for k in range(24)],
    }
    market.add_prices(PriceUpdate.model_validate(tomorrow), T0)
    carbon = [{"start_utc": T0 + k * H, "carbon_g_per_kwh": 200.0 + k} for k in range(3)]
    market.add_carbon(CarbonUpdate.model_validate({"values": carbon}), T0 + 2 * H)
    market.add_fuel(FuelUpdate.model_validate({"fuel_price_eur_per_mwh": 35.0}), T0 + 2 * H)
    store.close()


def test_market_data_comes_back_after_a_restart_as_if_never_stopped(tmp_path: Path) -> None:
    plant = _plant(tmp_path)
    _feed(plant, tmp_path)
    restart = T0 + 3 * H
    store, market = open_state(plant, SimClock(restart), tmp_path)
    assert store is not None and market is not None
    prices, until = market.prices(restart)
    assert until == T0 + 24 * H  # tomorrow's prices are still hidden until their publication
    assert prices[T0 + 5 * H] == 45.0
    carbon = market.carbon(restart)
    assert carbon == {T0: 200.0, T0 + H: 201.0, T0 + 2 * H: 202.0}
    assert market.fuel_price(restart) == 35.0
    published = T0 + 13 * H
    assert market.prices(published)[1] == T0 + 48 * H
    assert market.prices(published)[0][T0 + 30 * H] == 90.0
    store.close()


def test_market_data_older_than_the_feed_keeps_is_not_restored(tmp_path: Path) -> None:
    plant = _plant(tmp_path)
    _feed(plant, tmp_path)
    restart = T0 + timedelta(days=10)
    store, market = open_state(plant, SimClock(restart), tmp_path)
    assert store is not None and market is not None
    assert market.prices(restart) == ({}, restart)
    assert market.carbon(restart) == {}
    assert market.fuel_price(restart) is None
    # and the next update saves the trimmed memory, not the stale one
    update = {"prices": [{"start_utc": restart, "price_eur_per_mwh": 10.0}]}
    market.add_prices(PriceUpdate.model_validate(update), restart)
    store.close()
    store, market = open_state(plant, SimClock(restart), tmp_path)
    assert market is not None and store is not None
    assert market.memory().price_updates == ((restart, {restart: 10.0}),)
    store.close()


def test_without_mqtt_there_is_nothing_to_keep(tmp_path: Path) -> None:
    assert open_state(_plant(tmp_path, mqtt=False), SimClock(T0), tmp_path) == (None, None)
    assert not (tmp_path / STATE_FILE).exists()


def test_a_state_file_that_is_no_database_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("prices, carbon\n" * 200)
    with pytest.raises(StateStoreError, match="move it aside"):
        open_state(_plant(tmp_path), SimClock(T0), tmp_path)
