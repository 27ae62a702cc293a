"""Run one fuzz input under a time budget and classify what the loader did with it.

Classes: `rejected` (the loader's documented error: the good outcome for bad input),
`accepted` (and every number in the result finite and in range), `crash` (any other
exception: a traceback where the user should get a message), `hang` (over the time budget),
`violation` (accepted, but with a non-finite or out-of-range value that a protection or the
planner would then compute with).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import signal
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = ("rejected", "accepted", "crash", "hang", "violation")
EXAMPLES_PER_CLASS = 5
INPUT_TEXT_CHARS = 400
MESSAGE_CHARS = 300

TEMP_RANGE_C = (-60.0, 150.0)
# a number this large is no rating, price, time or volume of any plant (1e12 kW is a petawatt,
# 1e12 s is 31,700 years); left in, it overflows what is computed from it
ABSURD_MAGNITUDE = 1e12
# every field named so is a power, energy, time, volume, length, temperature difference or
# intensity: negative is never meaningful
NON_NEGATIVE_SUFFIXES = (
    "_kw",
    "_kwh",
    "_mw",
    "_mwh",
    "_kw_per_s",
    "_w_per_k",
    "_s",
    "_h",
    "_days",
    "_m3",
    "_m",
    "_k",
    "_g_per_kwh",
)
# controller arithmetic on a timestamp reaches a week (history) and a day (plans) beyond it
DATETIME_MARGIN = timedelta(days=8)


class Hang(BaseException):
    """Raised by the alarm when an input exceeds its budget; a BaseException so that the
    target's own `except Exception` cannot swallow it."""


@dataclass(frozen=True)
class Verdict:
    outcome: str
    detail: str = ""  # the error message, or the offending field and value
    signature: str = ""  # what groups equal failures: exception and place, or field and rule


@dataclass
class TargetStats:
    name: str
    inputs: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    signatures: dict[str, Counter[str]] = field(default_factory=dict)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    wall_s: float = 0.0
    slowest_s: float = 0.0

    def record(self, verdict: Verdict, input_text: str, elapsed_s: float) -> None:
        self.inputs += 1
        self.counts[verdict.outcome] += 1
        self.slowest_s = max(self.slowest_s, elapsed_s)
        if verdict.outcome in ("rejected", "accepted"):
            return
        self.signatures.setdefault(verdict.outcome, Counter())[verdict.signature] += 1
        examples = self.examples.setdefault(verdict.outcome, [])
        if len(examples) < EXAMPLES_PER_CLASS:
            examples.append(
                {
                    "signature": verdict.signature,
                    "detail": _truncate(verdict.detail, MESSAGE_CHARS),
                    "input": _truncate(input_text, INPUT_TEXT_CHARS),
                    "seconds": f"{elapsed_s:.3f}",
                }
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "rejected_cleanly": self.counts["rejected"],
            "accepted": self.counts["accepted"],
            "crashes": self.counts["crash"],
            "hangs": self.counts["hang"],
            "accepted_non_finite_or_out_of_range": self.counts["violation"],
            "failure_classes": {
                outcome: dict(counter.most_common())
                for outcome, counter in sorted(self.signatures.items())
            },
            "examples": self.examples,
            "wall_s": round(self.wall_s, 3),
            "slowest_input_s": round(self.slowest_s, 4),
        }


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


WALL_BUDGET_FACTOR = 4.0  # the wall-clock backstop, in budgets


def run_with_budget(
    check: Callable[[], Verdict], rejected: tuple[type[BaseException], ...], budget_s: float
) -> tuple[Verdict, float]:
    """Run `check` (load and inspect one input) under a budget of `budget_s` seconds of CPU.

    An input over budget is a hang whether the alarm could interrupt it or it finished late
    (C code such as the regex engine runs on until it returns to Python). The budget counts
    the process's CPU time with the garbage collector paused, so that neither a busy machine
    (the first full run, at load 6, had two "hangs" of 5-7 s wall on inputs that take 2 ms)
    nor a collection of the fuzzer's own heap is charged to the input; a wall-clock alarm at
    four times the budget still catches an input that blocks without computing."""
    started = time.process_time()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, WALL_BUDGET_FACTOR * budget_s)
            try:
                verdict = check()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except Hang:
            wall_s = WALL_BUDGET_FACTOR * budget_s
            verdict = Verdict("hang", f"interrupted after {wall_s:g} s", "over the time budget")
        except rejected as exc:
            verdict = Verdict("rejected", str(exc))
        except Exception as exc:  # the point of the campaign: anything else is a crash
            verdict = Verdict("crash", f"{type(exc).__name__}: {exc}", crash_signature(exc))
    finally:
        signal.signal(signal.SIGALRM, previous)
        if collecting:
            gc.enable()
    elapsed = time.process_time() - started
    if elapsed > budget_s and verdict.outcome != "hang":
        verdict = Verdict(
            "hang", f"took {elapsed:.1f} s (then {verdict.outcome})", "over the time budget"
        )
    return verdict, elapsed


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


