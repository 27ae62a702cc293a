"""The scenario reader refuses bad files with the line number and reason, and holds values."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scenario import COLUMN_RANGES, ScenarioError, load_scenario, parse_scenario

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
    with pytest.raises(
        ScenarioError, match=r"line 2: 'heat_demand_kw' -4 is outside 0\.\.10000000 kW"
    ):
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
        ScenarioError, match=r"fuel\.csv, line 3: 'fuel_price_eur_per_mwh' -2 is outside 0\.\.2000"
    ):
        parse_scenario([*lines[:2], "2024-01-01T01:00Z,51,-2"], "fuel.csv")


# --- hardening: every defect a fuzzing campaign found is refused with the file and the line ---

FULL_HEADER = (
    "timestamp_utc,price_eur_per_mwh,carbon_g_per_kwh,outdoor_temp_c,source_temp_c,"
    "heat_demand_kw,fuel_price_eur_per_mwh"
)
FULL_ROW = "2024-01-01T00:00Z,50,120,-3,8,1000,40"
NEXT_STAMP = "2024-01-01T01:00Z"


def _with(column: str, text: str) -> list[str]:
    """The full header, a good first row and a second row with `column` set to `text`."""
    names = FULL_HEADER.split(",")
    fields = [NEXT_STAMP, *FULL_ROW.split(",")[1:]]
    fields[names.index(column)] = text
    return [FULL_HEADER, FULL_ROW, ",".join(fields)]


@pytest.mark.parametrize(
    ("column", "text", "allowed"),
    [
        ("price_eur_per_mwh", "-1e308", "-500..4000 EUR/MWh"),  # planned as "objective -inf"
        ("price_eur_per_mwh", "1e300", "-500..4000 EUR/MWh"),
        ("price_eur_per_mwh", "4000.01", "-500..4000 EUR/MWh"),
        ("price_eur_per_mwh", "1e999", "-500..4000 EUR/MWh"),  # float() makes it inf
        ("carbon_g_per_kwh", "-40", "0..2000 g/kWh"),
        ("carbon_g_per_kwh", "2001", "0..2000 g/kWh"),
        ("outdoor_temp_c", "1e6", "-70..60 °C"),
        ("outdoor_temp_c", "-80", "-70..60 °C"),
        ("source_temp_c", "-500", "-70..100 °C"),
        ("source_temp_c", "120", "-70..100 °C"),
        ("heat_demand_kw", "1e12", "0..10000000 kW"),
        ("fuel_price_eur_per_mwh", "1e9", "0..2000 EUR/MWh"),
    ],
)
def test_a_value_outside_its_column_range_is_refused_with_line_and_range(
    column: str, text: str, allowed: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_with(column, text), "range.csv")
    assert str(caught.value).startswith(
        f"range.csv, line 3: '{column}' {text} is outside {allowed}"
    )


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("price_eur_per_mwh", "-500"),
        ("price_eur_per_mwh", "4000"),
        ("price_eur_per_mwh", "-60.05"),  # DK1 2024's lowest
        ("price_eur_per_mwh", "936.28"),  # DK1 2024's highest
        ("carbon_g_per_kwh", "0"),
        ("outdoor_temp_c", "-45.5"),
        ("source_temp_c", "-20"),  # an air source in a cold night
        ("source_temp_c", "95"),
        ("heat_demand_kw", "0"),
        ("fuel_price_eur_per_mwh", "339.195"),  # TTF's 2022 peak
        ("price_eur_per_mwh", "+1.5E2"),
        ("price_eur_per_mwh", ".5"),
    ],
)
def test_values_at_the_limits_and_real_extremes_are_accepted(column: str, text: str) -> None:
    scenario = parse_scenario(_with(column, text), "edge.csv")
    assert getattr(scenario.rows[1], column) == float(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nan", "'price_eur_per_mwh' is not finite: 'nan'"),
        ("-inf", "'price_eur_per_mwh' is not finite: '-inf'"),
        ("Infinity", "'price_eur_per_mwh' is not finite: 'Infinity'"),
        ("1_000", "'price_eur_per_mwh' is not a number: '1_000'"),  # float() would take it
        ("\u0663\u0660", "'price_eur_per_mwh' is not a number"),  # Arabic-Indic digits, ditto
        ('"50,5"', "'price_eur_per_mwh' is not a number: '50,5' (a decimal comma?"),
    ],
)
def test_text_that_is_not_a_plain_number_is_refused(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_with("price_eur_per_mwh", text), "text.csv")
    assert f"text.csv, line 3: {expected}" in str(caught.value)


def test_a_decimal_comma_that_shifts_the_columns_is_refused_with_a_hint() -> None:
    # "50,5" unquoted reads as two fields: every later column would be one place off
    lines = [GOOD[0], "2024-01-01T00:00Z,50,5,120,-3.0,x"]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(lines, "comma.csv")
    message = str(caught.value)
    assert message.startswith("comma.csv, line 2: 6 fields, the header has 5")
    assert "decimal comma" in message


def test_a_row_with_more_fields_than_the_header_is_refused() -> None:
    with pytest.raises(ScenarioError, match="line 3: 6 fields, the header has 5"):
        parse_scenario([*GOOD[:2], "2024-01-01T01:00Z,1,1,1,x,extra"], "extra.csv")


def test_a_runaway_field_is_refused_with_its_line_not_a_csv_traceback() -> None:
    lines = [*GOOD[:2], f'2024-01-01T01:00Z,"{"1" * 140_000}",1,1,x']
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(lines, "huge.csv")
    assert str(caught.value).startswith("huge.csv, line 3: not CSV (a field longer than")


def test_a_long_bad_field_is_cut_in_the_message() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_with("price_eur_per_mwh", "x" * 50_000), "long.csv")
    assert "(50000 characters)" in str(caught.value) and len(str(caught.value)) < 200


def test_an_unbalanced_quote_is_refused_with_the_line_it_opens() -> None:
    lines = [*GOOD[:2], '2024-01-01T01:00Z,"1,1,1,x', "2024-01-01T01:30Z,1,1,1,x"]
    with pytest.raises(ScenarioError, match=r"quote\.csv, line 3: not CSV"):
        parse_scenario(lines, "quote.csv")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], "empty.csv: empty file (expected a header line)"),
        ([""], "empty.csv, line 1: blank (expected the header line)"),
        (["timestamp_utc,price_eur_per_mwh", "", " , "], "empty.csv: no data rows"),
        (
            ["timestamp_utc;price_eur_per_mwh", "2024-01-01T00:00Z;50,5"],
            "empty.csv, line 1: the columns are separated by ';'",
        ),
        (
            ["timestamp_utc,price_eur_per_mwh,price_eur_per_mwh", "2024-01-01T00:00Z,1,2"],
            "empty.csv, line 1: column(s) price_eur_per_mwh repeated",
        ),
        (
            ["time,price", "2024-01-01T00:00Z,1"],
            "empty.csv, line 1: missing column(s) timestamp_utc, price_eur_per_mwh (the header "
            "has: time, price)",
        ),
        (
            [GOOD[0], GOOD[1], GOOD[2], "2024-01-01T00:30Z,1,1,1,x"],
            "empty.csv, line 4: timestamp 2024-01-01T00:30Z is not after the previous row (line 3)",
        ),
        (
            [GOOD[0], "9999-12-31T23:00Z,1,1,1,x"],  # its end, an hour later, overflows
            "empty.csv, line 2: timestamp 9999-12-31T23:00Z is outside 1900..2099",
        ),
        ([GOOD[0], "yesterday,1,1,1,x"], "empty.csv, line 2: timestamp 'yesterday' is not ISO"),
    ],
)
def test_structural_problems_are_refused_clearly(lines: list[str], expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(lines, "empty.csv")
    assert expected in str(caught.value)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("\n".join(GOOD) + "\n", encoding="utf-8-sig")  # spreadsheet "CSV UTF-8"
    assert load_scenario(path).rows[0].price_eur_per_mwh == 50.5


def test_binary_garbage_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,1\n\xff\xfe\x00\x01")
    with pytest.raises(ScenarioError, match=r"garbage\.csv, line 3: not UTF-8 text"):
        load_scenario(path)
    path.write_bytes(b"timestamp_utc,price_eur_per_mwh\n2024-01-01T00:00Z,1\x00\x00\n")
    with pytest.raises(ScenarioError, match=r"garbage\.csv, line 2: a NUL byte"):
        load_scenario(path)


def test_a_directory_is_refused_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario(tmp_path)


def test_rows_know_their_file_lines_across_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n".join([GOOD[0], GOOD[1], "", "", GOOD[2]]) + "\n")
    scenario = load_scenario(path)
    assert scenario.line_numbers == (2, 5)
    assert scenario.where(1) == f"{path}, line 5"


SHARED_DATA = Path("/work/shared/data")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the development data is not on this machine")
@pytest.mark.parametrize(
    "name", ["dk1_2024_price_weather_hourly.csv", "dk2_2021_2022_price_carbon_hourly.csv"]
)
def test_the_real_development_data_is_within_the_ranges(name: str) -> None:
    scenario = load_scenario(SHARED_DATA / name)
    assert len(scenario.rows) in (8784, 17520)


_TOKENS = [
    "2024-01-01T00:00Z", "2024-01-01T01:00Z", "9999-12-31T23:00Z", "50", "-1e308", "1e300", "nan",
    "inf", "", "1,5", '"', '"1,5"', "\x00", ";", "-0", "1e-320", "1_0", "+", "x" * 300, " ",
]  # fmt: skip
_FIELDS = st.lists(st.sampled_from(_TOKENS) | st.text(max_size=8), max_size=9)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_FIELDS.map(",".join), max_size=6), keep_header=st.booleans())
def test_any_file_is_read_within_the_ranges_or_refused_with_its_name(
    rows: list[str], keep_header: bool
) -> None:
    lines = [FULL_HEADER, *rows] if keep_header else rows
    try:
        scenario = parse_scenario(lines, "fuzz.csv")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.csv")
        return
    for row in scenario.rows:
        for column, allowed in COLUMN_RANGES.items():
            value = getattr(row, column)
            assert value is None or allowed.low <= value <= allowed.high
    assert scenario.end_utc > scenario.start_utc


def test_an_it_load_column_is_read_and_a_bad_value_refused_with_its_line() -> None:
    lines = [
        "timestamp_utc,price_eur_per_mwh,it_load_kw",
        "2024-01-01T00:00Z,50,8000",
        "2024-01-01T01:00Z,51,",
    ]
    scenario = parse_scenario(lines, "dc.csv")
    assert scenario.has("it_load_kw")
    assert [row.it_load_kw for row in scenario.rows] == [8000.0, None]
    for text, reason in (
        ("-5", r"'it_load_kw' -5 is outside 0\.\.2000000 kW \(2 GW, above the largest"),
        ("8e9", r"'it_load_kw' 8e9 is outside 0\.\.2000000 kW"),  # W written for kW
        ("8,000", r"4 fields, the header has 3; a decimal comma"),
        ("abc", r"'it_load_kw' is not a number: 'abc'"),
        ("nan", r"'it_load_kw' is not finite: 'nan'"),
    ):
        with pytest.raises(ScenarioError, match=rf"^dc\.csv, line 3: {reason}"):
            parse_scenario([*lines[:2], f"2024-01-01T01:00Z,51,{text}"], "dc.csv")
