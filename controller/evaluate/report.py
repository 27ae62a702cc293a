"""`report.json` (everything, for machines) and `report.md` (a short summary, for people)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from controller.evaluate.kpis import Change, PolicyKpis
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
            "fuel_price_mean_eur_per_mwh": evaluation.fuel_price_mean_eur_per_mwh,
            "boiler_in_emissions_trading": bool(
                plant.site.boiler and plant.site.boiler.in_emissions_trading
            ),
            "planner": {
                "plan_step_s": 3600.0,
                "mpc_horizon_h": 36.0,
                "mpc_replan_s": 3600.0,
                "perfect_horizon_h": 72.0,
                "perfect_replan_s": 86400.0,
                "mpc_mip_rel_gap": config.mip_rel_gap,
                "perfect_mip_rel_gap": config.mip_rel_gap,
                "time_limit_s": config.time_limit_s,
                "price_publication_local": config.price_publication_local,
            },
            "stored_heat_valued_at": {
                "eur_per_mwh": evaluation.heat.cost_eur_per_kwh * 1000.0,
                "cash_eur_per_mwh": evaluation.heat.cash_eur_per_kwh * 1000.0,
                "co2_kg_per_mwh": evaluation.heat.co2_kg_per_kwh * 1000.0,
            },
            "policies": {name: kpis.as_dict() for name, kpis in evaluation.kpis.items()},
            "change_vs_baseline": {
                name: change.as_dict() for name, change in evaluation.changes.items()
            },
            "capture_ratio": evaluation.capture,
            "capture_ratio_not_given": evaluation.capture_reasons,
            "lower_bound": asdict(evaluation.bound) if evaluation.bound is not None else None,
            "energy_balance": evaluation.energy_balance,
            "wall_s": evaluation.wall_s,
        }
    )
    return report


def _money(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "n/a"


def _signed(value: float, digits: int = 0) -> str:
    return f"{value:+,.{digits}f}" if math.isfinite(value) else "n/a"


def _direction(change: float, less: str, more: str) -> str:
    if not math.isfinite(change) or change == 0:
        return "unchanged"
    return less if change < 0 else more


def change_sentence(name: str, change: Change, carbon_price_eur_per_t: float) -> str:
    """One plain line: what a policy changed against the baseline, with signs and words."""
    cash = _direction(change.cash_eur, "saves", "costs more")
    co2 = _direction(change.co2_t, "emits less", "emits MORE")
    text = (
        f"**{name}** against baseline: cash cost {_signed(change.cash_eur)} EUR "
        f"({_signed(change.cash_pct, 1)} %, {cash}); CO2 {_signed(change.co2_t, 1)} t "
        f"({_signed(change.co2_pct, 1)} %, {co2}); "
    )
    if carbon_price_eur_per_t > 0:
        text += (
            f"cost with carbon at {carbon_price_eur_per_t:g} EUR/t {_signed(change.objective_eur)} "
            f"EUR ({_signed(change.objective_pct, 1)} %); "
        )
    text += (
        f"starts {change.starts:+d}, run hours {_signed(change.run_hours_h)}, "
        f"interlock interventions {change.interlock_interventions:+d}."
    )
    if change.cash_eur < 0 and change.co2_t > 0:
        text += " It saves money by emitting more: not a saving this product claims."
    return text


def render_markdown(evaluation: Evaluation, plots: list[str]) -> str:
    kpis = evaluation.kpis
    start, end = evaluation.start_utc, evaluation.end_utc
    price = evaluation.carbon_price_eur_per_t
    lines = [
        f"# Evaluation: {evaluation.plant.site.plant.name}",
        "",
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, scenario "
        f"`{Path(evaluation.data.source).name}`, replay step {evaluation.step_s:.0f} s, "
        f"carbon price {price:g} EUR/t, boiler fuel on average "
        f"{evaluation.fuel_price_mean_eur_per_mwh:.1f} EUR/MWh.",
        "",
    ]
    lines += [f"- {note}" for note in evaluation.data.notes]
    lines += [
        "",
        "| policy | cash EUR | carbon shadow EUR | cost with carbon EUR | adjusted EUR "
        "| EUR/MWh heat | CO2 t | electricity MWh | boiler heat MWh | unmet kWh | COP "
        "| starts | run h | interlocks | tank cycles | compute ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, k in kpis.items():
        lines.append(
            f"| {name} | {_money(k.cash_cost_eur)} | {_money(k.carbon_shadow_eur)} | "
            f"{_money(k.total_cost_eur)} | {_money(k.adjusted_cost_eur)} | "
            f"{k.cost_eur_per_mwh_heat:.1f} | {k.co2_t:,.1f} | "
            f"{k.electricity_mwh:,.0f} | {k.boiler_heat_mwh:,.0f} | "
            f"{k.unmet_heat_kwh:,.0f} | {k.average_cop:.2f} | {k.total_starts} | "
            f"{k.total_run_hours_h:,.0f} | {sum(k.interlocks.values())} | {k.tank_cycles:.0f} | "
            f"{k.compute_time_ratio:.1e} |"
        )
    if evaluation.changes:
        lines += ["", "Against the baseline (adjusted for stored heat; negative is a saving):", ""]
        lines += [
            f"- {change_sentence(name, change, price)}"
            for name, change in evaluation.changes.items()
        ]
    bound = evaluation.bound
    if bound is not None:
        lines += [
            "",
            f"Lower bound on cost with carbon (the planner's model over the whole period, LP "
            f"relaxation): {_money(bound.cost_eur)} EUR ({bound.status}, "
            f"{bound.solve_time_s:.1f} s).",
        ]
    if evaluation.capture:
        lines += ["", "Capture ratio (baseline - policy) / (baseline - perfect):", ""]
        labels = {
            "objective": "cost with carbon",
            "cash": "cash cost",
            "co2": "CO2",
            "objective_vs_bound": "cost with carbon against the lower bound",
        }
        for key, ratio in evaluation.capture.items():
            name, _, figure = key.partition("_")
            shown = (
                f"{ratio:.2f}"
                if math.isfinite(ratio)
                else f"not given ({evaluation.capture_reasons.get(key, 'n/a')})"
            )
            lines.append(f"- {name}, {labels.get(figure, figure)}: {shown}")
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
        "Cash: electricity, boiler fuel and emission allowances actually paid. Carbon shadow: the "
        "carbon price on the tonnes no allowance paid for. Adjusted: the difference in stored "
        "heat at the end is charged at the baseline's average cost of heat "
        f"({evaluation.heat.cost_eur_per_kwh * 1000:.1f} EUR/MWh with carbon, "
        f"{evaluation.heat.cash_eur_per_kwh * 1000:.1f} cash). "
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