def crash_signature(exc: BaseException) -> str:
    """The exception type and the innermost project line it passed: one per distinct bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = "?"
    for summary in reversed(frames):
        path = Path(summary.filename)
        if path.is_relative_to(ROOT) and "bench" not in path.relative_to(ROOT).parts[:1]:
            place = f"{path.relative_to(ROOT)}:{summary.lineno} {summary.name}"
            break
    else:
        if frames:
            place = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} {frames[-1].name}"
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return f"{name} at {place}"


# --- checking what was accepted -------------------------------------------------------------

Leaf = float | int | datetime


def leaves(
    value: object, path: str = "", skip: frozenset[str] = frozenset()
) -> Iterator[tuple[str, str, Leaf]]:
    """(path, field name, value) of every number and timestamp in a loaded object.

    The field name carries the unit by the project's convention (`heat_max_kw`); list
    indices are written `[]` so equal failures in different entries group together."""
    yield from _walk(value, path, path.rpartition(".")[2], skip, set())


def _walk(
    value: object, path: str, name: str, skip: frozenset[str], seen: set[int]
) -> Iterator[tuple[str, str, Leaf]]:
    if isinstance(value, bool) or value is None or isinstance(value, str | bytes | Path):
        return
    if isinstance(value, int | float | datetime):
        yield path, name, value
        return
    if isinstance(value, np.ndarray):
        for item in value.ravel().tolist():
            yield from _walk(item, f"{path}[]", name, skip, seen)
        return
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, BaseModel):
        for key in type(value).model_fields:
            if key not in skip:
                child = getattr(value, key)
                yield from _walk(child, f"{path}.{key}", _unit_name(value, key), skip, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            if item.name not in skip:
                child = getattr(value, item.name)
                yield from _walk(child, f"{path}.{item.name}", item.name, skip, seen)
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str):  # a named entry, or a field whose name has the unit
                yield from _walk(child, f"{path}.{key}", key, skip, seen)
                continue
            if isinstance(key, int | float | datetime) and not isinstance(key, bool):
                yield f"{path}{{key}}", name, key
            yield from _walk(child, f"{path}{{}}", name, skip, seen)
    elif isinstance(value, list | tuple | frozenset | set):
        for child in value:
            yield from _walk(child, f"{path}[]", name, skip, seen)


# a point map's limits take their unit from the point's `unit` field
_POINT_UNIT_SUFFIX = {"degC": "_c", "°C": "_c", "kW": "_kw", "kWh": "_kwh", "h": "_h"}
_POINT_LIMIT_FIELDS = ("min", "max", "safe_default")


def _unit_name(model: BaseModel, key: str) -> str:
    unit = getattr(model, "unit", None)
    if key in _POINT_LIMIT_FIELDS and isinstance(unit, str) and unit in _POINT_UNIT_SUFFIX:
        return f"{key}{_POINT_UNIT_SUFFIX[unit]}"
    return key


def leaf_problem(name: str, value: Leaf) -> str | None:
    """Why an accepted value is unusable, or None. Deliberately conservative: only what no
    plant can mean (non-finite, absurd magnitude, temperatures outside -60..150 °C, negative
    powers, times, volumes)."""
    if isinstance(value, datetime):
        return _datetime_problem(value)
    number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    if not math.isfinite(number):
        return "non-finite" if isinstance(value, float) else "absurd magnitude"
    if name.endswith("_c") and not TEMP_RANGE_C[0] <= number <= TEMP_RANGE_C[1]:
        return "temperature out of range"
    if abs(number) > ABSURD_MAGNITUDE:
        return "absurd magnitude"
    # money may be negative (prices below zero); `_per_mwh` is not an energy
    money = "eur" in name.split("_")
    if not money and name.endswith(NON_NEGATIVE_SUFFIXES) and number < 0:
        return "negative"
    return None


def _datetime_problem(value: datetime) -> str | None:
    try:
        in_utc = value.astimezone(UTC) if value.tzinfo is not None else value
    except OverflowError:
        return "timestamp not representable in UTC"
    naive = in_utc.replace(tzinfo=None)
    if naive - datetime.min < DATETIME_MARGIN or datetime.max - naive < DATETIME_MARGIN:
        return "timestamp at the edge of the calendar"
    return None


def inspect(value: object, root: str, skip: frozenset[str] = frozenset()) -> Verdict:
    """`accepted`, or `violation` naming the first unusable value."""
    for path, name, leaf in leaves(value, root, skip):
        problem = leaf_problem(name, leaf)
        if problem is not None:
            shown = repr(leaf) if not isinstance(leaf, int) or abs(leaf) < 10**30 else "huge int"
            return Verdict("violation", f"{path} = {_truncate(shown, 80)}", f"{path}: {problem}")
    return Verdict("accepted")
