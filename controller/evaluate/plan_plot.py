"""`hpctl plan --plot FILE`: the plan as a picture (matplotlib, Agg backend: no display).

Three panels on one time axis: heat per unit and boiler stacked against the demand forecast
(kW), stored energy (% of the planned range), and the price the plan assumed (EUR/MWh, with the
part not yet published at the planning time marked).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from controller.app.plan_report import PlanRun


def plot_plan(run: PlanRun, path: Path) -> None:
    """Draw `run` into `path` (PNG, or any format matplotlib knows by the file's suffix);
    raises OSError naming the path when it cannot be written."""
    plan, forecast = run.plan, run.forecast
    times = list(forecast.steps_utc)
    fig, (heat_ax, soc_ax, price_ax) = plt.subplots(
        3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1, 1.4]}
    )
    try:
        series = [list(row) for row in plan.unit_heat_kw] + [list(plan.boiler_heat_kw)]
        labels = [f"{name} heat" for name in plan.unit_names] + ["boiler heat"]
        heat_ax.stackplot(times, *series, labels=labels, step="post", alpha=0.8)
        heat_ax.step(times, forecast.heat_demand_kw, where="post", color="black", label="demand")
        heat_ax.set_ylabel("heat (kW)")
        heat_ax.legend(loc="upper right", fontsize="small")
        heat_ax.set_title(
            f"plan {plan.status} from {times[0]:%Y-%m-%d %H:%M} UTC: "
            f"electricity {plan.electricity_eur:.0f} EUR, fuel {plan.boiler_fuel_eur:.0f} EUR, "
            f"CO2 {plan.carbon_t:.1f} t"
        )
        capacity_kwh = plan.inputs.storage_capacity_kwh or 1.0
        soc_ax.plot(times, [100.0 * kwh / capacity_kwh for kwh in plan.storage_kwh])
        soc_ax.set_ylabel("storage (%)")
        soc_ax.set_ylim(0, 100)
        prices = list(zip(times, forecast.price_eur_per_mwh, strict=True))
        until = forecast.prices_known_until
        known = [price if when < until else None for when, price in prices]
        guessed = [price if when >= until else None for when, price in prices]
        price_ax.step(times, known, where="post", label="published")
        price_ax.step(times, guessed, where="post", linestyle="--", label="forecast")
        price_ax.set_ylabel("price (EUR/MWh)")
        price_ax.set_xlabel("time (UTC)")
        price_ax.legend(loc="upper right", fontsize="small")
        price_ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))  # type: ignore[no-untyped-call]
        fig.autofmt_xdate()
        fig.tight_layout()
        try:
            fig.savefig(path)
        except OSError as exc:
            raise OSError(exc.errno, f"--plot {path}: cannot write it ({exc.strerror})") from None
    finally:
        plt.close(fig)
