"""Hypothesis strategies that break good documents: the shipped plant files and point maps
(TOML), scenario CSV files and the bridge's JSON messages.

Each strategy starts from a real, valid input and changes a few things, so that most inputs
get past the syntax and reach the checks behind it. A case carries its bytes and a short
description of what was changed, which is what the report shows.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from bench.chaos.toml_text import dumps

# a value replaced by this placeholder is written as raw text after serialization: literals no
# document model can hold (a 5,000-digit integer, nesting deeper than the parser's stack)
RAW = "@@raw@@"
HUGE_TEXT_CHARS = 200_000

WEIRD_VALUES: tuple[object, ...] = (
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    0,
    0.0,
    -0.0,
    -1,
    -1.5,
    5e-324,
    10**30,
    -(10**30),
    2**63,
    True,
    False,
    "text",
    "",
    " ",
    "1e308",
    "nan",
    [],
    [1, 2],
    {},
    1e20,  # as a timestamp: pydantic reads large numbers as milliseconds since 1970
)
# most inputs change one or two things: more changes mostly stop at the first one
CHANGE_COUNTS = (1, 1, 1, 2, 2, 3, 4)
TOML_RAW_TOKENS: tuple[str, ...] = (
    "9" * 5000,  # beyond Python's 4,300-digit int conversion limit
    "[" * 3000 + "]" * 3000,  # nesting beyond the recursion limit
    "1e99999",  # overflows to inf while parsing
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "0x7FFFFFFFFFFFFFFFFFFFFFFF",
    "{a = 1}",
)
JSON_RAW_TOKENS: tuple[str, ...] = (
    "9" * 5000,
    "1" + "0" * 400,  # converts to int, overflows a float
    "1e99999",
    "-1e99999",
    "NaN",
    "Infinity",
    "-Infinity",
    "[" * 50_000 + "]" * 50_000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "[" * 500 + "]" * 500,  # deep, but within json's limit: reaches validation
)


@dataclass(frozen=True)
class FuzzCase:
    base: str  # the document it was derived from
    changes: tuple[str, ...]
    payload: bytes

    def summary(self) -> str:
        head = f"{self.base}: {'; '.join(self.changes) or 'unchanged'}"
        return f"{head} | payload[:200] {self.payload[:200]!r}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:60]}... ({len(text)} chars)"


def _huge_text(size: int) -> str:
    return "x" * size


weird_value = st.one_of(
    st.sampled_from(WEIRD_VALUES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e5, max_value=1e5),
    st.integers(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=40),
    st.integers(min_value=HUGE_TEXT_CHARS // 2, max_value=HUGE_TEXT_CHARS).map(_huge_text),
    st.just(RAW),
)


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# any moment of the calendar, with any UTC offset a datetime can carry (under a day)
weird_timestamp = st.one_of(
    st.builds(
        lambda when, minutes: when.isoformat() + _offset_text(minutes),
        st.datetimes(),
        st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
    ),
    st.datetimes().map(lambda when: when.isoformat() + "Z"),
    st.sampled_from(
        (
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:45:00Z",
            "9999-12-31T23:59:59-14:00",
            "2026-12-03T12:00:00",
        )
    ),
)
weird_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e4, max_value=1e4),
    st.integers(),
    st.sampled_from((math.nan, math.inf, -math.inf, 1e308, -1e308, 10**30, -1, 0)),
)
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ]")


def replacement_for(original: object) -> st.SearchStrategy[object]:
    """A bad value, half the time of the original's own kind (a timestamp for a timestamp, a
    number for a number), so that it passes the type check and meets the range checks."""
    if isinstance(original, str) and _TIMESTAMP.match(original):
        return st.one_of(weird_timestamp, weird_value)
    if isinstance(original, int | float) and not isinstance(original, bool):
        return st.one_of(weird_number, weird_value)
    return weird_value


# --- documents (TOML plant files and point maps; JSON messages) ----------------------------

Path_ = tuple[str | int, ...]


def _paths(node: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every key and list entry below `node`, depth-first."""
    found: list[Path_] = []
    if isinstance(node, dict):
        for key, child in node.items():
            found.append((*prefix, key))
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(child, (*prefix, index)))
    return found


