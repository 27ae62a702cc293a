"""`hpctl feed` against a real Mosquitto and the controller's own MQTT bridge and market: the
scenario's days land on today's hours, tomorrow's prices only from the publication time,
carbon only up to the current hour; bad input is refused before anything is published."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller.app.feed import day_map, replayed
from controller.config import Plant, load_plant
from controller.telemetry.mqtt import MqttMarket
from drivers.clock import SimClock
from drivers.scenario import Scenario, load_scenario
from tests.ops.mosquitto import Broker
from tests.ops.mqtt_rig import controller, wait_until

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "controller" / "scenarios" / "demo_dk1_2024_january.csv"
ZONE = ZoneInfo("Europe/Copenhagen")
H = timedelta(hours=1)
FILE_DAY = date(2024, 1, 10)
TODAY = date(2026, 12, 3)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZONE).astimezone(UTC)


def _plant_file(tmp_path: Path, broker: Broker, extra_mqtt: str = "") -> Path:
    """The compose plant, pointed at the test's broker (its point maps through a link)."""
    folder = tmp_path / "plant"
    folder.mkdir(exist_ok=True)
    (tmp_path / "pointmaps").symlink_to(ROOT / "deploy" / "pointmaps")
    text = (ROOT / "deploy" / "compose" / "plant.toml").read_text()
    text = text.replace(
        'host = "mosquitto"\nport = 1883', f'host = "127.0.0.1"\nport = {broker.port}\n{extra_mqtt}'
    )
    text = text.replace('data_dir = "/var/lib/hpctl"', f'data_dir = "{tmp_path / "data"}"')
    assert f"port = {broker.port}" in text
    path = folder / "plant.toml"
    path.write_text(text)
    return path


