"""The one strict pydantic base model and the one formatter of its validation errors.

Point maps, plant files and the controller's `[control]` table are all read with these, so a
mistake reads the same everywhere: the file, where in it (a list entry by its `name` when it
has one) and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    return any(_admits_bool(arg) for arg in get_args(annotation))


class StrictModel(BaseModel):
    """Frozen, finite, and unknown keys are errors: a misspelt key must not be silently
    ignored."""

    # allow_inf_nan=False: a NaN or infinite limit would silently switch a protection off
    # (a tank limit of nan never trips, an infinite hand-back delay never hands back)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """`min_run_s = true` must not be read as 1 s: a boolean is only a boolean."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and not _admits_bool(field.annotation):
            raise ValueError(f"{str(value).lower()} is a boolean, not a {_kind(field.annotation)}")
        return value


def describe_errors(
    exc: ValidationError,
    data: Any,
    prefix: Sequence[str] = (),
    by_name: Mapping[str, str] | None = None,
) -> list[str]:
    """One `where: message` line per error.

    `data` is the raw document, used to name list entries: `units.0.heat_max_kw` becomes
    `units[0] 'hp1'.heat_max_kw`. Lists in `by_name` (list key -> label) name an entry by its
    name alone: `points.3.min` becomes `point 'heat_setpoint_kw' field 'min'`.
    """
    labels = by_name or {}
    lines = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        location = [*prefix, *error["loc"]]
        if not location:  # a whole-document check: its message says where
            lines.append(message)
            continue
        lines.append(f"{_location(location, data, len(prefix), labels)}: {message}")
    return lines


def error_message(
    title: str,
    exc: ValidationError,
    data: Any,
    prefix: Sequence[str] = (),
    by_name: Mapping[str, str] | None = None,
) -> str:
    """`title` on the first line, then the errors indented below it.

    A single error is appended to the title on one line, so a command-line check prints one
    line per bad file."""
    lines = describe_errors(exc, data, prefix, by_name)
    if len(lines) == 1:
        return f"{title}: {lines[0]}"
    return "\n".join([title, *(f"  {line}" for line in lines)])


def _location(location: list[int | str], data: Any, skip: int, labels: Mapping[str, str]) -> str:
    parts: list[str] = []
    node: Any = data
    for position, part in enumerate(location):
        walking = position >= skip  # prefix parts name the table, not a key inside `data`
        if isinstance(part, int) and parts:
            entry = node[part] if isinstance(node, list) and part < len(node) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            label = labels.get(parts[-1])
            if label is not None and isinstance(name, str):
                parts[-1] = f"{label} '{name}'"
            else:
                parts[-1] = f"{parts[-1]}[{part}]" + (f" '{name}'" if isinstance(name, str) else "")
            node = entry
            continue
        parts.append(str(part))
        if walking:
            node = node.get(part) if isinstance(node, dict) else None
    return _join(parts, labels)


def _join(parts: list[str], labels: Mapping[str, str]) -> str:
    """Dotted, except that fields of an entry named by label read `... field 'x.y'`."""
    for index, part in enumerate(parts):
        if any(part.startswith(f"{label} '") for label in labels.values()):
            head = ".".join(parts[: index + 1])
            rest = ".".join(parts[index + 1 :])
            return head + (f" field '{rest}'" if rest else "")
    return ".".join(parts)


def _kind(annotation: Any) -> str:
    """A short name of what a field takes, for the error."""
    base = get_args(annotation)[0] if get_origin(annotation) is not None else annotation
    return {float: "number", int: "whole number"}.get(base, "value")
