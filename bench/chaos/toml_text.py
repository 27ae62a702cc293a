"""A tiny TOML writer for the subset the plant files and point maps use, so that mutated
documents can be written back as text and read through the real loaders.

Tables, arrays of tables (with sub-tables of their last entry), strings, integers, floats
(nan and inf included: TOML has them), booleans and arrays. There is no TOML writer among the
dependencies; this is test tooling, not a general serializer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f\ud800-\udfff]')


def dumps(document: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _table(document, (), lines)
    return "\n".join(lines) + "\n"


def _is_table_array(value: object) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)
    )


def _table(table: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    # scalars and inline arrays first: after a [header] every key belongs to that header
    for key, value in table.items():
        if not isinstance(value, Mapping) and not _is_table_array(value):
            lines.append(f"{_key(key)} = {value_text(value)}")
    for key, value in table.items():
        if isinstance(value, Mapping):
            lines.append("")
            lines.append(f"[{_dotted((*path, key))}]")
            _table(value, (*path, key), lines)
        elif _is_table_array(value):
            for entry in value:
                lines.append("")
                lines.append(f"[[{_dotted((*path, key))}]]")
                _table(entry, (*path, key), lines)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_key(part) for part in path)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def value_text(value: object) -> str:
    """One value as TOML text (inline tables for mappings inside arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {value_text(v)}" for k, v in value.items())
        return "{" + inner + "}" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _string(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in '"\\':
        return "\\" + char
    if 0xD800 <= ord(char) <= 0xDFFF:  # a lone surrogate has no UTF-8 form
        return "\\uFFFD"
    return f"\\u{ord(char):04X}"
