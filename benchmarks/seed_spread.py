"""Train and evaluate with the default parameters under several seeds: is the default seed typical?

    python benchmarks/seed_spread.py --seeds 42 0 1

Runs notebooks 02 and 03 with papermill for each seed into artifacts/seeds/<seed>/ and prints a
table of the best validation accuracy and the test accuracy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_seed(seed: int, extra: list[str]) -> dict[str, float]:
    """Run 02 and 03 for one seed; return its metrics."""
    artifacts = ROOT / "artifacts" / "seeds" / str(seed)
    artifacts.mkdir(parents=True, exist_ok=True)  # papermill does not create the output folder
    started = time.perf_counter()
    for name in ("02_train", "03_evaluate"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "papermill",
                "--no-progress-bar",
                f"notebooks/{name}.ipynb",
                str(artifacts / f"{name}.ipynb"),
                "-p",
                "seed",
                str(seed),
                "-p",
                "artifacts_dir",
                str(artifacts),
                *extra,
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    history = json.loads((artifacts / "history.json").read_text())
    metrics = json.loads((artifacts / "metrics.json").read_text())
    return {
        "seed": seed,
        "best_val_acc": max(r["val_acc"] for r in history),
        "best_epoch": metrics["epoch"],
        "test_acc": metrics["acc"],
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1])
    parser.add_argument("papermill_args", nargs="*", help="extra papermill arguments after --")
    args = parser.parse_args()
    rows = [run_seed(seed, args.papermill_args) for seed in args.seeds]
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


if __name__ == "__main__":
    main()