def _feed(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "controller.app.cli", "feed", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _file_values(scenario: Scenario, day: date, column: str) -> list[float | None]:
    start = _midnight(day)
    return [
        getattr(row, column) for row in scenario.between(start, _midnight(day + timedelta(days=1)))
    ]


async def _market_after(plant: Plant, now: datetime, tmp_path: Path) -> MqttMarket:
    """A controller's bridge started at `now` on the same broker: it gets the retained messages."""
    async with controller(plant, SimClock(now), tmp_path / "data") as live:
        fed = live.bridge.stats
        assert await wait_until(
            lambda: fed.price_updates_total >= 1 and fed.carbon_updates_total >= 1
        )
        assert fed.garbage_total == 0
        return live.market


async def test_once_before_publication_gives_today_and_carbon_up_to_now(
    broker: Broker, tmp_path: Path
) -> None:
    plant_path = _plant_file(tmp_path, broker)
    now = _midnight(TODAY) + 10 * H + timedelta(minutes=20)  # 10:20 local, before 13:00
    result = await asyncio.to_thread(
        _feed, "--plant", str(plant_path), "--scenario", str(DEMO),
        "--from-day", FILE_DAY.isoformat(), "--once", "--now", now.isoformat(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    market = await _market_after(load_plant(plant_path), now, tmp_path)
    scenario = load_scenario(DEMO)

    known, until = market.prices(now)
    assert until == _midnight(TODAY + timedelta(days=1))  # tomorrow's not yet published
    today = [known[_midnight(TODAY) + k * H] for k in range(24)]
    assert today == _file_values(scenario, FILE_DAY, "price_eur_per_mwh")
    yesterday = [known[_midnight(TODAY - timedelta(days=1)) + k * H] for k in range(24)]
    assert yesterday == _file_values(scenario, FILE_DAY - timedelta(days=1), "price_eur_per_mwh")

    carbon = market.carbon(now)
    today_carbon = sorted(h for h in carbon if h >= _midnight(TODAY))
    assert today_carbon == [_midnight(TODAY) + k * H for k in range(11)]  # 00:00..10:00 local
    expected = _file_values(scenario, FILE_DAY, "carbon_g_per_kwh")[:11]
    assert [carbon[h] for h in today_carbon] == expected


async def test_once_after_publication_adds_tomorrow(broker: Broker, tmp_path: Path) -> None:
    plant_path = _plant_file(tmp_path, broker)
    now = _midnight(TODAY) + 13 * H + timedelta(minutes=5)  # 13:05 local
    result = await asyncio.to_thread(
        _feed, "--plant", str(plant_path), "--scenario", str(DEMO),
        "--from-day", FILE_DAY.isoformat(), "--once", "--now", now.isoformat(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    market = await _market_after(load_plant(plant_path), now, tmp_path)
    known, until = market.prices(now)
    tomorrow = TODAY + timedelta(days=1)
    assert until == _midnight(tomorrow + timedelta(days=1))
    fed = [known[_midnight(tomorrow) + k * H] for k in range(24)]
    file_day = FILE_DAY + timedelta(days=1)
    assert fed == _file_values(load_scenario(DEMO), file_day, "price_eur_per_mwh")


async def test_the_feed_keeps_publishing_as_hours_begin_and_stops_on_sigterm(
    broker: Broker, tmp_path: Path
) -> None:
    """Run as a service at 100x: the carbon hours follow the feed's clock, and SIGTERM ends it
    with exit 0."""
    plant_path = _plant_file(tmp_path, broker)
    plant = load_plant(plant_path)
    start = _midnight(TODAY) + 10 * H + timedelta(minutes=59, seconds=30)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller.app.cli", "feed", "--plant", str(plant_path),
        "--scenario", str(DEMO), "--from-day", FILE_DAY.isoformat(),
        "--now", start.isoformat(), "--speed", "100",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        clock = SimClock(start + 2 * H)  # the controller reads the market later
        async with controller(plant, clock, tmp_path / "data") as live:
            eleven = _midnight(TODAY) + 11 * H
            assert await wait_until(lambda: eleven in live.market.carbon(clock.now()), 2000)
            assert live.bridge.stats.garbage_total == 0
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert "feed: stopped" in stderr.decode()


def test_a_bad_scenario_is_refused_naming_its_line(broker: Broker, tmp_path: Path) -> None:
    plant_path = _plant_file(tmp_path, broker)
    bad = tmp_path / "bad.csv"
    lines = DEMO.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[1], "12,5", 1)
    bad.write_text("\n".join(lines) + "\n")
    result = _feed("--plant", str(plant_path), "--scenario", str(bad), "--once")
    assert result.returncode == 2
    assert f"{bad}, line 6:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_from_day_outside_the_file_names_its_days(broker: Broker, tmp_path: Path) -> None:
    plant_path = _plant_file(tmp_path, broker)
    result = _feed(
        "--plant", str(plant_path), "--scenario", str(DEMO), "--from-day", "2024-02-01", "--once"
    )
    assert result.returncode == 2
    assert "--from-day 2024-02-01 is not a whole day of the file" in result.stderr
    assert "2024-01-07 to 2024-01-19" in result.stderr  # 6 January starts at 01:00 local


def test_an_unreachable_broker_with_once_names_it(broker: Broker, tmp_path: Path) -> None:
    plant_path = _plant_file(tmp_path, broker)
    broker.stop()
    result = _feed("--plant", str(plant_path), "--scenario", str(DEMO), "--once")
    assert result.returncode == 1
    assert f"MQTT broker 127.0.0.1:{broker.port}" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_feed_logs_in_with_the_plant_files_user_and_password_file(
    secured_broker: Broker, tmp_path: Path
) -> None:
    """The broker settings are the bridge's: user and password file from [control.mqtt]; the
    shipped ACL lets the market user publish the market topics."""
    (tmp_path / "plant").mkdir()
    (tmp_path / "plant" / "market.password").write_text(secured_broker.users["market"] + "\n")
    plant_path = _plant_file(
        tmp_path, secured_broker, 'username = "market"\npassword_file = "market.password"\n'
    )
    now = _midnight(TODAY) + 10 * H
    result = await asyncio.to_thread(
        _feed, "--plant", str(plant_path), "--scenario", str(DEMO), "--once", "--now",
        now.isoformat(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reader = load_plant(plant_path)
    controller_plant = reader.with_control(
        mqtt=reader.control.mqtt.model_copy(
            update={"username": "hpctl", "password_file": "hpctl.password"}
        )
    )
    (tmp_path / "plant" / "hpctl.password").write_text(secured_broker.users["hpctl"] + "\n")
    market = await _market_after(controller_plant, now, tmp_path)
    assert market.prices(now)[1] == _midnight(TODAY + timedelta(days=1))


async def test_a_fuel_price_in_the_file_reaches_the_controller_through_the_shipped_acl(
    secured_broker: Broker, tmp_path: Path
) -> None:
    """The market user may publish the fuel topic too (the ACL once allowed only prices and
    carbon: the broker dropped the fuel price without a word)."""
    (tmp_path / "plant").mkdir()
    (tmp_path / "plant" / "market.password").write_text(secured_broker.users["market"] + "\n")
    plant_path = _plant_file(
        tmp_path, secured_broker, 'username = "market"\npassword_file = "market.password"\n'
    )
    lines = DEMO.read_text().splitlines()
    with_fuel = tmp_path / "with_fuel.csv"  # a made-up gas price: the real series is not shipped
    with_fuel.write_text(
        "\n".join([f"{lines[0]},fuel_price_eur_per_mwh", *(f"{line},38.5" for line in lines[1:])])
        + "\n"
    )
    now = _midnight(TODAY) + 10 * H
    result = await asyncio.to_thread(
        _feed, "--plant", str(plant_path), "--scenario", str(with_fuel), "--once", "--now",
        now.isoformat(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reader = load_plant(plant_path)
    controller_plant = reader.with_control(
        mqtt=reader.control.mqtt.model_copy(
            update={"username": "hpctl", "password_file": "hpctl.password"}
        )
    )
    (tmp_path / "plant" / "hpctl.password").write_text(secured_broker.users["hpctl"] + "\n")
    async with controller(controller_plant, SimClock(now), tmp_path / "data") as live:
        assert await wait_until(lambda: live.market.fuel_price(now) is not None)
        assert live.market.fuel_price(now) == 38.5


def test_days_past_the_files_end_start_again_from_its_first() -> None:
    scenario = load_scenario(DEMO)
    last = date(2024, 1, 19)
    days = day_map(scenario, "Europe/Copenhagen", TODAY, last)
    assert days.file_day(TODAY) == last
    assert days.file_day(TODAY + timedelta(days=1)) == date(2024, 1, 7)  # the first whole local day
    shifted = replayed(scenario, days, "Europe/Copenhagen", TODAY)
    tomorrow = _midnight(TODAY + timedelta(days=1))
    assert (
        shifted.at(tomorrow).price_eur_per_mwh
        == scenario.at(_midnight(date(2024, 1, 7))).price_eur_per_mwh
    )


def test_default_day_is_todays_month_and_day_when_the_file_has_it() -> None:
    scenario = load_scenario(DEMO)
    assert day_map(scenario, "Europe/Copenhagen", date(2026, 1, 12), None).file_day(
        date(2026, 1, 12)
    ) == date(2024, 1, 12)


@pytest.mark.parametrize("local_day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_a_daylight_saving_day_keeps_local_hours(local_day: date) -> None:
    """A 23- or 25-hour day gets one value per hour of its own, starting at local midnight."""
    scenario = load_scenario(DEMO)
    days = day_map(scenario, "Europe/Copenhagen", local_day, FILE_DAY)
    shifted = replayed(scenario, days, "Europe/Copenhagen", local_day)
    start, end = _midnight(local_day), _midnight(local_day + timedelta(days=1))
    rows = shifted.between(start, end)
    assert [row.timestamp_utc for row in rows] == [
        start + k * H for k in range(int((end - start) / H))
    ]
    assert rows[0].price_eur_per_mwh == scenario.at(_midnight(FILE_DAY)).price_eur_per_mwh
