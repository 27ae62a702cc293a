"""`report.json` (everything, for machines) and `report.md` (a short summary, for people)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from controller.evaluate.kpis import PolicyKpis
from controller.evaluate.policies import MPC_MIP_REL_GAP
from controller.evaluate.runner import Evaluation


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def report_dict(evaluation: Evaluation) -> dict[str, Any]:
    plant = evaluation.plant
    config = plant.control.planner
    report: dict[str, Any] = _clean(
        {
            "plant": plant.site.plant.name,
            "plant_file": str(plant.path),
            "scenario": evaluation.data.source,
            "data_notes": list(evaluation.data.notes),
            "start_utc": evaluation.start_utc.isoformat(),
            "end_utc": evaluation.end_utc.isoformat(),
            "hours": round((evaluation.end_utc - evaluation.start_utc).total_seconds() / 3600),
            "replay_step_s": evaluation.step_s,
            "carbon_price_eur_per_t": evaluation.carbon_price_eur_per_t,
            "planner": {
                "plan_step_s": 3600.0,
                "mpc_horizon_h": 36.0,
                "mpc_replan_s": 3600.0,
                "perfect_horizon_h": 72.0,
                "perfect_replan_s": 86400.0,
                "mpc_mip_rel_gap": MPC_MIP_REL_GAP,
                "perfect_mip_rel_gap": config.mip_rel_gap,
                "time_limit_s": config.time_limit_s,
                "price_publication_local": config.price_publication_local,
            },
            "stored_heat_valued_at": {
                "eur_per_mwh": evaluation.heat_cost_eur_per_kwh * 1000.0,
                "co2_kg_per_mwh": evaluation.heat_co2_kg_per_kwh * 1000.0,
            },
            "policies": {name: kpis.as_dict() for name, kpis in evaluation.kpis.items()},
            "capture_ratio": evaluation.capture,
            "lower_bound": asdict(evaluation.bound) if evaluation.bound is not None else None,
            "energy_balance": evaluation.energy_balance,
            "wall_s": evaluation.wall_s,
        }
    )
    return report


def _money(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "n/a"


def render_markdown(evaluation: Evaluation, plots: list[str]) -> str:
    kpis = evaluation.kpis
    start, end = evaluation.start_utc, evaluation.end_utc
    lines = [
        f"# Evaluation: {evaluation.plant.site.plant.name}",
        "",
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, scenario "
        f"`{Path(evaluation.data.source).name}`, replay step {evaluation.step_s:.0f} s, "
        f"carbon price {evaluation.carbon_price_eur_per_t:g} EUR/t.",
        "",
    ]
    lines += [f"- {note}" for note in evaluation.data.notes]
    lines += [
        "",
        "| policy | total cost EUR | adjusted EUR | electricity MWh | boiler heat MWh | CO2 t "
        "| unmet kWh | COP | starts | tank cycles | compute ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, k in kpis.items():
        starts = sum(unit.starts for unit in k.units.values())
        lines.append(
            f"| {name} | {_money(k.total_cost_eur)} | {_money(k.adjusted_cost_eur)} | "
            f"{k.electricity_mwh:,.0f} | {k.boiler_heat_mwh:,.0f} | {k.co2_t:,.1f} | "
            f"{k.unmet_heat_kwh:,.0f} | {k.average_cop:.2f} | {starts} | {k.tank_cycles:.0f} | "
            f"{k.compute_time_ratio:.1e} |"
        )
    bound = evaluation.bound
    if bound is not None:
        lines += [
            "",
            f"Lower bound on cost (the planner's model over the whole period, LP relaxation): "
            f"{_money(bound.cost_eur)} EUR ({bound.status}, {bound.solve_time_s:.1f} s).",
        ]
    capture = evaluation.capture
    if "cost" in capture:
        lines += [
            "",
            f"Capture ratio (baseline - mpc) / (baseline - perfect): cost "
            f"{capture['cost']:.2f}, CO2 {capture['co2']:.2f}"
            + (
                f"; cost against the lower bound {capture['cost_vs_bound']:.2f}."
                if "cost_vs_bound" in capture
                else "."
            ),
        ]
    lines += ["", _interlock_line(kpis)]
    mpc = kpis.get("mpc")
    if mpc is not None and mpc.forecast_errors:
        errors = mpc.forecast_errors
        lines += [
            "",
            f"mpc forecasts (all lead times up to 36 h): outdoor MAE {errors['outdoor_mae_k']:.2f} K "
            f"(RMSE {errors['outdoor_rmse_k']:.2f}), demand MAE {errors['demand_mae_kw']:,.0f} kW "
            f"({errors['demand_mae_pct']:.1f} % of mean, RMSE {errors['demand_rmse_kw']:,.0f} kW).",
        ]
    lines += [
        "",
        "Adjusted: the difference in stored heat at the end is charged at the baseline's average "
        f"cost of heat ({evaluation.heat_cost_eur_per_kwh * 1000:.1f} EUR/MWh). "
        f"Replay wall time {evaluation.wall_s:.0f} s.",
        "",
    ]
    lines += [f"![{Path(plot).stem}]({plot})" for plot in plots]
    return "\n".join(lines) + "\n"


def _interlock_line(kpis: dict[str, PolicyKpis]) -> str:
    """Interlock interventions per policy, by reason: a plan that keeps clear of them has 0."""

    def one(name: str, k: PolicyKpis) -> str:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(k.interlocks.items()))
        return f"{name} {sum(k.interlocks.values())}" + (f" ({reasons})" if reasons else "")

    return "Interlock interventions: " + "; ".join(one(n, k) for n, k in kpis.items()) + "."


def write_report(evaluation: Evaluation, out_dir: Path, plots: list[str]) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    md_path = out_dir / "report.md"
    json_path.write_text(json.dumps(report_dict(evaluation), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(evaluation, plots), encoding="utf-8")
    return {"json": json_path, "markdown": md_path}
