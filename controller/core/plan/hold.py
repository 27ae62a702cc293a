"""Plan stability: a new plan holds the previous plan's near-term commitment unless changing it
gains more than a stated amount.

A controller that re-plans every hour on fresh forecasts sees each marginal decision again and
again; where running a unit or not is worth about the same, forecast noise flips it from plan
to plan, and every flip that reaches the plant is a start or a stop no single plan asked for.
Holding the first hours of the previous plan's commitment, at a price per unit and step changed,
lets a new plan change them only for a real gain. The price is stated per MWh the unit could
make in the changed time (`hold_eur_per_mwh x heat_max_kw x step`), so one setting suits units
of any size; the model adds it to the objective (`model.add_commitment_hold`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from controller.core.plan.inputs import PlanInputs
from controller.core.plan.result import Plan
from controller.core.plan.start import shifted_wish


def with_hold(
    inputs: PlanInputs, previous: Plan | None, hold_h: float, hold_eur_per_mwh: float
) -> PlanInputs:
    """`inputs` with each unit holding `previous`'s commitment over the first `hold_h` hours.

    Unchanged when there is nothing to hold: no previous plan, one that cannot be shifted onto
    the new start (another step, other units, no overlap), or a hold of zero length or price.
    Steps past the previous plan's horizon are not held: it said nothing about them.
    """
    if previous is None or hold_h <= 0.0 or hold_eur_per_mwh <= 0.0:
        return inputs
    wish = shifted_wish(previous, inputs)
    if wish is None:
        return inputs
    on = wish[0]
    shift = round((inputs.start_utc - previous.inputs.start_utc).total_seconds() / inputs.step_s)
    steps = min(math.ceil(hold_h * 3600.0 / inputs.step_s), inputs.steps)
    steps = min(steps, previous.inputs.steps - shift)
    units = tuple(
        replace(
            unit,
            hold_on=tuple(bool(v) for v in on[u, :steps]),
            hold_eur_per_step=hold_eur_per_mwh * unit.heat_max_kw / 1000.0 * inputs.step_h,
        )
        for u, unit in enumerate(inputs.units)
    )
    return replace(inputs, units=units)
