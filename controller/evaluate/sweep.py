"""`hpctl evaluate --carbon-prices`: what each tonne of CO2 avoided costs.

One evaluation per carbon price over the same period and data. The baseline is price-blind, so
it is replayed once and scored at every price. The trade-off plot puts each policy's cash cost
against its CO2 (both adjusted for stored heat) at each price, beside the baseline's point: the
slope between two points of a policy is the cash it spends per tonne it avoids.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from controller.config import Plant
from controller.evaluate.data import EvaluationData
from controller.evaluate.runner import Evaluation, evaluate

PRICE_BLIND = ("baseline",)


@dataclass(frozen=True)
class SweepPoint:
    carbon_price_eur_per_t: float
    policy: str
    cash_cost_eur: float  # adjusted for stored heat
    co2_t: float  # adjusted for stored heat
    cash_change_eur: float  # against the baseline at the same price, negative: a saving
    co2_change_t: float
    starts: int
    unmet_heat_kwh: float


@dataclass(frozen=True)
class CarbonSweep:
    plant: str
    start_utc: datetime
    end_utc: datetime
    prices: tuple[float, ...]
    points: tuple[SweepPoint, ...]

    def cost_per_tonne_avoided(self, policy: str) -> float | None:
        """Cash spent per tonne avoided between the lowest and the highest price swept."""
        mine = sorted(
            (p for p in self.points if p.policy == policy), key=lambda p: p.carbon_price_eur_per_t
        )
        if len(mine) < 2:
            return None
        low, high = mine[0], mine[-1]
        avoided_t = low.co2_t - high.co2_t
        if avoided_t <= 0:
            return None
        return (high.cash_cost_eur - low.cash_cost_eur) / avoided_t


def carbon_sweep(
    plant: Plant,
    data: EvaluationData,
    start_utc: datetime,
    end_utc: datetime,
    names: tuple[str, ...],
    prices: tuple[float, ...],
    step_s: float,
    progress: TextIO | None = None,
    jobs: int = 1,
    each: Callable[[Evaluation, float], None] | None = None,
) -> CarbonSweep:
    points: list[SweepPoint] = []
    reused: dict[str, Any] = {}
    for price in prices:
        evaluation = evaluate(
            plant,
            data,
            start_utc,
            end_utc,
            names,
            price,
            step_s,
            progress=progress,
            jobs=jobs,
            replayed=reused,
        )
        reused = {name: evaluation.results[name] for name in PRICE_BLIND if name in names}
        if each is not None:
            each(evaluation, price)
        base = evaluation.kpis.get("baseline")
        for name, k in evaluation.kpis.items():
            points.append(
                SweepPoint(
                    carbon_price_eur_per_t=price,
                    policy=name,
                    cash_cost_eur=k.adjusted_cash_cost_eur,
                    co2_t=k.adjusted_co2_t,
                    cash_change_eur=(
                        k.adjusted_cash_cost_eur - base.adjusted_cash_cost_eur
                        if base is not None
                        else math.nan
                    ),
                    co2_change_t=k.adjusted_co2_t - base.adjusted_co2_t
                    if base is not None
                    else math.nan,
                    starts=k.total_starts,
                    unmet_heat_kwh=k.unmet_heat_kwh,
                )
            )
    return CarbonSweep(
        plant=plant.site.plant.name,
        start_utc=start_utc,
        end_utc=end_utc,
        prices=prices,
        points=tuple(points),
    )


def _clean(value: float) -> float | None:
    return value if math.isfinite(value) else None


def render_sweep_markdown(sweep: CarbonSweep, plot: str | None) -> str:
    lines = [
        f"# Carbon price sweep: {sweep.plant}",
        "",
        f"{sweep.start_utc:%Y-%m-%d %H:%M} to {sweep.end_utc:%Y-%m-%d %H:%M} UTC; cash cost and "
        "CO2 adjusted for stored heat; changes are policy minus baseline at the same price "
        "(negative: a saving).",
        "",
        "| carbon EUR/t | policy | cash EUR | CO2 t | cash change EUR | CO2 change t | starts "
        "| unmet kWh |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in sweep.points:
        lines.append(
            f"| {p.carbon_price_eur_per_t:g} | {p.policy} | {p.cash_cost_eur:,.0f} | "
            f"{p.co2_t:,.1f} | {p.cash_change_eur:+,.0f} | {p.co2_change_t:+,.1f} | {p.starts} | "
            f"{p.unmet_heat_kwh:,.0f} |"
        )
    lines.append("")
    for policy in dict.fromkeys(p.policy for p in sweep.points):
        if policy in PRICE_BLIND:
            continue
        per_tonne = sweep.cost_per_tonne_avoided(policy)
        low, high = min(sweep.prices), max(sweep.prices)
        if per_tonne is None:
            lines.append(
                f"- {policy}: a carbon price of {high:g} EUR/t does not avoid CO2 against "
                f"{low:g} EUR/t over this period."
            )
        else:
            lines.append(
                f"- {policy}: from {low:g} to {high:g} EUR/t, each tonne avoided costs "
                f"{per_tonne:,.0f} EUR of cash."
            )
    if plot is not None:
        lines += ["", f"![cost against CO2]({plot})"]
    return "\n".join(lines) + "\n"


def plot_tradeoff(sweep: CarbonSweep, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for policy in dict.fromkeys(p.policy for p in sweep.points):
        mine = sorted(
            (p for p in sweep.points if p.policy == policy),
            key=lambda p: p.carbon_price_eur_per_t,
        )
        co2 = [p.co2_t for p in mine]
        cash = [p.cash_cost_eur / 1000.0 for p in mine]
        if policy in PRICE_BLIND:
            ax.plot(co2[:1], cash[:1], "ks", markersize=9, label=f"{policy} (price-blind)")
            continue
        ax.plot(co2, cash, "o-", label=policy)
        for p, x, y in zip(mine, co2, cash, strict=True):
            ax.annotate(
                f"{p.carbon_price_eur_per_t:g}",
                (x, y),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
    ax.set_xlabel("CO2 t (adjusted for stored heat)")
    ax.set_ylabel("cash cost k EUR (adjusted for stored heat)")
    ax.set_title("cost against CO2; labels: carbon price EUR/t")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_sweep(sweep: CarbonSweep, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plot: str | None = "tradeoff.png"
    try:
        plot_tradeoff(sweep, out_dir / "tradeoff.png")
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("matplotlib"):
            raise
        plot = None
    data = {
        "plant": sweep.plant,
        "start_utc": sweep.start_utc.isoformat(),
        "end_utc": sweep.end_utc.isoformat(),
        "carbon_prices_eur_per_t": list(sweep.prices),
        "points": [
            {
                key: _clean(value) if isinstance(value, float) else value
                for key, value in vars(p).items()
            }
            for p in sweep.points
        ],
        "cash_per_tonne_avoided_eur": {
            policy: sweep.cost_per_tonne_avoided(policy)
            for policy in dict.fromkeys(p.policy for p in sweep.points)
            if policy not in PRICE_BLIND
        },
    }
    paths = {"json": out_dir / "sweep.json", "markdown": out_dir / "sweep.md"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(render_sweep_markdown(sweep, plot), encoding="utf-8")
    if plot is not None:
        paths["plot"] = out_dir / plot
    return paths
