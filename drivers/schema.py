"""The one strict pydantic base model and the one formatter of its validation errors.

Point maps, plant files and the controller's `[control]` table are all read with these, so a
mistake reads the same everywhere: the file, where in it (a list entry by its `name` when it
has one) and what is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator


def _admits(annotation: Any, kinds: tuple[type, ...]) -> bool:
    if annotation is Any or any(annotation is kind for kind in kinds):
        return True
    return any(_admits(arg, kinds) for arg in get_args(annotation))


class Problems(ValueError):
    """Every problem a cross-field check found, reported one line each (not just the first)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def report(problems: Sequence[str]) -> None:
    """Raise the problems a cross-field check collected, if it found any."""
    if problems:
        raise Problems(problems)


class StrictModel(BaseModel):
    """Frozen, finite, and unknown keys are errors: a misspelt key must not be silently
    ignored."""

    # allow_inf_nan=False: a NaN or infinite limit would silently switch a protection off
    # (a tank limit of nan never trips, an infinite hand-back delay never hands back)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """`min_run_s = true` must not be read as 1 s, nor `min_run_s = "1800"` as a number: a
        quoted number is usually a value pasted into the wrong key."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None or not isinstance(value, bool | int | float | str):
            return value
        annotation = field.annotation
        if isinstance(value, bool):
            if not _admits(annotation, (bool,)):
                raise ValueError(f"{str(value).lower()} is a boolean, not a {_kind(annotation)}")
            return value
        if _admits(annotation, (str,)):
            return value
        if isinstance(value, str) and _admits(annotation, (int, float, bool)):
            raise ValueError(f"'{value}' is a string, not a {_kind(annotation)} (drop the quotes)")
        if isinstance(value, str) or _admits(annotation, (float,)):
            return value
        if _admits(annotation, (int,)):
            if isinstance(value, float):  # `device_id = 2.0`: a count or an id is whole
                raise ValueError(f"{value} is not a whole number")
        elif _admits(annotation, (bool,)):  # `writable = 1`: say true or false
            raise ValueError(f"{value} is a number, not a boolean (true or false)")
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
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, Problems):
            messages = list(cause.problems)
        else:
            messages = [str(error["msg"]).removeprefix("Value error, ")]
        location = [*prefix, *error["loc"]]
        if not location:  # a whole-document check: its message says where
            lines.extend(messages)
            continue
        where = _location(location, data, len(prefix), labels)
        lines.extend(f"{where}: {message}" for message in messages)
    return lines


def join_problems(title: str, lines: Sequence[str]) -> str:
    """`title: problem` for one problem, else the title and one indented line per problem."""
    if len(lines) == 1:
        return f"{title}: {lines[0]}"
    return "\n".join([f"{title} ({len(lines)} problems)", *(f"  {line}" for line in lines)])


def problem_lines(message: str, title: str = "") -> list[str]:
    """The problems of a message `join_problems` made under `title`, without the title."""
    head, *rest = message.splitlines()
    if rest:
        return [line.strip() for line in rest]
    return [head.removeprefix(f"{title}: ") if title else head]


def read_toml(path: Path, error: type[ValueError], what: str) -> dict[str, Any]:
    """A TOML document, or `error` naming the file and why it cannot be read (missing, a
    directory, not readable, not UTF-8 text, not TOML); the TOML parser's message gives the
    line and column."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}): is it a {what}?") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise error(f"{path}: not a usable {what}: {exc}") from None
    except RecursionError:
        raise error(f"{path}: not a usable {what}: arrays or tables nested too deeply") from None


def error_message(
    title: str,
    exc: ValidationError,
    data: Any,
    prefix: Sequence[str] = (),
    by_name: Mapping[str, str] | None = None,
) -> str:
    """`title` on the first line, then the errors indented below it (`join_problems`)."""
    return join_problems(title, describe_errors(exc, data, prefix, by_name))


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
    if _admits(annotation, (float,)):
        return "number"
    if _admits(annotation, (int,)):
        return "whole number"
    if _admits(annotation, (bool,)):
        return "boolean (true or false)"
    return "value"
