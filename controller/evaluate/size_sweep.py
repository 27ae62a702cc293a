"""The sizing sweep on Dask: every point not yet stored is replayed on a worker, stored as it
arrives, with a progress bar and the time left.

The same code runs on a `LocalCluster` of this machine's cores and on any running Dask cluster
(`dask scheduler` + `dask worker`, dask-jobqueue on a batch system, dask-kubernetes): only the
address the client connects to changes. The workers need hpctl importable (the same version:
the inputs hash does not cover the code).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from distributed import Client, LocalCluster, as_completed

from controller.config import Plant
from controller.evaluate.data import EvaluationData
from controller.evaluate.size_point import Replayed, SizePoint, run_point
from controller.evaluate.size_store import PointStore


@dataclass
class SweepOutcome:
    results: dict[SizePoint, Replayed]  # every point of the grid that is finished
    computed: list[SizePoint] = field(default_factory=list)  # replayed by this run
    reused: list[SizePoint] = field(default_factory=list)  # found in the store
    failed: dict[SizePoint, str] = field(default_factory=dict)  # point -> error


@contextmanager
def dask_client(scheduler: str | None, workers: int | None = None) -> Iterator[Client]:
    """A client of the cluster at `scheduler` (e.g. tcp://host:8786), or of a LocalCluster of
    `workers` single-threaded processes (default: one per core) closed on exit."""
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler is not None:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # the scheduler serves /health over HTTP even without a dashboard: a free loopback port,
        # not the default 8787 that another cluster on the machine may hold
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def size_sweep(
    client: Client,
    plant: Plant,
    data: EvaluationData,
    points: Sequence[SizePoint],
    store: PointStore,
    policy: str,
    carbon_price_eur_per_t: float | None,
    start_utc: datetime,
    end_utc: datetime,
    step_s: float,
    progress: TextIO | None = None,
) -> SweepOutcome:
    """Replay every point of `points` that `store` does not hold yet, on `client`'s cluster."""
    stored = store.load()
    outcome = SweepOutcome(results={p: stored[p] for p in points if p in stored})
    outcome.reused = [p for p in points if p in stored]
    todo = [p for p in points if p not in stored]
    bar = None
    if progress is not None:
        from tqdm import tqdm

        bar = tqdm(
            total=len(points),
            initial=len(outcome.reused),
            desc="size",
            unit="point",
            file=progress,
            smoothing=0.0,  # points take about as long each: the mean rate is the best guess
        )
    if not todo:
        if bar is not None:
            bar.close()
        return outcome
    plant_future, data_future = client.scatter([plant, data], broadcast=True, hash=False)
    futures = {
        client.submit(
            run_point,
            plant_future,
            data_future,
            point,
            policy,
            carbon_price_eur_per_t,
            start_utc,
            end_utc,
            step_s,
            key=f"hpctl-size-{store.inputs_hash}-{point.key}",
            pure=False,
            retries=0,
        ): point
        for point in todo
    }
    try:
        for future in as_completed(futures):
            point = futures[future]
            try:
                replayed = future.result()
            except Exception as exc:  # one failing point must not lose the others
                outcome.failed[point] = f"{type(exc).__name__}: {exc}"
                if bar is not None:  # now, not only at the end of a sweep of hours
                    bar.write(f"{point.key} failed: {outcome.failed[point]}", file=progress)
            else:
                store.append(point, replayed)
                outcome.results[point] = Replayed.from_dict(replayed)
                outcome.computed.append(point)
            if bar is not None:
                bar.set_postfix_str(point.key, refresh=False)
                bar.update(1)
    finally:
        for future in futures:
            future.cancel()
        if bar is not None:
            bar.close()
    outcome.results = {p: outcome.results[p] for p in points if p in outcome.results}
    return outcome
