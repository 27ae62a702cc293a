"""Heat maps of a sizing study over heat-pump MW x tank m3, the two choices marked."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from controller.evaluate.size_report import PricedPoint, SizeStudy

# figure name -> (title, value of a point)
FIGURES: dict[str, tuple[str, object]] = {
    "total_cost": ("total annual cost, M EUR", lambda p: p.total_eur_per_year / 1e6),
    "co2": ("CO2, t", lambda p: p.replayed.co2_t),
    "boiler_share": ("boiler share of heat, %", lambda p: p.replayed.boiler_share * 100.0),
    "unmet_hours": ("hours with unmet heat", lambda p: float(p.replayed.unmet_heat_hours)),
    "tank_cycles": ("tank cycles (equivalent full)", lambda p: p.replayed.tank_cycles),
}


def _grid(points: list[PricedPoint], value: object) -> tuple[list[float], list[float], np.ndarray]:
    heat_pumps = sorted({p.point.heat_pump_mw for p in points})
    tanks = sorted({p.point.tank_m3 for p in points})
    grid = np.full((len(heat_pumps), len(tanks)), np.nan)
    for p in points:
        grid[heat_pumps.index(p.point.heat_pump_mw), tanks.index(p.point.tank_m3)] = value(p)  # type: ignore[operator]
    return heat_pumps, tanks, grid


def _heat_map(study: SizeStudy, points: list[PricedPoint], boiler: str, path: Path) -> None:
    best, trade = study.optimum, study.tradeoff
    fig, axes = plt.subplots(1, len(FIGURES), figsize=(4.2 * len(FIGURES), 4.4))
    for ax, (title, value) in zip(axes, FIGURES.values(), strict=True):
        heat_pumps, tanks, grid = _grid(points, value)
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        fig.colorbar(image, ax=ax, shrink=0.85)
        ax.set_xticks(range(len(tanks)), [f"{t:g}" for t in tanks], rotation=45)
        ax.set_yticks(range(len(heat_pumps)), [f"{h:g}" for h in heat_pumps])
        ax.set_xlabel("tank m3")
        ax.set_ylabel("heat pumps MW")
        ax.set_title(title, fontsize=10)
        for i, row in enumerate(grid):
            for j, cell in enumerate(row):
                if math.isfinite(cell):
                    ax.text(j, i, f"{cell:,.3g}", ha="center", va="center", fontsize=7, color="w")
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
    axes[0].legend(loc="upper left", fontsize=7)
    fig.suptitle(
        f"{study.plant}: {study.policy}, {study.start_utc:%Y-%m-%d} to {study.end_utc:%Y-%m-%d}, "
        f"boiler {boiler}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


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
