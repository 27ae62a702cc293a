"""Daily fuel prices (a gas benchmark such as TTF) turned into a price for every scenario row.

The file has a `date` column (YYYY-MM-DD) and one price column in EUR per MWh of fuel; weekends
and exchange holidays are absent. A day's settlement is known at the end of that trading day,
so it prices the fuel from the next day's 00:00 UTC until the next settlement takes over: the
replay never burns gas at a price quoted later. Hours before the first usable quote take the
first quote (the file's start is the only look-ahead, and it is said in the notes).
Prices must lie within the scenario column's range for fuel (`COLUMN_RANGES`). A bad file is
refused with its line number.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from drivers.csv_input import CsvRows, InputFileError, parse_number, read_lines, shown
from drivers.scenario import COLUMN_RANGES, EARLIEST_UTC, LATEST_UTC, ScenarioError


def load_daily_prices(path: Path) -> tuple[str, list[tuple[date, float]]]:
    """(price column name, [(trading day, EUR/MWh)]) in date order."""
    try:
        return _read(path)
    except ScenarioError:
        raise
    except InputFileError as exc:
        raise ScenarioError(str(exc)) from None


def _read(path: Path) -> tuple[str, list[tuple[date, float]]]:
    table = CsvRows(read_lines(path, "fuel price file"), str(path))
    header = table.header
    prices = [name for name in header if name.endswith("_eur_per_mwh")]
    if "date" not in header or len(prices) != 1:
        raise ScenarioError(
            f"{path}, line 1: expected a 'date' column and one '..._eur_per_mwh' price column, "
            f"got {', '.join(header) or 'nothing'}"
        )
    date_at, price_at = header.index("date"), header.index(prices[0])
    allowed = COLUMN_RANGES["fuel_price_eur_per_mwh"]
    earliest, latest = EARLIEST_UTC.date(), LATEST_UTC.date()
    out: list[tuple[date, float]] = []
    for line_number, fields in table:
        where = f"{path}, line {line_number}"
        day_text = fields[date_at].strip()
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise ScenarioError(f"{where}: date '{shown(day_text)}' is not YYYY-MM-DD") from None
        if not earliest <= day < latest:
            raise ScenarioError(
                f"{where}: date {day} is outside {earliest.year}..{latest.year - 1}"
            )
        try:
            price = parse_number(fields[price_at], prices[0], allowed)
        except ValueError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        if out and day <= out[-1][0]:
            raise ScenarioError(f"{where}: date {day} is not after the previous row")
        out.append((day, price))
    if not out:
        raise ScenarioError(f"{path}: no data rows")
    return prices[0], out


def fuel_prices_at(path: Path, times_utc: list[datetime]) -> tuple[list[float], str]:
    """The fuel price in force at each time, and a note saying where it came from."""
    column, quotes = load_daily_prices(path)
    usable_from = [
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC) for day, _ in quotes
    ]
    values: list[float] = []
    early = 0
    for when in times_utc:
        index = bisect.bisect_right(usable_from, when) - 1
        if index < 0:
            early += 1
            index = 0
        values.append(quotes[index][1])
    note = (
        f"fuel_price_eur_per_mwh: {column} from {path.name}, each trading day's settlement from "
        "the next day 00:00 UTC, carried over weekends and holidays"
    )
    if early:
        note += f" ({early} rows before the first quote take the first quote)"
    return values, note
