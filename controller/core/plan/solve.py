"""Solve the dispatch MILP with HiGHS under a time limit and a MIP gap.

`solve_plan` never raises for solver trouble: an infeasible model, a time limit without any
solution or an exception inside the solver all come back as a `Plan` with `usable=False` and a
status saying why, so the controller's fallback ladder can act on it. HiGHS releases the GIL:
the controller runs this in a worker thread.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

from controller.core.plan.inputs import PlanInputs
from controller.core.plan.model import MilpModel, build_model
from controller.core.plan.result import Plan, plan_from_solution, unusable_plan
from controller.core.plan.sparse import FloatArray

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


def solve_model(model: MilpModel, time_limit_s: float, mip_rel_gap: float) -> SolverOutcome:
    """Run HiGHS on the arrays; exceptions from the solver become an "error" outcome."""
    started = time.perf_counter()  # a measurement for the report, not control logic
    try:
        highs = highspy.Highs()  # type: ignore[no-untyped-call]
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("time_limit", float(time_limit_s))
        highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        highs.setOptionValue("random_seed", 0)
        pass_status = highs.passModel(_to_highs(model))
        if pass_status == highspy.HighsStatus.kError:
            return _failed("error", started, "HiGHS rejected the model")
        highs.run()
        status = highs.getModelStatus()
        info = highs.getInfo()
        has_solution = info.primal_solution_status == _FEASIBLE_SOLUTION
        x = np.asarray(highs.getSolution().col_value, dtype=np.float64) if has_solution else None
        objective = float(info.objective_function_value) if has_solution else math.nan
        gap = float(info.mip_gap) if has_solution else math.nan
        text = highs.modelStatusToString(status)
    except Exception as exc:  # any failure inside the solver must not take the controller down
        return _failed("error", started, f"solver raised {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - started
    if status == highspy.HighsModelStatus.kOptimal and x is not None:
        return SolverOutcome("optimal", x, objective, gap, elapsed, text)
    if status in _LIMIT_STATUSES:
        if x is not None:
            return SolverOutcome("time_limit_feasible", x, objective, gap, elapsed, text)
        return SolverOutcome("time_limit_no_solution", None, math.nan, math.nan, elapsed, text)
    if status == highspy.HighsModelStatus.kInfeasible:
        return SolverOutcome("infeasible", None, math.nan, math.nan, elapsed, text)
    return SolverOutcome("error", None, math.nan, math.nan, elapsed, text)


def _failed(status: str, started: float, message: str) -> SolverOutcome:
    return SolverOutcome(status, None, math.nan, math.nan, time.perf_counter() - started, message)


def solve_plan(inputs: PlanInputs) -> Plan:
    """Build the model for `inputs`, solve it, and return the plan (usable or not)."""
    model = build_model(inputs)
    outcome = solve_model(model, inputs.time_limit_s, inputs.mip_rel_gap)
    if outcome.x is None:
        return unusable_plan(inputs, outcome.status, outcome.solve_time_s, outcome.message)
    return plan_from_solution(
        inputs,
        model,
        outcome.x,
        status=outcome.status,
        objective_eur=outcome.objective_eur,
        mip_gap=outcome.mip_gap,
        solve_time_s=outcome.solve_time_s,
    )
