"""Run the chosen policies over one period, the lower bound beside them, and score them."""

from __future__ import annotations

import math
import multiprocessing
import time
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.queues import Queue
from typing import Any, TextIO

from controller.config import Plant
from controller.evaluate import policies
from controller.evaluate.bound import CostBound, lower_bound
from controller.evaluate.data import EvaluationData
from controller.evaluate.kpis import (
    Change,
    HeatValue,
    PolicyKpis,
    capture_with_reason,
    change_against,
    energy_balance_kwh,
    heat_value,
    policy_kpis,
)
from controller.evaluate.progress import MultiProgress, Progress
from controller.evaluate.replay import DEFAULT_STEP_S, PolicyFactory, ReplayResult, replay
from drivers.clock import SimClock


@dataclass
class Evaluation:
    """Everything the report and the plots need."""

    plant: Plant
    data: EvaluationData
    start_utc: datetime
    end_utc: datetime
    step_s: float
    carbon_price_eur_per_t: float
    results: dict[str, ReplayResult]
    kpis: dict[str, PolicyKpis]
    bound: CostBound | None
    heat: HeatValue
    energy_balance: dict[str, dict[str, float]]
    wall_s: float
    # "<policy>_<figure>" (figure: objective, cash, co2, objective_vs_bound) -> ratio
    capture: dict[str, float] = field(default_factory=dict)
    capture_reasons: dict[str, str] = field(default_factory=dict)  # why a ratio is NaN
    changes: dict[str, Change] = field(default_factory=dict)  # against the baseline

    @property
    def fuel_price_mean_eur_per_mwh(self) -> float:
        first = self.data.hour_index(self.start_utc)
        hours = round((self.end_utc - self.start_utc).total_seconds() / 3600.0)
        return float(self.data.fuel_price_eur_per_mwh[first : first + hours].mean())


def factory(
    name: str, data: EvaluationData, start_utc: datetime, carbon_price: float | None
) -> PolicyFactory:
    def make(plant: Plant, clock: SimClock) -> policies.PolicySetup:
        if name == "baseline":
            return policies.baseline(plant)
        if name == "merit":
            return policies.merit(plant, data, carbon_price)
        if name == "mpc":
            return policies.mpc(plant, data, clock, start_utc, carbon_price)
        if name == "perfect":
            return policies.perfect(plant, data, clock, carbon_price)
        raise ValueError(f"unknown policy '{name}' (known: {', '.join(policies.POLICIES)})")

    return make


