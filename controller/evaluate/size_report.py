"""The sizing study's figures: each point's annual cost, the choices, size.json and size.md.

Total annual cost of a point = annualised investment and fixed O&M (heat pumps, tank, boiler)
+ operating cost of the replayed period (electricity, fuel, the carbon price on CO2, adjusted
for the heat left in the tank) + unmet heat at its penalty. The cost-optimal point is the
cheapest; the trade-off point is the one with the least CO2 among those within
`tradeoff_cost_pct` of the optimum's cost.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from controller.evaluate.size_costs import CostCatalogue
from controller.evaluate.size_point import Replayed, SizePoint
from controller.evaluate.size_scale import BUFFER_M3


@dataclass(frozen=True)
class PricedPoint:
    point: SizePoint
    replayed: Replayed
    heat_pump_eur_per_year: float
    tank_eur_per_year: float
    boiler_eur_per_year: float
    unmet_heat_eur: float
    total_eur_per_year: float

    @property
    def investment_eur_per_year(self) -> float:
        return self.heat_pump_eur_per_year + self.tank_eur_per_year + self.boiler_eur_per_year


@dataclass(frozen=True)
class SizeStudy:
    plant: str
    policy: str
    start_utc: datetime
    end_utc: datetime
    carbon_price_eur_per_t: float
    costs: CostCatalogue
    unmet_heat_eur_per_mwh: float
    tradeoff_cost_pct: float
    points: tuple[PricedPoint, ...]
    missing: tuple[SizePoint, ...]  # in the grid, not finished (stopped or failed)

    @property
    def optimum(self) -> PricedPoint | None:
        return min(self.points, key=lambda p: p.total_eur_per_year, default=None)

    @property
    def tradeoff(self) -> PricedPoint | None:
        best = self.optimum
        if best is None:
            return None
        ceiling = best.total_eur_per_year * (1.0 + self.tradeoff_cost_pct / 100.0)
        near = [p for p in self.points if p.total_eur_per_year <= ceiling]
        return min(near, key=lambda p: (p.replayed.co2_t, p.total_eur_per_year))


def price_point(
    point: SizePoint,
    replayed: Replayed,
    costs: CostCatalogue,
    unmet_heat_eur_per_mwh: float,
    year_fraction: float,
) -> PricedPoint:
    """`year_fraction`: the replayed period's share of a year; the investment's yearly cost is
    charged for that share, so a short period is priced like the year it samples."""
    heat_pump = costs.heat_pump_eur_per_year(point.heat_pump_mw) * year_fraction
    tank = costs.tank_eur_per_year(point.tank_m3) * year_fraction
    boiler = costs.boiler_eur_per_year(replayed.boiler_mw) * year_fraction
    unmet = replayed.unmet_heat_mwh * unmet_heat_eur_per_mwh
    return PricedPoint(
        point=point,
        replayed=replayed,
        heat_pump_eur_per_year=heat_pump,
        tank_eur_per_year=tank,
        boiler_eur_per_year=boiler,
        unmet_heat_eur=unmet,
        total_eur_per_year=heat_pump + tank + boiler + replayed.operating_cost_eur + unmet,
    )


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities are not JSON: null."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in row.items()
    }


def _row(p: PricedPoint) -> dict[str, Any]:
    return _clean(
        {
            **asdict(p.point),
            **asdict(p.replayed),
            "heat_pump_eur_per_year": p.heat_pump_eur_per_year,
            "tank_eur_per_year": p.tank_eur_per_year,
            "boiler_eur_per_year": p.boiler_eur_per_year,
            "investment_eur_per_year": p.investment_eur_per_year,
            "unmet_heat_eur": p.unmet_heat_eur,
            "total_eur_per_year": p.total_eur_per_year,
        }
    )


def render_markdown(study: SizeStudy, plots: list[str]) -> str:
    years = (study.end_utc - study.start_utc).total_seconds() / (365.0 * 86400.0)
    lines = [
        f"# Sizing: {study.plant}",
        "",
        f"Policy `{study.policy}`, {study.start_utc:%Y-%m-%d %H:%M} to "
        f"{study.end_utc:%Y-%m-%d %H:%M} UTC ({years:.2f} years); carbon "
        f"{study.carbon_price_eur_per_t:g} EUR/t; discount rate "
        f"{study.costs.discount_rate:.1%}; unmet heat at {study.unmet_heat_eur_per_mwh:,.0f} "
        f"EUR/MWh. Tank 0 m3: a {BUFFER_M3:g} m3 buffer, not costed. Costs in k EUR for the "
        "period (investment: its annualised share).",
        "",
        "| HP MW | tank m3 | boiler MW | total | invest | operating | CO2 t | boiler share "
        "| unmet h | tank cycles | starts |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in sorted(study.points, key=lambda p: p.total_eur_per_year):
        r = p.replayed
        lines.append(
            f"| {p.point.heat_pump_mw:g} | {p.point.tank_m3:g} | {r.boiler_mw:g} | "
            f"{p.total_eur_per_year / 1000:,.0f} | {p.investment_eur_per_year / 1000:,.0f} | "
            f"{r.operating_cost_eur / 1000:,.0f} | {r.co2_t:,.0f} | {r.boiler_share:.1%} | "
            f"{r.unmet_heat_hours} | {r.tank_cycles:,.1f} | {r.starts} |"
        )
    lines.append("")
    best, trade = study.optimum, study.tradeoff
    if best is not None and trade is not None:
        lines.append(
            f"- Cost-optimal: {best.point.key}: {best.total_eur_per_year / 1000:,.0f} k EUR, "
            f"{best.replayed.co2_t:,.0f} t CO2."
        )
        lines.append(
            f"- Trade-off (least CO2 within {study.tradeoff_cost_pct:g} % of the optimum's "
            f"cost): {trade.point.key}: {trade.total_eur_per_year / 1000:,.0f} k EUR, "
            f"{trade.replayed.co2_t:,.0f} t CO2."
        )
    if study.missing:
        lines.append(
            f"- Not finished ({len(study.missing)} points; run the same command again to resume): "
            + ", ".join(p.key for p in study.missing)
        )
    lines += ["", *(f"![{Path(plot).stem}]({plot})" for plot in plots)]
    return "\n".join(lines) + "\n"


def write_study(study: SizeStudy, out_dir: Path, plots: list[str]) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    best, trade = study.optimum, study.tradeoff
    data = {
        "plant": study.plant,
        "policy": study.policy,
        "start_utc": study.start_utc.isoformat(),
        "end_utc": study.end_utc.isoformat(),
        "carbon_price_eur_per_t": study.carbon_price_eur_per_t,
        "unmet_heat_eur_per_mwh": study.unmet_heat_eur_per_mwh,
        "tradeoff_cost_pct": study.tradeoff_cost_pct,
        "costs": study.costs.model_dump(),
        "annuity_factors": {
            name: study.costs.annuity_factor(getattr(study.costs, name).lifetime_years)
            for name in ("heat_pump", "tank", "boiler")
        },
        "cost_optimal": None if best is None else asdict(best.point),
        "tradeoff": None if trade is None else asdict(trade.point),
        "points": [_row(p) for p in study.points],
        "missing": [asdict(p) for p in study.missing],
        "plots": plots,
    }
    paths = {"json": out_dir / "size.json", "markdown": out_dir / "size.md"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(render_markdown(study, plots), encoding="utf-8")
    return paths
