"""Scenario files for the evaluator: completed as documented, refused with the line when bad."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.config import Plant, load_plant
from controller.evaluate.data import (
    load_evaluation_data,
    replay_window,
    synthetic_outdoor_c,
)
from drivers.scenario import ScenarioError

HEADER = "timestamp_utc,price_eur_per_mwh,outdoor_temp_c,heat_demand_kw"


def write(tmp_path: Path, lines: list[str], name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hours(count: int, start_day: int = 1, month: int = 1, year: int = 2024) -> list[str]:
    return [f"{year}-{month:02d}-{start_day + h // 24:02d}T{h % 24:02d}:00Z" for h in range(count)]


def test_a_bad_number_is_refused_with_its_line(tmp_path: Path, river: Plant) -> None:
    stamps = hours(6)
    lines = [HEADER, *(f"{t},50,1.0,1000" for t in stamps)]
    lines[4] = f"{stamps[3]},fifty,1.0,1000"
    with pytest.raises(ScenarioError, match=r"line 5: 'price_eur_per_mwh' is not a number"):
        load_evaluation_data(write(tmp_path, lines), river.site)


def test_an_empty_temperature_is_refused_with_its_line_counting_blank_lines(
    tmp_path: Path, river: Plant
) -> None:
    stamps = hours(6)
    lines = [
        "timestamp_utc,price_eur_per_mwh,outdoor_temp_c",
        f"{stamps[0]},50,1.0",
        "",
        f"{stamps[1]},50,1.0",
        f"{stamps[2]},50,",
        f"{stamps[3]},50,1.0",
    ]
    with pytest.raises(ScenarioError, match=r"line 5: 'outdoor_temp_c' is empty"):
        load_evaluation_data(write(tmp_path, lines), river.site)


def test_a_gap_in_time_is_refused_with_its_line(tmp_path: Path, river: Plant) -> None:
    stamps = hours(6)
    lines = [HEADER, *(f"{t},50,1.0,1000" for t in stamps[:3]), f"{stamps[5]},50,1.0,1000"]
    with pytest.raises(ScenarioError, match=r"line 5: gap of 3:00:00"):
        load_evaluation_data(write(tmp_path, lines), river.site)


def test_demand_is_rescaled_to_the_requested_peak(tmp_path: Path, river: Plant) -> None:
    stamps = hours(4)
    lines = [
        HEADER,
        *(f"{t},50,1.0,{kw}" for t, kw in zip(stamps, (100, 200, 400, 300), strict=True)),
    ]
    data = load_evaluation_data(write(tmp_path, lines), river.site, demand_peak_kw=18_000)
    assert list(data.heat_demand_kw) == pytest.approx([4500, 9000, 18000, 13500])
    assert any("rescaled" in note for note in data.notes)


def test_a_peak_without_a_demand_column_is_refused(tmp_path: Path, river: Plant) -> None:
    lines = ["timestamp_utc,price_eur_per_mwh", *(f"{t},50" for t in hours(3))]
    with pytest.raises(ScenarioError, match=r"has\s+none"):
        load_evaluation_data(write(tmp_path, lines), river.site, demand_peak_kw=1000)


def test_without_demand_the_network_model_drives_it(tmp_path: Path, river: Plant) -> None:
    lines = ["timestamp_utc,price_eur_per_mwh,outdoor_temp_c", *(f"{t},50,-12" for t in hours(3))]
    data = load_evaluation_data(write(tmp_path, lines), river.site)
    assert list(data.heat_demand_kw) == pytest.approx([river.site.network.design_heat_kw] * 3)


def test_missing_columns_are_borrowed_by_calendar_hour_or_documented(
    tmp_path: Path, river: Plant
) -> None:
    # a leap-year target borrows from a common year: 29 February takes the 28th
    target = write(
        tmp_path,
        ["timestamp_utc,price_eur_per_mwh", "2024-02-29T23:00Z,50", "2024-03-01T00:00Z,60"],
    )
    donor = write(
        tmp_path,
        [
            "timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh,outdoor_temp_c",
            "2022-02-28T23:00Z,1,111,-3.0",
            "2022-03-01T00:00Z,1,222,4.0",
        ],
        "donor.csv",
    )
    data = load_evaluation_data(target, river.site, outdoor_from=donor, carbon_from=donor)
    assert list(data.row_carbon) == [111.0, 222.0]
    assert list(data.row_outdoor) == [-3.0, 4.0]
    plain = load_evaluation_data(target, river.site)
    assert list(plain.row_carbon) == [0.0, 0.0]
    when = datetime(2024, 2, 29, 23, tzinfo=UTC)
    assert plain.row_outdoor[0] == pytest.approx(synthetic_outdoor_c(when))
    assert any("synthetic" in note for note in plain.notes)
    assert any("boiler" in note for note in plain.notes)


def test_a_window_outside_the_file_is_refused(june_path: Path, river: Plant) -> None:
    data = load_evaluation_data(june_path, river.site)
    start, end = replay_window(data, None, None)
    assert start == datetime(2024, 6, 8, tzinfo=UTC) and end == data.end_utc
    with pytest.raises(ScenarioError, match="run past the scenario's end"):
        replay_window(data, datetime(2024, 6, 8, tzinfo=UTC), 5)
    with pytest.raises(ScenarioError, match="outside the scenario"):
        replay_window(data, datetime(2024, 5, 1, tzinfo=UTC), 1)


def test_a_merge_file_out_of_range_is_refused_with_its_own_line(
    tmp_path: Path, river: Plant
) -> None:
    target = write(tmp_path, ["timestamp_utc,price_eur_per_mwh", *(f"{t},50" for t in hours(3))])
    donor_lines = [
        "timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh,outdoor_temp_c",
        *(f"{t},1,100,2.0" for t in hours(3)),
    ]
    negative = [*donor_lines[:3], donor_lines[3].replace(",100,", ",-100,")]
    donor = write(tmp_path, negative, "carbon.csv")
    with pytest.raises(ScenarioError) as caught:
        load_evaluation_data(target, river.site, carbon_from=donor)
    assert str(caught.value).startswith(f"{donor}, line 4: 'carbon_g_per_kwh' -100 is outside")
    scorching = [*donor_lines[:2], donor_lines[2].replace(",2.0", ",1e6")]
    donor = write(tmp_path, scorching, "weather.csv")
    with pytest.raises(ScenarioError) as caught:
        load_evaluation_data(target, river.site, outdoor_from=donor)
    assert str(caught.value).startswith(f"{donor}, line 3: 'outdoor_temp_c' 1e6 is outside")


@pytest.mark.parametrize("peak_kw", [float("inf"), float("nan"), 0.0, 1e12])
def test_a_demand_peak_outside_the_demand_range_is_refused(
    tmp_path: Path, river: Plant, peak_kw: float
) -> None:
    lines = [HEADER, *(f"{t},50,1.0,{kw}" for t, kw in zip(hours(2), (100, 200), strict=True))]
    with pytest.raises(ScenarioError, match=r"--demand-peak-kw .* is outside 0\.\.10000000 kW"):
        load_evaluation_data(write(tmp_path, lines), river.site, demand_peak_kw=peak_kw)


SHARED_DATA = Path("/work/shared/data")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the development data is not on this machine")
def test_the_real_files_load_and_merge_within_the_ranges(river: Plant) -> None:
    data = load_evaluation_data(
        SHARED_DATA / "dk1_2024_price_weather_hourly.csv",
        river.site,
        carbon_from=SHARED_DATA / "dk2_2021_2022_price_carbon_hourly.csv",
        fuel_from=SHARED_DATA / "ttf_2021_2024_daily_eur_per_mwh.csv",
    )
    assert data.hours == 8784
    assert data.row_fuel is not None and float(data.row_fuel.max()) < 100.0  # 2024's gas


def test_an_it_load_column_drives_the_datacentre_source_and_is_refused_bad_with_its_line(
    tmp_path: Path, river: Plant
) -> None:
    datacentre = load_plant(river.path.parent / "datacentre_12mw.toml")
    stamps = hours(6)
    loads = [4000, 4000, 8000, 8000, 6000, 6000]
    lines = [
        f"{HEADER},it_load_kw",
        *(f"{t},50,1.0,1000,{load}" for t, load in zip(stamps, loads, strict=True)),
    ]
    data = load_evaluation_data(write(tmp_path, lines), datacentre.site)
    assert data.row_it_load is not None and data.source_heat_kw is not None
    # 95 % of the IT load reaches the loop; the loop's warm side follows the load
    assert data.source_heat_kw.tolist() == pytest.approx([0.95 * load for load in loads])
    assert data.source_temp_c.tolist() == pytest.approx([30.0 + load / 1000.0 for load in loads])
    assert any("it_load_kw: the file's own column" in note for note in data.notes)
    # a river plant has no use for it, and says so
    plain = load_evaluation_data(write(tmp_path, lines, "r.csv"), river.site)
    assert plain.row_it_load is None and plain.source_heat_kw is None
    assert any("not a data centre" in note for note in plain.notes)
    lines[3] = f"{stamps[2]},50,1.0,1000,-8000"
    with pytest.raises(ScenarioError, match=r"line 4: 'it_load_kw' -8000 is outside 0\.\.2000000"):
        load_evaluation_data(write(tmp_path, lines, "bad.csv"), datacentre.site)
