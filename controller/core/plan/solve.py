"""Solve the dispatch MILP with HiGHS under a time limit and a MIP gap.

`solve_plan` never raises for solver trouble: an infeasible model, a time limit without any
solution or an exception inside the solver all come back as a `Plan` with `usable=False` and a
status saying why, so the controller's fallback ladder can act on it. HiGHS releases the GIL:
the controller runs this in a worker thread.

HiGHS stays silent: every instance is made with its output off before anything can print (the
banner comes out of the first call that touches its logging, long before `run`). When this
module's logger is enabled for debug, the solver log is routed to it through HiGHS's logging
callback instead of the console.

A starting solution (`solve_plan(inputs, previous)`: the previous plan shifted; with
`cold_start`, the rounded LP relaxation when there is none) is completed and checked against
the model before HiGHS sees it; the plan records which one it got.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
from highspy._core import _Highs, cb

from controller.core.plan.inputs import PlanInputs
from controller.core.plan.model import MilpModel, build_model
from controller.core.plan.result import Plan, plan_from_solution, unusable_plan
from controller.core.plan.sparse import FloatArray
from controller.core.plan.start import (
    FEASIBILITY_TOLERANCE,
    complete_start,
    rounded_wish,
    shifted_wish,
    start_violation,
)

log = logging.getLogger(__name__)

# One solver thread. The dispatch MILPs are small (tens to a few thousand binaries) and the
# edge PC also runs the cycle and the I/O; HiGHS's parallel workers cost more than they gained:
# 73 hard April solves of the river plant took 132 s with the default (both cores) and 59 s with
# one thread, same answers (`make bench`, docs/planner.md). HiGHS fixes its thread pool at the
# first solve in a process, so every instance asks for the same count.
SOLVER_THREADS = 1
# HiGHS's sub-MIP heuristics (RINS, RENS) spent most of a hard solve improving a start that was
# already within the gap (1.5 s of 1.8 s on the hardest April hour); without them the same 73
# solves took 19 s instead of 59 s, every plan still within the MIP gap of its bound.
SUB_MIP_HEURISTICS = False

_LIMIT_STATUSES = frozenset(
    {
        highspy.HighsModelStatus.kTimeLimit,
        highspy.HighsModelStatus.kIterationLimit,
        highspy.HighsModelStatus.kSolutionLimit,
        highspy.HighsModelStatus.kInterrupt,
    }
)
_FEASIBLE_SOLUTION = 2  # HiGHS kSolutionStatusFeasible


@dataclass(frozen=True)
class SolverOutcome:
    """What HiGHS said: a status, and the solution when it has a feasible one."""

    status: str
    x: FloatArray | None
    objective_eur: float
    mip_gap: float
    solve_time_s: float
    message: str
    # from run() to the first integer-feasible solution HiGHS held (0 for an accepted start)
    time_to_first_solution_s: float = math.nan
    start_accepted: bool = False


@dataclass
class _Progress:
    """What the callbacks saw during one run (written from the solver thread)."""

    first_solution_s: float = math.nan
    log_lines: list[str] = field(default_factory=list)


def _to_highs(model: MilpModel) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    lp.num_col_ = model.cost.size
    lp.num_row_ = model.row_lower.size
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = model.cost.size
    lp.a_matrix_.num_row_ = model.row_lower.size
    lp.a_matrix_.start_ = model.matrix.start.astype(np.int32)
    lp.a_matrix_.index_ = model.matrix.index.astype(np.int32)
    lp.a_matrix_.value_ = model.matrix.value
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
        for flag in model.integrality
    ]
    return lp


def quiet_highs() -> _Highs:
    """A HiGHS instance that prints nothing; its log goes to this module's debug log."""
    # The plain core object, not `highspy.Highs`: that wrapper installs its callbacks in its
    # constructor, and installing a callback prints the banner while output is still on.
    highs = _Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", SOLVER_THREADS)
    return highs


def _on_callback(
    kind: Any, message: str, data_out: Any, _data_in: Any, progress: _Progress
) -> None:
    if kind == cb.HighsCallbackType.kCallbackLogging:
        progress.log_lines.extend(line for line in message.rstrip().splitlines() if line.strip())
    elif kind == cb.HighsCallbackType.kCallbackMipImprovingSolution and math.isnan(
        progress.first_solution_s
    ):
        progress.first_solution_s = float(data_out.running_time)


def _watch(highs: _Highs, progress: _Progress) -> None:
    highs.setCallback(_on_callback, progress)
    highs.startCallback(cb.HighsCallbackType.kCallbackMipImprovingSolution)
    if log.isEnabledFor(logging.DEBUG):
        # the callback gets every line while the console gets none: HiGHS writes some of its
        # report straight to the console whenever log_to_console is on, callback or not
        highs.startCallback(cb.HighsCallbackType.kCallbackLogging)
        highs.setOptionValue("log_to_console", False)
        highs.setOptionValue("output_flag", True)


def _hand_over_start(highs: _Highs, start: FloatArray) -> bool:
    solution = highspy.HighsSolution()
    solution.col_value = start.tolist()
    solution.value_valid = True
    return bool(highs.setSolution(solution) != highspy.HighsStatus.kError)


