"""The dispatch planner: a MILP built by a pure function from frozen inputs, solved with HiGHS.

`build_model` turns `PlanInputs` into plain arrays (cost, CSR rows, bounds, integrality);
`solve_plan` solves them under a time limit and gap and returns an immutable `Plan`.
"""

from controller.core.plan.guard import heat_pumps_on_demand_kg
from controller.core.plan.hold import with_hold
from controller.core.plan.inputs import PlanInputs, UnitPlanData, boiler_terms, steps_in_state
from controller.core.plan.model import MilpModel, VarIndex, build_model, power_coefficients
from controller.core.plan.result import Plan
from controller.core.plan.solve import SolverOutcome, solve_model, solve_plan

__all__ = [
    "MilpModel",
    "Plan",
    "PlanInputs",
    "SolverOutcome",
    "UnitPlanData",
    "VarIndex",
    "boiler_terms",
    "build_model",
    "heat_pumps_on_demand_kg",
    "power_coefficients",
    "solve_model",
    "solve_plan",
    "steps_in_state",
    "with_hold",
]
