"""Fuzz campaign of `make chaos`: bad plant configs, point maps, scenario files and MQTT
payloads, each read through the public loader that production uses.

Every input ends in one class: rejected with the loader's documented error (good), accepted
with every value finite and in range (good), a crash (any other exception), a hang (over the
per-input time budget) or a violation (accepted with a non-finite or out-of-range value).
Hypothesis generates the inputs (mutations of the shipped, valid files and of valid
messages); nothing is shrunk or stored, each input is classified and counted.

    python -m bench.chaos.fuzz --out bench-results/chaos-fuzz.json            # 25,000 per target
    python -m bench.chaos.fuzz --quick --out bench-results/chaos-fuzz.json    # 300 per target
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from bench.chaos.harness import TargetStats, run_with_budget
from bench.chaos.mutations import FuzzCase
from bench.chaos.targets import Target, build_targets

DEFAULT_INPUTS_PER_TARGET = 25_000
QUICK_INPUTS_PER_TARGET = 300
DEFAULT_BUDGET_S = 5.0


def fuzz_target(target: Target, inputs: int, run_seed: int, budget_s: float) -> TargetStats:
    """Feed `inputs` generated cases to the target and count what became of each."""
    stats = TargetStats(target.name)

    # generate only: a failure here is a finding to count, not a test to shrink and stop
    @seed(run_seed)
    @settings(
        max_examples=inputs,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(target.strategy)
    def run(case: FuzzCase) -> None:
        verdict, elapsed = run_with_budget(lambda: target.check(case), target.rejected, budget_s)
        stats.record(verdict, case.summary(), elapsed)

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loaders warn about some inputs; the verdict counts
        run()
    stats.wall_s = time.perf_counter() - started
    return stats


def campaign(
    inputs_per_target: int,
    run_seed: int,
    budget_s: float,
    only: Sequence[str] = (),
    progress: bool = True,
) -> dict[str, Any]:
    load_before = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_utc": datetime.now(UTC).isoformat(),
        "seed": run_seed,
        "inputs_per_target": inputs_per_target,
        "hang_budget_s": budget_s,
        "targets": {},
    }
    with tempfile.TemporaryDirectory(prefix="hpctl-fuzz-") as workdir:
        for target in build_targets(Path(workdir)):
            if only and target.name not in only:
                continue
            if progress:
                print(f"fuzzing {target.name} ({inputs_per_target} inputs)...", file=sys.stderr)
            stats = fuzz_target(target, inputs_per_target, run_seed, budget_s)
            results["targets"][target.name] = stats.to_json()
    load_after = os.getloadavg()
    targets = results["targets"].values()
    results["totals"] = {
        key: sum(t[key] for t in targets)
        for key in (
            "inputs",
            "rejected_cleanly",
            "accepted",
            "crashes",
            "hangs",
            "accepted_non_finite_or_out_of_range",
        )
    }
    results["wall_s"] = round(time.perf_counter() - started, 3)
    # other work on the machine stretches the wall time: the 1, 5 and 15 min load averages
    results["load_average_before"] = list(load_before)
    results["load_average_after"] = list(load_after)
    results["cpu_count"] = os.cpu_count()
    return results


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        f"{'target':<16} {'inputs':>7} {'rejected':>9} {'accepted':>9} {'crashes':>8} "
        f"{'hangs':>6} {'violations':>10} {'wall s':>8}"
    ]
    for name, t in results["targets"].items():
        lines.append(
            f"{name:<16} {t['inputs']:>7} {t['rejected_cleanly']:>9} {t['accepted']:>9} "
            f"{t['crashes']:>8} {t['hangs']:>6} "
            f"{t['accepted_non_finite_or_out_of_range']:>10} {t['wall_s']:>8.1f}"
        )
    total = results["totals"]
    lines.append(
        f"{'total':<16} {total['inputs']:>7} {total['rejected_cleanly']:>9} "
        f"{total['accepted']:>9} {total['crashes']:>8} {total['hangs']:>6} "
        f"{total['accepted_non_finite_or_out_of_range']:>10} {results['wall_s']:>8.1f}"
    )
    for name, t in results["targets"].items():
        for outcome, classes in t["failure_classes"].items():
            for signature, count in classes.items():
                lines.append(f"  {name} {outcome} x{count}: {signature}")
    lines.append(
        f"seed {results['seed']}, load average {results['load_average_after'][0]:.2f} "
        f"on {results['cpu_count']} cores"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results/chaos-fuzz.json"))
    parser.add_argument(
        "--inputs", type=int, default=None, help=f"per target (default {DEFAULT_INPUTS_PER_TARGET})"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_INPUTS_PER_TARGET} inputs per target"
    )
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed, recorded")
    parser.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S, help="hang budget")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        choices=["plant_configs", "point_maps", "scenario_files", "mqtt_payloads"],
        help="fuzz only this target (repeatable)",
    )
    args = parser.parse_args(argv)
    inputs = args.inputs or (QUICK_INPUTS_PER_TARGET if args.quick else DEFAULT_INPUTS_PER_TARGET)
    run_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    results = campaign(inputs, run_seed, args.budget_s, args.target)
    results["mode"] = "quick" if args.quick else "full"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print("\n".join(summary_lines(results)))
    print(f"written to {args.out}")
    # a finding is the campaign's result, not its failure: the exit status says it ran
    return 0


if __name__ == "__main__":
    sys.exit(main())