def solve_model(
    model: MilpModel, time_limit_s: float, mip_rel_gap: float, start: FloatArray | None = None
) -> SolverOutcome:
    """Run HiGHS on the arrays; exceptions from the solver become an "error" outcome.

    `start`, when given, must be a complete assignment to the columns; HiGHS checks it and
    starts from it when it is feasible. Whether it did is in `start_accepted`.
    """
    started = time.perf_counter()  # a measurement for the report, not control logic
    progress = _Progress()
    try:
        highs = quiet_highs()
        highs.setOptionValue("time_limit", float(time_limit_s))
        highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        highs.setOptionValue("random_seed", 0)
        highs.setOptionValue("mip_heuristic_run_rins", SUB_MIP_HEURISTICS)
        highs.setOptionValue("mip_heuristic_run_rens", SUB_MIP_HEURISTICS)
        _watch(highs, progress)
        pass_status = highs.passModel(_to_highs(model))
        if pass_status == highspy.HighsStatus.kError:
            return _failed("error", started, "HiGHS rejected the model")
        # HiGHS would repair a broken start from its integer part and report it as its own
        # first solution; only a start that holds as given counts as kept
        handed_over = (
            start is not None
            and start_violation(model, start) <= FEASIBILITY_TOLERANCE
            and _hand_over_start(highs, start)
        )
        if handed_over:
            # With a start inside the gap all that is left is the root LP's bound, and on
            # this model HiGHS reaches it sooner without presolve (measured in the bench).
            highs.setOptionValue("presolve", "off")
        run_started = time.perf_counter()
        highs.run()
        status = highs.getModelStatus()
        info = highs.getInfo()
        has_solution = info.primal_solution_status == _FEASIBLE_SOLUTION
        x = np.asarray(highs.getSolution().col_value, dtype=np.float64) if has_solution else None
        objective = float(info.objective_function_value) if has_solution else math.nan
        gap = float(info.mip_gap) if has_solution else math.nan
        text = highs.modelStatusToString(status)
        run_s = time.perf_counter() - run_started
    except Exception as exc:  # any failure inside the solver must not take the controller down
        return _failed("error", started, f"solver raised {type(exc).__name__}: {exc}")
    finally:
        for line in progress.log_lines:
            log.debug("HiGHS: %s", line)
    elapsed = time.perf_counter() - started
    # HiGHS checks a start with the same tolerance as `complete_start`; one it kept cannot
    # end above its own objective
    accepted = (
        start is not None
        and handed_over
        and x is not None
        and objective <= float(model.cost @ start) + 1e-6 * max(1.0, abs(objective))
    )
    first_s = 0.0 if accepted else progress.first_solution_s
    if math.isnan(first_s) and x is not None:
        first_s = run_s  # found without an improving-solution report (e.g. by presolve)

    def outcome(name: str, solution: FloatArray | None) -> SolverOutcome:
        value, reached = (objective, gap) if solution is not None else (math.nan, math.nan)
        return SolverOutcome(name, solution, value, reached, elapsed, text, first_s, accepted)

    if status == highspy.HighsModelStatus.kOptimal and x is not None:
        return outcome("optimal", x)
    if status in _LIMIT_STATUSES:
        return outcome("time_limit_feasible" if x is not None else "time_limit_no_solution", x)
    if status == highspy.HighsModelStatus.kInfeasible:
        return outcome("infeasible", None)
    return outcome("error", None)


def _failed(status: str, started: float, message: str) -> SolverOutcome:
    return SolverOutcome(status, None, math.nan, math.nan, time.perf_counter() - started, message)


def solve_relaxation(model: MilpModel, time_limit_s: float) -> FloatArray | None:
    """The LP relaxation's solution (binaries free in [0, 1]), or None if HiGHS found none."""
    progress = _Progress()
    try:
        highs = quiet_highs()
        highs.setOptionValue("time_limit", float(time_limit_s))
        _watch(highs, progress)  # with -v its log goes to the debug log like the MIP's
        lp = _to_highs(model)
        lp.integrality_ = []  # an empty list makes every column continuous
        if highs.passModel(lp) == highspy.HighsStatus.kError:
            return None
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(highs.getSolution().col_value, dtype=np.float64)
    except Exception:  # no start is not a failure: the MIP runs without one
        log.debug("LP relaxation for a cold start failed", exc_info=True)
        return None
    finally:
        for line in progress.log_lines:
            log.debug("HiGHS: %s", line)


