"""Daily fuel prices: a settlement prices the next day's fuel, carried over weekends; a bad file
is refused with its line; the replay's market never hands out a later quote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.config import Plant
from controller.evaluate.data import load_evaluation_data
from controller.evaluate.fuel import fuel_prices_at
from controller.evaluate.information import AuditedMarket, DisclosureRule, InformationLeak
from controller.runtime.market import ScenarioMarket
from drivers.scenario import ScenarioError

from .conftest import JUNE

# a Friday and the following Monday: the weekend has no settlement
DAILY = "date,gas_eur_per_mwh\n2024-06-07,30.0\n2024-06-10,36.0\n"


def _hours(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(count)]


def test_a_settlement_prices_the_next_day_and_is_carried_over_the_weekend(tmp_path: Path) -> None:
    path = tmp_path / "gas.csv"
    path.write_text(DAILY)
    times = _hours(datetime(2024, 6, 7, tzinfo=UTC), 24 * 5)
    values, note = fuel_prices_at(path, times)
    by_time = dict(zip(times, values, strict=True))
    assert by_time[datetime(2024, 6, 8, 0, tzinfo=UTC)] == 30.0  # Friday's, from Saturday
    assert by_time[datetime(2024, 6, 10, 23, tzinfo=UTC)] == 30.0  # still Friday's on Monday
    assert by_time[datetime(2024, 6, 11, 0, tzinfo=UTC)] == 36.0  # Monday's from Tuesday
    assert by_time[datetime(2024, 6, 7, 5, tzinfo=UTC)] == 30.0  # before the first: said so
    assert "24 rows before the first quote" in note and "gas_eur_per_mwh" in note


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,gas_eur_per_mwh\n2024-06-07,30\n", "line 1: expected a 'date' column"),
        (
            "date,gas_eur_per_mwh\n2024-06-07,30\n2024-06-10,abc\n",
            "line 3: 'gas_eur_per_mwh' is not a number: 'abc'",
        ),
        (
            "date,gas_eur_per_mwh\n2024-06-07,30\n2024-06-07,31\n",
            "line 3: date 2024-06-07 is not after",
        ),
        ("date,gas_eur_per_mwh\n07.06.2024,30\n", "line 2: date '07.06.2024' is not YYYY-MM-DD"),
        (
            "date,gas_eur_per_mwh\n2024-06-07,-1\n",
            r"line 2: 'gas_eur_per_mwh' -1 is outside 0\.\.2000 EUR/MWh",
        ),
    ],
)
def test_a_bad_fuel_file_is_refused_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gas.csv"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        fuel_prices_at(path, _hours(datetime(2024, 6, 7, tzinfo=UTC), 3))


def test_the_audited_market_refuses_a_fuel_quote_from_the_future(
    tmp_path: Path, river: Plant
) -> None:
    path = tmp_path / "gas.csv"
    path.write_text("date,gas_eur_per_mwh\n2024-06-07,30.0\n2024-06-09,36.0\n")
    data = load_evaluation_data(JUNE, river.site, fuel_from=path)
    assert data.row_fuel is not None
    config = river.control.planner
    rule = DisclosureRule(config.publication_time, river.site.plant.timezone)
    honest = AuditedMarket(
        ScenarioMarket(data.market_scenario, config.publication_time, river.site.plant.timezone),
        rule,
        data,
    )
    sunday = datetime(2024, 6, 9, 12, tzinfo=UTC)
    assert honest.fuel_price(sunday) == 30.0
    assert honest.fuel_price(sunday + timedelta(days=1)) == 36.0

    class PeekingMarket(ScenarioMarket):
        def fuel_price(self, now_utc: datetime) -> float | None:
            return super().fuel_price(now_utc + timedelta(days=1))

    peeking = PeekingMarket(data.market_scenario, config.publication_time, "Europe/Copenhagen")
    with pytest.raises(InformationLeak, match="fuel price 36"):
        AuditedMarket(peeking, rule, data).fuel_price(sunday)


HEADER_ROW = "date,gas_eur_per_mwh\n2024-06-07,30\n"


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("2024-06-10,1e300\n", r"line 3: 'gas_eur_per_mwh' 1e300 is outside 0\.\.2000 EUR/MWh"),
        ("2024-06-10,nan\n", "line 3: 'gas_eur_per_mwh' is not finite: 'nan'"),
        ("2024-06-10,inf\n", "line 3: 'gas_eur_per_mwh' is not finite: 'inf'"),
        ("2024-06-10,30,5\n", "line 3: 3 fields, the header has 2; a decimal comma"),
        ('2024-06-10,"30,5"\n', r"line 3: 'gas_eur_per_mwh' is not a number: '30,5' \(a decimal"),
        (f'2024-06-10,"{"9" * 140_000}"\n', "line 3: not CSV"),
        ("9999-12-31,30\n", "line 3: date 9999-12-31 is outside 1900..2099"),
        ("2024-06-07 ,31\n", "line 3: date 2024-06-07 is not after the previous row"),
    ],
)
def test_a_bad_fuel_row_is_refused_with_its_line(tmp_path: Path, tail: str, message: str) -> None:
    path = tmp_path / "gas.csv"
    path.write_text(HEADER_ROW + tail)
    with pytest.raises(ScenarioError, match=message):
        fuel_prices_at(path, _hours(datetime(2024, 6, 7, tzinfo=UTC), 3))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"date,gas_eur_per_mwh\n", "no data rows"),
        (b"date,gas_eur_per_mwh\n2024-06-07,3\xff\n", "line 2: not UTF-8 text"),
        (b"date;gas_eur_per_mwh\n2024-06-07;30,5\n", "line 1: the columns are separated by ';'"),
    ],
)
def test_an_unreadable_fuel_file_is_refused_clearly(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "gas.csv"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=message):
        fuel_prices_at(path, _hours(datetime(2024, 6, 7, tzinfo=UTC), 3))


def test_a_fuel_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "gas.csv"
    path.write_text(DAILY, encoding="utf-8-sig")
    values, _ = fuel_prices_at(path, [datetime(2024, 6, 8, tzinfo=UTC)])
    assert values == [30.0]
