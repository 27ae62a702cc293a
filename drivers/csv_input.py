"""Reading a small CSV input file (a scenario, a daily fuel price series) defensively.

Every problem becomes an `InputFileError` that names the file and the line: undecodable bytes,
binary data, a field of runaway size, a row with more or fewer fields than the header (with a
hint when a decimal comma is the likely cause), a number that is not a plain decimal or lies
outside the range the column allows. The callers turn it into their own error type.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# A decimal number as a spreadsheet or a script writes it: ASCII digits, an optional '.', an
# optional exponent. float() alone would also take '1_000', Arabic-Indic digits and 'nan'.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
DECIMAL_COMMA_HINT = "a decimal comma? write 1.5, not 1,5: fields are separated by commas"


class InputFileError(ValueError):
    """A line of an input file that cannot be used; the text starts with file and line."""


@dataclass(frozen=True, slots=True)
class ValueRange:
    """The values a column accepts, inclusive, with its unit and the reason for the limits."""

    low: float
    high: float
    unit: str
    why: str

    def describe(self) -> str:
        return f"{_plain(self.low)}..{_plain(self.high)} {self.unit} ({self.why})"


def _plain(value: float) -> str:
    """10000000 rather than 1e+07: a limit a reader compares with a column's digits."""
    return str(int(value)) if value.is_integer() else f"{value:g}"


def read_lines(path: Path, what: str) -> list[str]:
    """The file's lines as text; a leading byte-order mark (spreadsheet 'CSV UTF-8') is dropped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise InputFileError(f"{path}: {what} cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputFileError(
            f"{path}, line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputFileError(f"{path}, line {line}: a NUL byte: binary data, not CSV text")
    return text.splitlines()


class CsvRows:
    """The header and the data rows of `lines`, each row with the line it starts on.

    Blank lines are skipped. A row must have exactly as many fields as the header and fit on
    one line (a quoted field running over lines is an unbalanced quote, not a value).
    """

    def __init__(self, lines: list[str], source: str) -> None:
        self.source = source
        self._lines = lines
        self._reader = csv.reader(lines, strict=True)
        self._consumed = 0
        first = self._next_record()
        if first is None:
            raise InputFileError(f"{source}: empty file (expected a header line)")
        self.header = [name.strip() for name in first[1]]
        if not any(self.header):
            raise InputFileError(f"{source}, line 1: blank (expected the header line)")
        if len(self.header) == 1 and ";" in self.header[0]:
            raise InputFileError(
                f"{source}, line 1: the columns are separated by ';': the file must be "
                "comma-separated, with '.' as the decimal point"
            )
        named = [name for name in self.header if name]
        repeated = sorted({name for name in named if named.count(name) > 1})
        if repeated:
            raise InputFileError(f"{source}, line 1: column(s) {', '.join(repeated)} repeated")

    def missing(self, required: tuple[str, ...]) -> None:
        absent = [name for name in required if name not in self.header]
        if absent:
            raise InputFileError(
                f"{self.source}, line 1: missing column(s) {', '.join(absent)} "
                f"(the header has: {', '.join(self.header) or 'nothing'})"
            )

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        while (record := self._next_record()) is not None:
            line_number, fields = record
            if not fields or all(not field.strip() for field in fields):
                continue
            if len(fields) != len(self.header):
                hint = f"; {DECIMAL_COMMA_HINT}" if len(fields) > len(self.header) else ""
                raise InputFileError(
                    f"{self.source}, line {line_number}: {len(fields)} fields, the header has "
                    f"{len(self.header)}{hint}"
                )
            yield line_number, fields

    def _next_record(self) -> tuple[int, list[str]] | None:
        line_number = self._consumed + 1
        try:
            fields = next(self._reader, None)
        except csv.Error as exc:
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = f"a field longer than {csv.field_size_limit()} characters is no value"
            raise InputFileError(f"{self.source}, line {line_number}: not CSV ({reason})") from None
        self._consumed = self._reader.line_num
        if fields is None:
            return None
        if self._consumed > line_number:
            raise InputFileError(
                f"{self.source}, line {line_number}: a quoted field runs over "
                f"{self._consumed - line_number + 1} lines (an unbalanced '\"'?)"
            )
        return line_number, fields


def parse_number(text: str, name: str, allowed: ValueRange) -> float:
    """`text` as a number within `allowed`; ValueError says what is wrong with it."""
    value = text.strip()
    if not _PLAIN_NUMBER.fullmatch(value):
        if value.lower() in _NOT_FINITE:
            raise ValueError(f"'{name}' is not finite: '{value}'")
        hint = f" ({DECIMAL_COMMA_HINT})" if "," in value else ""
        raise ValueError(f"'{name}' is not a number: '{shown(value)}'{hint}")
    number = float(value)  # 1e999 gives inf, refused by the range below
    if not allowed.low <= number <= allowed.high:
        raise ValueError(f"'{name}' {value} is outside {allowed.describe()}")
    return number


def shown(text: str) -> str:
    """A field as it appears in a message: long garbage is cut, not echoed."""
    return text if len(text) <= 40 else f"{text[:40]}... ({len(text)} characters)"
