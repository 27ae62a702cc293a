"""Heat maps of a sizing study over heat-pump MW x tank m3, the two choices marked."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from controller.evaluate.size_report import PricedPoint, SizeStudy

# figure name -> (title, value of a point)
Value = Callable[[PricedPoint], float]
FIGURES: dict[str, tuple[str, Value]] = {
    "total_cost": ("total cost, M EUR", lambda p: p.total_eur_per_year / 1e6),
    "co2": ("CO2, t", lambda p: p.replayed.co2_t),
    "boiler_share": ("boiler share of heat, %", lambda p: p.replayed.boiler_share * 100.0),
    "unmet_hours": ("hours with unmet heat", lambda p: float(p.replayed.unmet_heat_hours)),
    "tank_cycles": ("tank cycles (equivalent full)", lambda p: p.replayed.tank_cycles),
}


def _grid(points: list[PricedPoint], value: Value) -> tuple[list[float], list[float], np.ndarray]:
    heat_pumps = sorted({p.point.heat_pump_mw for p in points})
    tanks = sorted({p.point.tank_m3 for p in points})
    grid = np.full((len(heat_pumps), len(tanks)), np.nan)
    for p in points:
        grid[heat_pumps.index(p.point.heat_pump_mw), tanks.index(p.point.tank_m3)] = value(p)
    return heat_pumps, tanks, grid


def _heat_map(study: SizeStudy, points: list[PricedPoint], boiler: str, path: Path) -> None:
    best, trade = study.optimum, study.tradeoff
    fig, grid_axes = plt.subplots(2, 3, figsize=(15, 9))
    axes = list(grid_axes.flat)
    for ax, (title, value) in zip(axes, FIGURES.values(), strict=False):
        heat_pumps, tanks, grid = _grid(points, value)
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        fig.colorbar(image, ax=ax, shrink=0.85)
        ax.set_xticks(range(len(tanks)), [f"{t:g}" for t in tanks], rotation=45)
        ax.set_yticks(range(len(heat_pumps)), [f"{h:g}" for h in heat_pumps])
        ax.set_xlabel("tank m3")
        ax.set_ylabel("heat pumps MW")
        ax.set_title(title, fontsize=10)
        middle = float(np.nanmin(grid) + np.nanmax(grid)) / 2.0
        for i, row in enumerate(grid):
            for j, cell in enumerate(row):
                if math.isfinite(cell):
                    # dark text on the bright end of viridis, light on the dark end
                    color = "black" if cell > middle else "white"
                    ax.text(j, i, f"{cell:,.3g}", ha="center", va="center", fontsize=8, color=color)
        for choice, marker, label in ((best, "*", "cost-optimal"), (trade, "o", "trade-off")):
            if choice is None or choice not in points:
                continue
            ax.plot(
                tanks.index(choice.point.tank_m3),
                heat_pumps.index(choice.point.heat_pump_mw),
                marker,
                markersize=16,
                markerfacecolor="none",
                markeredgecolor="red" if marker == "*" else "orange",
                markeredgewidth=2,
                label=label,
            )
    _tradeoff(axes[-1], study, points)
    fig.suptitle(
        f"{study.plant}: {study.policy}, {study.start_utc:%Y-%m-%d} to {study.end_utc:%Y-%m-%d}, "
        f"boiler {boiler}\ncosts over the period, investment its annualised share; "
        f"red star: cost-optimal, orange circle: least CO2 within {study.tradeoff_cost_pct:g} %"
        " of its cost",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _tradeoff(ax: Axes, study: SizeStudy, points: list[PricedPoint]) -> None:
    """Total cost against CO2 of every point, labelled by its sizes, the choices marked."""
    cost = [p.total_eur_per_year / 1e6 for p in points]
    co2 = [p.replayed.co2_t for p in points]
    ax.scatter(co2, cost, c=[p.point.heat_pump_mw for p in points], cmap="viridis", s=25)
    for p, x, y in zip(points, co2, cost, strict=True):
        label = f"{p.point.heat_pump_mw:g}/{p.point.tank_m3:g}"
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=6)
    choices = (
        (study.optimum, "*", "red", "cost-optimal"),
        (study.tradeoff, "o", "orange", "trade-off"),
    )
    for choice, marker, color, label in choices:
        if choice is not None and choice in points:
            ax.plot(
                choice.replayed.co2_t,
                choice.total_eur_per_year / 1e6,
                marker,
                markersize=16,
                markerfacecolor="none",
                markeredgecolor=color,
                markeredgewidth=2,
                label=label,
            )
    ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("CO2, t")
    ax.set_ylabel("total cost, M EUR")
    ax.set_title("cost against CO2 (labels: heat pumps MW / tank m3)", fontsize=10)
    ax.grid(alpha=0.3)


def write_size_plots(study: SizeStudy, out_dir: Path) -> list[str]:
    """One PNG of the five heat maps per boiler rating; names relative to `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_boiler: dict[float | None, list[PricedPoint]] = {}
    for p in study.points:
        by_boiler.setdefault(p.point.boiler_mw, []).append(p)
    names: list[str] = []
    for boiler, points in by_boiler.items():
        label = "as in the plant file" if boiler is None else f"{boiler:g} MW"
        name = "size.png" if boiler is None else f"size_boiler_{boiler:g}mw.png"
        _heat_map(study, points, label, out_dir / name)
        names.append(name)
    return names
