"""The scenario reader refuses bad files with the line number and reason, and holds values."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.scenario import ScenarioError, load_scenario, parse_scenario

GOOD = [
    "timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh,outdoor_temp_c,comment",
    "2024-01-01T00:00Z,50.5,120,-3.0,x",
    "2024-01-01T01:00Z,-5.0,,-2.5,y",
    "2024-01-01T01:30Z,40,100,-2.0,z",
]


def test_reads_values_and_holds_them_until_the_next_row() -> None:
    scenario = parse_scenario(GOOD, "good.csv")
    assert scenario.has("carbon_g_per_kwh") and not scenario.has("heat_demand_kw")
    row = scenario.at(datetime(2024, 1, 1, 0, 59, tzinfo=UTC))
    assert row.price_eur_per_mwh == 50.5 and row.outdoor_temp_c == -3.0
    second = scenario.at(datetime(2024, 1, 1, 1, 10, tzinfo=UTC))
    assert second.price_eur_per_mwh == -5.0  # negative prices are real
    assert second.carbon_g_per_kwh is None
    assert scenario.end_utc == datetime(2024, 1, 1, 2, 0, tzinfo=UTC)


def test_reading_outside_the_file_is_an_error_not_a_guess() -> None:
    scenario = parse_scenario(GOOD, "good.csv")
    with pytest.raises(ScenarioError, match="outside the scenario"):
        scenario.at(datetime(2024, 1, 1, 2, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["timestamp_utc,carbon_g_per_kwh", "2024-01-01T00:00Z,1"],
            "line 1: missing column(s) price_eur_per_mwh",
        ),
        (
            [GOOD[0], GOOD[1], "2024-01-01T01:00Z,abc,1,1,x"],
            "line 3: 'price_eur_per_mwh' is not a number: 'abc'",
        ),
        (
            [GOOD[0], GOOD[1], GOOD[1]],
            "line 3: timestamp 2024-01-01T00:00Z is not after the previous row",
        ),
        ([GOOD[0], GOOD[1], "2024-01-01T03:00Z,1,1,1,x"], "line 3: gap of 3:00:00"),
        (
            [GOOD[0], "2024-01-01T00:00,1,1,1,x"],
            "line 2: timestamp '2024-01-01T00:00' has no time zone",
        ),
        (
            [GOOD[0], "2024-01-01T00:00+01:00,1,1,1,x"],
            "line 2: timestamp '2024-01-01T00:00+01:00' is not UTC",
        ),
        ([GOOD[0], "2024-01-01T00:00Z,nan,1,1,x"], "line 2: 'price_eur_per_mwh' is not finite"),
        ([GOOD[0], "2024-01-01T00:00Z,1,1"], "line 2: 3 fields, the header has 5"),
        ([GOOD[0]], "no data rows"),
    ],
)
def test_bad_files_are_refused_with_line_and_reason(lines: list[str], expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(lines, "bad.csv")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("bad.csv")


def test_a_negative_demand_is_refused() -> None:
    lines = ["timestamp_utc,price_eur_per_mwh,heat_demand_kw", "2024-01-01T00:00Z,1,-4"]
    with pytest.raises(ScenarioError, match="line 2: 'heat_demand_kw' is negative"):
        parse_scenario(lines, "bad.csv")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.csv")


def test_embedded_demo_scenario_is_valid() -> None:
    from controller.scenarios import default_scenario_path

    scenario = load_scenario(default_scenario_path())
    assert len(scenario.rows) == 14 * 24
    assert scenario.has("carbon_g_per_kwh") and scenario.has("outdoor_temp_c")


def test_a_fuel_price_column_is_read_and_a_negative_one_refused_with_its_line() -> None:
    lines = [
        "timestamp_utc,price_eur_per_mwh,fuel_price_eur_per_mwh",
        "2024-01-01T00:00Z,50,34.5",
        "2024-01-01T01:00Z,51,",
    ]
    scenario = parse_scenario(lines, "fuel.csv")
    assert scenario.has("fuel_price_eur_per_mwh")
    assert scenario.rows[0].fuel_price_eur_per_mwh == 34.5
    assert scenario.rows[1].fuel_price_eur_per_mwh is None
    with pytest.raises(
        ScenarioError, match=r"fuel\.csv, line 3: 'fuel_price_eur_per_mwh' is negative"
    ):
        parse_scenario([*lines[:2], "2024-01-01T01:00Z,51,-2"], "fuel.csv")
