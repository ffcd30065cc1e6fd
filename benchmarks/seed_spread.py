"""Train and evaluate with the default parameters under several seeds: is the default seed typical?

    python -m benchmarks.seed_spread --seeds 42 0 1 [--param epochs=8 ...]

Runs notebooks 02 and 03 with papermill for each seed into artifacts/seeds/<seed>/ and prints a
table of the best validation accuracy and the test accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from mnist_helpers.runs.notebook_runner import run_notebook
from mnist_helpers.support.atomic_files import write_json

ROOT = Path(__file__).resolve().parents[1]
SPREAD_RESULTS = ROOT / "benchmarks" / "results" / "seed_spread.json"


def _found(folder: Path, name: str) -> Path:
    """The one ``name`` file a run wrote somewhere under ``folder``."""
    found = sorted(folder.rglob(name))
    if not found:
        raise SystemExit(f"the run wrote no {name} under {folder}")
    return found[-1]


def run_seed(seed: int, parameters: dict[str, Any]) -> dict[str, float]:
    """Run 02 and 03 for one seed; return its metrics."""
    artifacts = ROOT / "artifacts" / "seeds" / str(seed)
    started = time.perf_counter()
    for name in ("02_train", "03_evaluate"):
        values = {"seed": seed, "artifacts_dir": str(artifacts), **parameters}
        done = run_notebook(name, artifacts / f"{name}.ipynb", values)
        if done.returncode != 0:
            raise SystemExit(f"papermill failed on {name}:\n{done.stderr[-3000:]}")
    history = json.loads(_found(artifacts, "history.json").read_text())
    metrics = json.loads(_found(artifacts, "metrics.json").read_text())
    return {
        "seed": seed,
        "best_val_acc": max(r["val_acc"] for r in history),
        "best_epoch": metrics["epoch"],
        "test_acc": metrics["acc"],
        "seconds": time.perf_counter() - started,
    }


def parameter(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line; the value read as JSON when it is JSON."""
    name, _, value = text.partition("=")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def main() -> None:
    """Run every seed and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1])
    parser.add_argument(
        "--param",
        type=parameter,
        action="append",
        default=[],
        help="a notebook parameter: name=value",
    )
    args = parser.parse_args()
    rows = [run_seed(seed, dict(args.param)) for seed in args.seeds]
    print("| seed | best epoch | best val acc | test acc | seconds (02 + 03) |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['seed']} | {row['best_epoch']} | {row['best_val_acc']:.2%} | "
            f"{row['test_acc']:.2%} | {row['seconds']:.0f} |"
        )
    tests = [row["test_acc"] for row in rows]
    print(
        f"\ntest accuracy: mean {statistics.mean(tests):.2%}, min {min(tests):.2%}, "
        f"max {max(tests):.2%} over {len(tests)} seeds"
    )
    if not args.param:
        # The default run's spread, which notebooks 02 and 03 print (reading.seed_spread_summary).
        machine = f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores"
        write_json({"rows": rows, "machine": machine, "recipe": "default"}, SPREAD_RESULTS)
        print(f"written to {SPREAD_RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