class _QueueProgress:
    """Progress of a replay in a worker process, sent to the parent once per percent."""

    def __init__(self, name: str, total: int, queue: Queue[Any]) -> None:
        self._name = name
        self._step = max(1, total // 100)
        self._queue = queue

    def update(self, done: int) -> None:
        if done % self._step == 0:
            self._queue.put(("progress", self._name, done))


def _worker(
    queue: Queue[Any],
    name: str,
    plant: Plant,
    data: EvaluationData,
    start_utc: datetime,
    end_utc: datetime,
    carbon_price: float | None,
    step_s: float,
) -> None:
    try:
        hours = round((end_utc - start_utc).total_seconds() / 3600.0)
        make = factory(name, data, start_utc, carbon_price)
        sink = _QueueProgress(name, hours, queue)
        queue.put(("done", name, replay(plant, data, make, start_utc, end_utc, step_s, sink)))
    except BaseException as exc:  # the parent must hear of it, or it would wait forever
        queue.put(("error", name, f"{type(exc).__name__}: {exc}"))


def _replay_parallel(
    plant: Plant,
    data: EvaluationData,
    start_utc: datetime,
    end_utc: datetime,
    names: tuple[str, ...],
    carbon_price: float | None,
    step_s: float,
    jobs: int,
    progress: TextIO | None,
) -> dict[str, ReplayResult]:
    """Each policy in its own forked process, at most `jobs` at once; the slowest (mpc) first."""
    context = multiprocessing.get_context("fork")
    queue: Queue[Any] = context.Queue()
    hours = round((end_utc - start_utc).total_seconds() / 3600.0)
    bar = MultiProgress(dict.fromkeys(names, hours), progress) if progress is not None else None
    order = sorted(names, key=lambda name: name != "mpc")
    waiting = list(order)
    running: dict[str, multiprocessing.process.BaseProcess] = {}
    results: dict[str, ReplayResult] = {}
    errors: list[str] = []
    while waiting or running:
        while waiting and len(running) < jobs:
            name = waiting.pop(0)
            process = context.Process(
                target=_worker,
                args=(queue, name, plant, data, start_utc, end_utc, carbon_price, step_s),
                name=f"hpctl-evaluate-{name}",
            )
            process.start()
            running[name] = process
        kind, name, payload = queue.get()
        if kind == "progress":
            if bar is not None:
                bar.update(name, payload)
            continue
        running.pop(name).join()
        if kind == "done":
            results[name] = payload
            if bar is not None:
                bar.update(name, hours)
        else:
            errors.append(f"{name}: {payload}")
    if errors:
        raise RuntimeError("replay failed: " + "; ".join(errors))
    return {name: results[name] for name in names}


def evaluate(
    plant: Plant,
    data: EvaluationData,
    start_utc: datetime,
    end_utc: datetime,
    names: tuple[str, ...] = policies.POLICIES,
    carbon_price_eur_per_t: float | None = None,
    step_s: float = DEFAULT_STEP_S,
    progress: TextIO | None = None,
    jobs: int = 1,
    replayed: dict[str, ReplayResult] | None = None,
) -> Evaluation:
    """Replay each policy in `names` over [start, end) and compute KPIs, bound and ratios.

    With `jobs` > 1 the policies run in forked worker processes side by side. Policies in
    `replayed` (same plant, data and period) are scored from that result, not replayed again.
    """
    started = time.perf_counter()
    hours = round((end_utc - start_utc).total_seconds() / 3600.0)
    results: dict[str, ReplayResult] = {
        name: result for name, result in (replayed or {}).items() if name in names
    }
    todo = tuple(name for name in names if name not in results)
    if jobs > 1 and len(todo) > 1:
        results |= _replay_parallel(
            plant, data, start_utc, end_utc, todo, carbon_price_eur_per_t, step_s, jobs, progress
        )
    for name in todo:
        if name in results:
            continue
        make = factory(name, data, start_utc, carbon_price_eur_per_t)
        bar = Progress(hours, progress, label=f"{name:<8}") if progress is not None else None
        results[name] = replay(plant, data, make, start_utc, end_utc, step_s, bar)
    results = {name: results[name] for name in names}
    price = (
        plant.control.planner.carbon_price_eur_per_t
        if carbon_price_eur_per_t is None
        else carbon_price_eur_per_t
    )
    first_hour = data.hour_index(start_utc)
    fuel = data.fuel_price_eur_per_mwh[first_hour:]
    reference = results.get("baseline") or next(iter(results.values()))
    heat = heat_value(reference, plant, price, fuel)
    kpis = {name: policy_kpis(result, plant, price, fuel, heat) for name, result in results.items()}
    bound = (
        lower_bound(plant, data, start_utc, end_utc, carbon_price_eur_per_t)
        if "perfect" in names
        else None
    )
    capture: dict[str, float] = {}
    reasons: dict[str, str] = {}
    base = kpis.get("baseline")
    changes = (
        {name: change_against(k, base) for name, k in kpis.items() if name != "baseline"}
        if base is not None
        else {}
    )
    best = kpis.get("perfect")
    for name, k in kpis.items():
        if base is None or name in ("baseline", "perfect"):
            continue
        figures: dict[str, tuple[float, float, float]] = {}
        if best is not None:
            figures["objective"] = (
                base.adjusted_cost_eur,
                k.adjusted_cost_eur,
                best.adjusted_cost_eur,
            )
            figures["cash"] = (
                base.adjusted_cash_cost_eur,
                k.adjusted_cash_cost_eur,
                best.adjusted_cash_cost_eur,
            )
            figures["co2"] = (base.adjusted_co2_t, k.adjusted_co2_t, best.adjusted_co2_t)
        if bound is not None and math.isfinite(bound.cost_eur):
            figures["objective_vs_bound"] = (
                base.adjusted_cost_eur,
                k.adjusted_cost_eur,
                bound.cost_eur,
            )
        for figure, (b, achieved, top) in figures.items():
            ratio, why = capture_with_reason(b, achieved, top)
            capture[f"{name}_{figure}"] = ratio
            if why:
                reasons[f"{name}_{figure}"] = why
    return Evaluation(
        plant=plant,
        data=data,
        start_utc=start_utc,
        end_utc=end_utc,
        step_s=step_s,
        carbon_price_eur_per_t=price,
        results=results,
        kpis=kpis,
        bound=bound,
        heat=heat,
        energy_balance={name: energy_balance_kwh(result) for name, result in results.items()},
        wall_s=time.perf_counter() - started,
        capture=capture,
        capture_reasons=reasons,
        changes=changes,
    )