def _leaf_paths(document: Any) -> list[Path_]:
    return [p for p in _paths(document) if not isinstance(_get(document, p), dict | list)]


def _get(node: Any, path: Path_) -> Any:
    for part in path:
        node = node[part]
    return node


def _table_arrays(document: Any, names: Sequence[str]) -> list[Path_]:
    return [
        p
        for p in _paths(document)
        if p and p[-1] in names and isinstance(_get(document, p), list) and _get(document, p)
    ]


@dataclass(frozen=True)
class Base:
    name: str
    document: dict[str, Any]
    leaves: tuple[Path_, ...]
    nodes: tuple[Path_, ...]
    arrays: tuple[Path_, ...]

    @classmethod
    def of(cls, name: str, document: dict[str, Any], array_names: Sequence[str]) -> Base:
        return cls(
            name,
            document,
            tuple(_leaf_paths(document)),
            tuple(_paths(document)),
            tuple(_table_arrays(document, array_names)),
        )


def _dotted(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


@st.composite
def _mutate_document(
    draw: st.DrawFn, base: Base, raw_tokens: Sequence[str]
) -> tuple[dict[str, Any], tuple[str, ...], str | None]:
    """A deep copy of `base` with one to four changes; a raw token replaces RAW if drawn."""
    document = copy.deepcopy(base.document)
    changes: list[str] = []
    raw: str | None = None
    for _ in range(draw(st.sampled_from(CHANGE_COUNTS))):
        kind = draw(st.sampled_from(("replace", "replace", "replace", "drop", "duplicate", "add")))
        if kind == "replace" and base.leaves:
            path = draw(st.sampled_from(base.leaves))
            value = draw(replacement_for(_get(base.document, path)))
            if _set(document, path, value):
                if value == RAW and raw is None:
                    raw = draw(st.sampled_from(raw_tokens))
                    changes.append(f"{_dotted(path)} = <raw {_short(raw)}>")
                else:
                    changes.append(f"{_dotted(path)} = {_short(value)}")
        elif kind == "drop" and base.nodes:
            path = draw(st.sampled_from(base.nodes))
            if _drop(document, path):
                changes.append(f"drop {_dotted(path)}")
        elif kind == "duplicate" and base.arrays:
            path = draw(st.sampled_from(base.arrays))
            rename = draw(st.booleans())
            if _duplicate(document, path, draw(st.integers(min_value=0, max_value=7)), rename):
                changes.append(
                    f"duplicate an entry of {_dotted(path)}{' renamed' if rename else ''}"
                )
        elif kind == "add" and base.nodes:
            path = draw(st.sampled_from(base.nodes))
            key = draw(st.sampled_from(("extra", "name", "units", "min", "max", "kind", "")))
            value = draw(weird_value.filter(lambda v: v != RAW))
            if _add(document, path, key, value):
                changes.append(f"add {_dotted(path)}.{key} = {_short(value)}")
    return document, tuple(changes), raw


def _set(document: Any, path: Path_, value: object) -> bool:
    try:
        parent = _get(document, path[:-1])
        parent[path[-1]] = value
    except (KeyError, IndexError, TypeError):  # an earlier change removed the place
        return False
    return True


def _drop(document: Any, path: Path_) -> bool:
    try:
        parent = _get(document, path[:-1])
        del parent[path[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _duplicate(document: Any, path: Path_, index: int, rename: bool) -> bool:
    try:
        entries = _get(document, path)
        entry = copy.deepcopy(entries[index % len(entries)])
    except (KeyError, IndexError, TypeError, ZeroDivisionError):
        return False
    if rename and isinstance(entry, dict) and isinstance(entry.get("name"), str):
        entry["name"] = f"{entry['name']}_dup"
    entries.append(entry)
    return True


def _add(document: Any, path: Path_, key: str, value: object) -> bool:
    try:
        node = _get(document, path)
    except (KeyError, IndexError, TypeError):
        return False
    if not isinstance(node, dict):
        return False
    node[key] = value
    return True


@st.composite
def _corrupt_text(draw: st.DrawFn, text: bytes) -> tuple[bytes, str | None]:
    """Now and then (one input in ten) break the bytes themselves: cut the file short or
    splice in garbage. Rarely, so that most inputs reach the checks behind the parser."""
    roll = draw(st.integers(min_value=0, max_value=19))
    if roll > 1 or not text:
        return text, None
    kind = "truncate" if roll == 0 else "garbage"
    position = draw(st.integers(min_value=0, max_value=len(text) - 1))
    if kind == "truncate":
        return text[:position], f"truncated at byte {position}"
    garbage = draw(
        st.one_of(
            st.binary(min_size=1, max_size=16),
            st.sampled_from((b"\xff\xfe", b"\x00", b"\xc3", b"\xed\xa0\x80", b"\r", b"\x0b")),
        )
    )
    return text[:position] + garbage + text[position:], f"bytes {garbage!r} at {position}"


def toml_documents(bases: Sequence[Base]) -> st.SearchStrategy[FuzzCase]:
    @st.composite
    def build(draw: st.DrawFn) -> FuzzCase:
        base = draw(st.sampled_from(bases))
        document, changes, raw = draw(_mutate_document(base, TOML_RAW_TOKENS))
        text = dumps(document).encode("utf-8", "surrogatepass")
        if raw is not None:
            text = text.replace(f'"{RAW}"'.encode(), raw.encode(), 1)
        text, corruption = draw(_corrupt_text(text))
        if corruption:
            changes = (*changes, corruption)
        return FuzzCase(base.name, changes, text)

    return build()


def json_documents(bases: Sequence[Base]) -> st.SearchStrategy[FuzzCase]:
    @st.composite
    def build(draw: st.DrawFn) -> FuzzCase:
        base = draw(st.sampled_from(bases))
        document, changes, raw = draw(_mutate_document(base, JSON_RAW_TOKENS))
        text = json.dumps(document, allow_nan=True).encode("utf-8", "surrogatepass")
        if raw is not None:
            text = text.replace(f'"{RAW}"'.encode(), raw.encode(), 1)
        return FuzzCase(base.name, changes, text)

    return build()


# --- CSV (scenario files) -------------------------------------------------------------------

CSV_WEIRD_FIELDS: tuple[str, ...] = (
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "-1e308",
    "1e309",
    "80,20",  # a decimal comma, unquoted: the row gains a field
    '"80,20"',  # a decimal comma, quoted
    "",
    " ",
    "0x10",
    "1_000",
    "١٢",  # Arabic-Indic digits: float() reads them
    "-0",
    "1e-320",
    "\x00",
    "\ufeff1",
    "9" * 5000,
    '"',
    "12\r\n34",
)
CSV_WEIRD_TIMESTAMPS: tuple[str, ...] = (
    "9999-12-31T23:00Z",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00Z",
    "2024-01-06T00:00+01:00",
    "2024-01-06T00:00",
    "2024-02-30T00:00Z",
    "2024-01-06",
    "garbage",
    "",
)


@dataclass(frozen=True)
class CsvBase:
    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _csv_field(draw: st.DrawFn) -> tuple[str, str]:
    choice = draw(
        st.one_of(
            st.sampled_from(CSV_WEIRD_FIELDS),
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
            st.floats(min_value=-1e4, max_value=1e4).map(lambda v: f"{v:.2f}"),
            st.text(max_size=20),
            st.binary(min_size=1, max_size=8).map(lambda b: b.decode("latin-1")),
            st.just("<huge>"),
        )
    )
    if choice == "<huge>":
        return "9" * HUGE_TEXT_CHARS, f"<{HUGE_TEXT_CHARS} digits>"
    return choice, _short(choice)


def csv_files(bases: Sequence[CsvBase]) -> st.SearchStrategy[FuzzCase]:
    @st.composite
    def build(draw: st.DrawFn) -> FuzzCase:
        base = draw(st.sampled_from(bases))
        header = list(base.header)
        rows = [list(row) for row in base.rows]
        changes: list[str] = []
        for _ in range(draw(st.sampled_from(CHANGE_COUNTS))):
            kind = draw(
                st.sampled_from(
                    (
                        "field",
                        "field",
                        "field",
                        "timestamp",
                        "extra",
                        "missing",
                        "duplicate",
                        "swap",
                        "header",
                    )
                )
            )
            if not rows:
                break
            r = draw(st.integers(min_value=0, max_value=len(rows) - 1))
            _CSV_CHANGES[kind](draw, header, rows, r, changes)
        text = ("\n".join(",".join(line) for line in [header, *rows]) + "\n").encode(
            "utf-8", "surrogatepass"
        )
        text, corruption = draw(_corrupt_text(text))
        if corruption:
            changes.append(corruption)
        return FuzzCase(base.name, tuple(changes), text)

    return build()


Change = Callable[[st.DrawFn, list[str], list[list[str]], int, list[str]], None]


def _change_field(
    draw: st.DrawFn, header: list[str], rows: list[list[str]], r: int, out: list[str]
) -> None:
    if not rows[r]:
        return
    c = draw(st.integers(min_value=1, max_value=max(1, len(rows[r]) - 1))) % len(rows[r])
    rows[r][c], shown = _csv_field(draw)
    out.append(f"row {r} field {c} = {shown}")


def _change_timestamp(
    draw: st.DrawFn, header: list[str], rows: list[list[str]], r: int, out: list[str]
) -> None:
    value = draw(st.sampled_from(CSV_WEIRD_TIMESTAMPS))
    if rows[r]:
        rows[r][0] = value
        out.append(f"row {r} timestamp = {value!r}")


def _extra_field(
    draw: st.DrawFn, header: list[str], rows: list[list[str]], r: int, out: list[str]
) -> None:
    value, shown = _csv_field(draw)
    rows[r].append(value)
    out.append(f"row {r} extra field {shown}")


def _missing_field(
    draw: st.DrawFn, header: list[str], rows: list[list[str]], r: int, out: list[str]
) -> None:
    if rows[r]:
        rows[r].pop()
        out.append(f"row {r} last field removed")


def _duplicate_row(
    draw: st.DrawFn, header: list[str], rows: list[list[str]], r: int, out: list[str]
) -> None:
    rows.insert(r, list(rows[r]))
    out.append(f"row {r} duplicated (same timestamp)")


def _swap_rows(
    draw: st.DrawFn, header: list[str], rows: list[list[str]], r: int, out: list[str]
) -> None:
    other = draw(st.integers(min_value=0, max_value=len(rows) - 1))
    rows[r], rows[other] = rows[other], rows[r]
    out.append(f"rows {r} and {other} swapped")


def _change_header(
    draw: st.DrawFn, header: list[str], rows: list[list[str]], r: int, out: list[str]
) -> None:
    c = draw(st.integers(min_value=0, max_value=len(header) - 1))
    kind = draw(st.sampled_from(("drop", "duplicate", "rename")))
    if kind == "drop":
        out.append(f"header column {header.pop(c)!r} dropped")
    elif kind == "duplicate":
        header.append(header[c])
        out.append(f"header column {header[c]!r} repeated")
    else:
        header[c] = draw(st.sampled_from((" price_eur_per_mwh ", "\ufefftimestamp_utc", "x", "")))
        out.append(f"header column {c} renamed {header[c]!r}")


_CSV_CHANGES: dict[str, Change] = {
    "field": _change_field,
    "timestamp": _change_timestamp,
    "extra": _extra_field,
    "missing": _missing_field,
    "duplicate": _duplicate_row,
    "swap": _swap_rows,
    "header": _change_header,
}

# --- raw payloads ---------------------------------------------------------------------------


def _json_value() -> st.SearchStrategy[object]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(st.text(max_size=12), children, max_size=5),
        ),
        max_leaves=30,
    )


def raw_payloads(name: str) -> st.SearchStrategy[FuzzCase]:
    """Bytes with no template: arbitrary binary, arbitrary JSON, deep nesting, huge numbers."""

    def case(kind: str) -> Callable[[bytes], FuzzCase]:
        return lambda payload: FuzzCase(name, (kind,), payload)

    return st.one_of(
        st.binary(max_size=2000).map(case("arbitrary bytes")),
        _json_value().map(lambda v: json.dumps(v, allow_nan=True).encode()).map(case("any JSON")),
        st.integers(min_value=1, max_value=200_000)
        .map(lambda n: b"[" * n + b"]" * n)
        .map(case("nested arrays")),
        st.integers(min_value=1, max_value=20_000)
        .map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
        .map(case("nested objects")),
        st.integers(min_value=1, max_value=300_000)
        .map(lambda n: b"1" * n)
        .map(case("huge integer")),
    )
