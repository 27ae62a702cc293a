"""PNG plots of an evaluation (matplotlib, Agg backend: no display needed).

- `week_<policy>.png`: a representative week: price and carbon, heat per unit stacked with the
  boiler on top and the demand as a line, the tank's state of charge;
- `monthly_cost.png`: cost per month and policy;
- `load_duration.png`: hourly heat demand sorted, with each policy's heat-pump output sorted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from controller.evaluate.data import HOUR_S
from controller.evaluate.runner import Evaluation

WEEK_H = 7 * 24


def representative_week(evaluation: Evaluation) -> int:
    """First hour of the whole local-midnight week whose mean demand and price spread are
    closest to those of the period (relative distance), so the plot shows a typical week."""
    data = evaluation.data
    first = data.hour_index(evaluation.start_utc)
    hours = round((evaluation.end_utc - evaluation.start_utc).total_seconds() / HOUR_S)
    if hours <= WEEK_H:
        return 0
    demand = data.heat_demand_kw[first : first + hours]
    price = data.price_eur_per_mwh[first : first + hours]
    mean_demand, mean_spread = float(demand.mean()), float(price.std())
    best, best_score = 0, float("inf")
    for offset in range(0, hours - WEEK_H + 1, 24):
        week_demand = float(demand[offset : offset + WEEK_H].mean())
        week_spread = float(price[offset : offset + WEEK_H].std())
        score = abs(week_demand - mean_demand) / max(mean_demand, 1e-9) + abs(
            week_spread - mean_spread
        ) / max(mean_spread, 1e-9)
        if score < best_score:
            best, best_score = offset, score
    return best


def _times(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(hours=k) for k in range(count)]


def plot_week(evaluation: Evaluation, policy: str, offset_h: int, path: Path) -> None:
    result = evaluation.results[policy]
    data = evaluation.data
    span = slice(offset_h, min(result.hours, offset_h + WEEK_H))
    start = evaluation.start_utc + timedelta(hours=offset_h)
    first = data.hour_index(start)
    count = span.stop - span.start
    times = _times(start, count)
    trace = result.trace
    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    price_ax = axes[0]
    price_ax.step(times, data.price_eur_per_mwh[first : first + count], where="post", color="black")
    price_ax.set_ylabel("price EUR/MWh")
    carbon_ax = price_ax.twinx()
    carbon_ax.plot(times, data.carbon_g_per_kwh[first : first + count], color="tab:green", lw=1)
    carbon_ax.set_ylabel("carbon g/kWh", color="tab:green")
    price_ax.set_title(f"{evaluation.plant.site.plant.name}: {policy}, week from {start:%Y-%m-%d}")
    layers = [trace.unit_heat_kwh[i, span] / 1000.0 for i in range(len(result.unit_names))]
    labels = list(result.unit_names)
    layers.append(trace.boiler_heat_kwh[span] / 1000.0)
    labels.append("boiler")
    axes[1].stackplot(times, *layers, labels=labels, step="post", alpha=0.8)
    axes[1].plot(times, trace.demand_kwh[span] / 1000.0, color="black", lw=1, label="demand")
    axes[1].set_ylabel("heat MW")
    axes[1].legend(loc="upper right", fontsize="small", ncol=len(labels) + 1)
    axes[2].plot(times, 100.0 * trace.soc[span], color="tab:red")
    axes[2].set_ylabel("tank SoC %")
    axes[2].set_ylim(0, 105)
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%a %d"))  # type: ignore[no-untyped-call]
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_monthly_cost(evaluation: Evaluation, path: Path) -> None:
    months: list[str] = []
    index: list[int] = []
    for hour in range(next(iter(evaluation.results.values())).hours):
        when = evaluation.start_utc + timedelta(hours=hour)
        label = f"{when:%Y-%m}"
        if not months or months[-1] != label:
            months.append(label)
        index.append(len(months) - 1)
    month_of = np.asarray(index)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(1, len(evaluation.results))
    first = evaluation.data.hour_index(evaluation.start_utc)
    for k, (name, result) in enumerate(evaluation.results.items()):
        fuel_kwh = result.trace.boiler_fuel_kwh
        fuel_eur_per_kwh = evaluation.data.fuel_price_eur_per_mwh[first : first + fuel_kwh.size]
        hourly = result.trace.electricity_cost_eur + fuel_kwh * fuel_eur_per_kwh / 1000.0
        monthly = np.bincount(month_of, weights=hourly, minlength=len(months)) / 1000.0
        ax.bar(np.arange(len(months)) + k * width, monthly, width, label=name)
    ax.set_xticks(np.arange(len(months)) + width * (len(evaluation.results) - 1) / 2)
    ax.set_xticklabels(months, rotation=45, ha="right")
    ax.set_ylabel("cost k EUR (electricity + fuel)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_load_duration(evaluation: Evaluation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    any_result = next(iter(evaluation.results.values()))
    demand = np.sort(any_result.trace.demand_kwh)[::-1] / 1000.0
    ax.plot(demand, color="black", lw=2, label="heat demand")
    for name, result in evaluation.results.items():
        heat_pumps = np.sort(result.trace.unit_heat_kwh.sum(axis=0))[::-1] / 1000.0
        ax.plot(heat_pumps, lw=1, label=f"{name}: heat pumps")
    ax.set_xlabel("hours")
    ax.set_ylabel("MW")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_plots(evaluation: Evaluation, out_dir: Path) -> list[str]:
    """Write every plot into `out_dir`; returns their file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    offset = representative_week(evaluation)
    for policy in evaluation.results:
        name = f"week_{policy}.png"
        plot_week(evaluation, policy, offset, out_dir / name)
        names.append(name)
    plot_monthly_cost(evaluation, out_dir / "monthly_cost.png")
    plot_load_duration(evaluation, out_dir / "load_duration.png")
    return [*names, "monthly_cost.png", "load_duration.png"]