def polished(model: MilpModel, start: FloatArray, time_limit_s: float) -> FloatArray:
    """`start` with the best heat, boiler and tank for its commitment (an LP with the on/off
    columns fixed: a small fraction of the MIP's root LP), or `start` itself if that fails."""
    cols = model.index
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    lower[cols.on] = start[cols.on]
    upper[cols.on] = start[cols.on]
    fixed = MilpModel(
        cost=model.cost,
        matrix=model.matrix,
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        col_lower=lower,
        col_upper=upper,
        integrality=np.zeros_like(model.integrality),
        index=cols,
        power_on_kw=model.power_on_kw,
        power_per_heat=model.power_per_heat,
        row_blocks=model.row_blocks,
        cost_offset_eur=model.cost_offset_eur,
    )
    relaxed = solve_relaxation(fixed, time_limit_s)
    if relaxed is None:
        return start
    relaxed[cols.on] = start[cols.on]  # exact 0/1, not the LP's round-off
    better = float(model.cost @ relaxed) < float(model.cost @ start)
    return relaxed if better and start_violation(model, relaxed) <= FEASIBILITY_TOLERANCE else start


def starting_solution(
    inputs: PlanInputs, model: MilpModel, previous: Plan | None, cold_start: bool
) -> tuple[str, FloatArray | None]:
    """("warm" | "cold" | "none", the start): the previous plan shifted when it yields a
    feasible start, else (when asked, or when a warm start failed) the rounded LP relaxation."""
    kind, start, _ = _start_and_bound(inputs, model, previous, cold_start)
    return kind, start


def _start_and_bound(
    inputs: PlanInputs, model: MilpModel, previous: Plan | None, cold_start: bool
) -> tuple[str, FloatArray | None, float | None]:
    """`starting_solution` and, when it solved the LP relaxation on the way, its objective."""
    bound: float | None = None
    if previous is not None:
        wish = shifted_wish(previous, inputs)
        start = complete_start(inputs, model, *wish) if wish is not None else None
        if start is not None:
            return "warm", polished(model, start, inputs.time_limit_s / 4), None
    if cold_start or previous is not None:
        relaxed = solve_relaxation(model, inputs.time_limit_s / 2)
        if relaxed is not None:
            bound = float(model.cost @ relaxed)
            start = complete_start(inputs, model, *rounded_wish(model, relaxed))
            if start is not None:
                return "cold", polished(model, start, inputs.time_limit_s / 4), bound
    return "none", None, bound


def certified_gap(model: MilpModel, start: FloatArray, bound_eur: float) -> float:
    """How far `start` can be from the optimum at most, as HiGHS counts a MIP gap: the LP
    relaxation's objective is a lower bound on every integer solution."""
    objective = float(model.cost @ start)
    return max(objective - bound_eur, 0.0) / max(abs(objective), 1e-6)


def solve_plan(
    inputs: PlanInputs, previous: Plan | None = None, *, cold_start: bool = False
) -> Plan:
    """Build the model for `inputs`, solve it, and return the plan (usable or not).

    `previous` (the last usable plan) seeds a warm start; when it cannot, or with
    `cold_start`, a start is built from the LP relaxation. Without either HiGHS starts from
    nothing, as before. The plan records which start HiGHS kept and its time to a first
    solution.
    """
    model = build_model(inputs)
    started = time.perf_counter()  # a measurement for the report, not control logic
    kind, start, bound = _start_and_bound(inputs, model, previous, cold_start)
    if start is not None and start_violation(model, start) <= FEASIBILITY_TOLERANCE:
        # A start already within the gap of the LP bound is a plan HiGHS would only re-prove:
        # its MIP root (no presolve, cuts, heuristics) took 0.4-0.6 s on the bench's 16-unit
        # days where the plain LP takes 0.3 s and the warm start sat 0.1-0.7 % above it.
        if bound is None:
            relaxed = solve_relaxation(model, inputs.time_limit_s / 4)
            bound = None if relaxed is None else float(model.cost @ relaxed)
        gap = math.inf if bound is None else certified_gap(model, start, bound)
        if gap <= inputs.mip_rel_gap:
            preparing_s = time.perf_counter() - started
            log.debug("%s start within %.2f%% of the LP bound: no MIP run", kind, gap * 100.0)
            return plan_from_solution(
                inputs,
                model,
                start,
                status="optimal",
                objective_eur=float(model.cost @ start) + model.cost_offset_eur,
                mip_gap=gap,
                solve_time_s=preparing_s,
                start=kind,
                time_to_first_solution_s=preparing_s,
            )
    preparing_s = time.perf_counter() - started
    remaining_s = max(inputs.time_limit_s - preparing_s, 0.1 * inputs.time_limit_s)
    outcome = solve_model(model, remaining_s, inputs.mip_rel_gap, start)
    if start is not None and not outcome.start_accepted:
        log.debug("HiGHS did not keep the %s start", kind)
        kind = "none"
    solve_time_s = preparing_s + outcome.solve_time_s
    first_s = outcome.time_to_first_solution_s
    if not math.isnan(first_s):
        first_s += preparing_s
    if outcome.x is None:
        return replace(
            unusable_plan(inputs, outcome.status, solve_time_s, outcome.message),
            start=kind,
            time_to_first_solution_s=first_s,
        )
    return plan_from_solution(
        inputs,
        model,
        outcome.x,
        status=outcome.status,
        objective_eur=outcome.objective_eur + model.cost_offset_eur,
        mip_gap=outcome.mip_gap,
        solve_time_s=solve_time_s,
        start=kind,
        time_to_first_solution_s=first_s,
    )
