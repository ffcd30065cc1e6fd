"""Benchmarks: the project's training path against a naive seed-style loop, and what each costs.

    .venv/bin/python -m benchmarks.run                      # sections 1 to 5 (benchmarks/README.md)
    .venv/bin/python -m benchmarks.run --user-command-only  # section 5 only: `make benchmark`
    .venv/bin/python -m benchmarks.run --quick              # tiny settings: checks the code
    .venv/bin/python -m benchmarks.run --widths             # the model-width trade-off table

Candidates run in one process, interleaved (A B A B ...), so machine noise hits them alike; the
figures are medians. Prints Markdown and writes it, with the raw numbers as JSON, to artifacts/.
The work lives beside this file: naive.py and candidates.py (the training paths), measure.py
(timers, FLOP counts, latency, notebook wall time), user_command.py (section 5: papermill against
the naive run) and report.py (the Markdown and JSON).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from benchmarks.candidates import Candidate, project_candidate, project_data
from benchmarks.measure import (
    load_average,
    log,
    machine_info,
    matmul_gflops,
    pipeline_seconds,
    prediction_latencies,
    time_epochs,
    timed_result,
    train_to_accuracy,
    training_gflops,
    warm_up,
)
from benchmarks.naive import naive_candidate, naive_datasets
from benchmarks.report import (
    accuracy_lines,
    epoch_time_lines,
    header_lines,
    latency_lines,
    pipeline_lines,
    throughput_lines,
    user_command_lines,
    widths_lines,
    write_report,
)
from benchmarks.user_command import compare_user_command
from mnist_helpers.data import load_mnist
from mnist_helpers.device import autocast_dtype, get_device, precision_label
from mnist_helpers.model import count_parameters, multiply_adds_per_image
from mnist_helpers.runs.recipes import RECIPES, Recipe

ROOT = Path(__file__).resolve().parents[1]
# (conv channels, hidden units) for --widths; the first is the default model.
WIDTHS = [
    ((16, 32, 64), 128),
    ((8, 16, 32), 64),
    ((16, 32), 64),
    ((32, 64), 128),
    ((32, 64, 128), 128),
]


@dataclass
class Settings:
    """Sizes of one benchmark run, after --quick has filled in what was not given."""

    epochs: int
    repeats: int
    train_limit: int | None  # None: all 51,000 training images
    test_limit: int | None  # None: all 10,000 test images
    latency_calls: int
    matmul_side: int
    matmul_repeats: int
    seed: int
    user_epochs: int  # section 5: the notebook's and the naive run's epochs
    user_rounds: int  # section 5: interleaved rounds


def run_main_benchmark(
    args: argparse.Namespace, settings: Settings, device: torch.device, machine: dict[str, Any]
) -> None:
    """Sections 1 to 5."""
    s = settings
    baseline = RECIPES["default"]
    # The project's paths train as 02_train does with precision="auto"; the baseline is also
    # timed in the precision that "auto" did not pick, to show what the choice is worth here.
    auto_dtype = autocast_dtype("auto", device)
    other_precision = None
    if args.compare_precision and device.type in ("cpu", "cuda"):
        other_precision = (
            ("baseline_fp32", None) if auto_dtype else ("baseline_bf16", torch.bfloat16)
        )
    log("loading data")
    naive_sets, naive_setup = timed_result(
        partial(naive_datasets, s.seed, s.train_limit, s.test_limit), device
    )
    data, project_setup = timed_result(
        partial(project_data, s.seed, device, s.train_limit, s.test_limit), device
    )
    setup = {"naive": naive_setup, "project": project_setup}

    def candidates(epochs: int) -> list[Candidate]:
        paths = [
            naive_candidate(naive_sets.train, naive_sets.test, s.seed, device),
            project_candidate("baseline", baseline, data, s.seed, device, epochs, auto_dtype),
            project_candidate(
                "strong", RECIPES["strong"], data, s.seed, device, epochs, auto_dtype
            ),
        ]
        if other_precision is not None:
            name, dtype = other_precision
            paths.insert(2, project_candidate(name, baseline, data, s.seed, device, epochs, dtype))
        if device.type == "cuda":
            # What recording the step as a CUDA graph is worth: the same path, run eagerly.
            eager = project_candidate(
                "baseline_eager", baseline, data, s.seed, device, epochs, auto_dtype, "eager"
            )
            paths.insert(2, eager)
        return paths

    log("1. seconds per epoch")
    # One spare epoch in the strong schedule for the warm-up batches.
    timing_candidates = candidates(s.repeats + 1)
    seconds = time_epochs(timing_candidates, s.repeats, device)
    log("2. time to accuracy")
    runs = train_to_accuracy(candidates(s.epochs), s.epochs, device)
    log("3. matmul peak")
    gflops = matmul_gflops(device, s.matmul_side, s.matmul_repeats)
    throughput = {
        c.name: {
            "multiply_adds": multiply_adds_per_image(c.model),
            "gflops": training_gflops(c.model, c.train_images, statistics.median(seconds[c.name])),
        }
        for c in timing_candidates
    }
    log("4. prediction latency")
    digit = load_mnist(train=False).images[0]
    latencies = prediction_latencies(digit, device, s.latency_calls, s.seed)
    comparison = None if args.skip_pipeline else user_command_section(args, s, device)
    pipeline = None
    if args.notebooks:
        log("6. notebooks")
        pipeline = pipeline_seconds(args.device)

    machine["load_average_end"] = load_average()
    title = "MNIST benchmark" + (" (quick)" if args.quick else "")
    lines = header_lines(machine, s.__dict__, title)
    lines.append(f"- precision='auto' here: {precision_label(auto_dtype)}")
    lines += epoch_time_lines(seconds, setup)
    lines += accuracy_lines(runs, s.epochs)
    lines += throughput_lines(throughput, gflops)
    lines += latency_lines(latencies)
    if comparison is not None:
        lines += user_command_lines(comparison)
    if pipeline is not None:
        lines += pipeline_lines(pipeline, statistics.median(seconds["naive"]))
    raw = {
        "machine": machine,
        "settings": s.__dict__,
        "train_images": timing_candidates[0].train_images,
        "setup_seconds": setup,
        "epoch_seconds": seconds,
        "to_accuracy": runs,
        "matmul_gflops": gflops,
        "throughput": throughput,
        "latency_seconds": latencies,
        "user_command": comparison,
        "pipeline_seconds": pipeline,
    }
    write_report("benchmark_quick" if args.quick else "benchmark", lines, raw, args.output_dir)


def notebook_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """Parameters of the timed notebook run besides ``epochs``: the device, the small run."""
    parameters: dict[str, Any] = {} if args.device == "auto" else {"device": args.device}
    if args.quick:
        parameters["small_run"] = True
    return parameters


def user_command_section(
    args: argparse.Namespace, settings: Settings, device: torch.device
) -> dict[str, Any]:
    """Section 5: papermill 02_train against the naive run, interleaved."""
    log("5. what a user waits for")
    return compare_user_command(
        settings.user_epochs,
        settings.user_rounds,
        settings.seed,
        device,
        notebook_parameters(args),
        naive_limit=settings.train_limit,
    )


def run_user_command_only(
    args: argparse.Namespace, settings: Settings, device: torch.device, machine: dict[str, Any]
) -> None:
    """Only section 5: the headline ratio and where the notebook's time goes."""
    comparison = user_command_section(args, settings, device)
    machine["load_average_end"] = load_average()
    title = "MNIST benchmark: what a user waits for" + (" (quick)" if args.quick else "")
    lines = header_lines(machine, settings.__dict__, title)
    lines += user_command_lines(comparison)
    raw = {"machine": machine, "settings": settings.__dict__, "user_command": comparison}
    name = "benchmark_user_command" + ("_quick" if args.quick else "")
    write_report(name, lines, raw, args.output_dir)


def run_widths(
    args: argparse.Namespace, settings: Settings, device: torch.device, machine: dict[str, Any]
) -> None:
    """The model-width trade-off: seconds per epoch and test accuracy for several widths."""
    s = settings
    auto_dtype = autocast_dtype("auto", device)  # as 02_train trains by default
    log("loading data")
    data = project_data(s.seed, device, s.train_limit, s.test_limit)

    def candidates() -> list[Candidate]:
        return [
            project_candidate(
                f"{conv}/{hidden}",
                Recipe("width", {"conv_channels": conv, "hidden_units": hidden}),
                data,
                s.seed,
                device,
                s.epochs,
                auto_dtype,
            )
            for conv, hidden in WIDTHS
        ]

    # Throwaway copies take the one-time costs, so the measured models train exactly as recorded.
    warm_up(candidates())
    measured = candidates()
    runs = train_to_accuracy(measured, s.epochs, device)
    rows = []
    for candidate, (conv_channels, hidden_units) in zip(measured, WIDTHS, strict=True):
        run = runs[candidate.name]
        rows.append(
            {
                "conv_channels": conv_channels,
                "hidden_units": hidden_units,
                "parameters": count_parameters(candidate.model),
                "multiply_adds": multiply_adds_per_image(candidate.model),
                "seconds_per_epoch": statistics.median(run["epoch_seconds"]),
                **run,
            }
        )
    machine["load_average_end"] = load_average()
    title = "MNIST model-width benchmark" + (" (quick)" if args.quick else "")
    lines = header_lines(machine, s.__dict__, title)
    lines.append(f"- precision='auto' here: {precision_label(auto_dtype)}")
    lines += widths_lines(rows, s.epochs)
    raw = {"machine": machine, "settings": s.__dict__, "widths": rows}
    name = "benchmark_widths" + ("_quick" if args.quick else "")
    write_report(name, lines, raw, args.output_dir)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="epoch budget for sections 2 and --widths (5)")
    parser.add_argument("--repeats", type=int, help="timed epochs per path in section 1 (3)")
    parser.add_argument("--quick", action="store_true", help="tiny run to check the script")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--skip-pipeline", action="store_true", help="skip section 5 (papermill against naive)"
    )
    parser.add_argument(
        "--user-command-only",
        action="store_true",
        help="only section 5 (what `make benchmark` runs)",
    )
    parser.add_argument("--user-epochs", type=int, help="epochs of section 5's two runs (5)")
    parser.add_argument("--user-rounds", type=int, help="interleaved rounds of section 5 (2)")
    parser.add_argument(
        "--notebooks", action="store_true", help="also time the four notebooks at their defaults"
    )
    parser.add_argument(
        "--compare-precision",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the baseline in the precision that precision='auto' did not pick",
    )
    parser.add_argument("--widths", action="store_true", help="only the model-width table")
    parser.add_argument("--seed", type=int, default=42, help="split, weights and shuffling")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "artifacts")
    return parser.parse_args()


def settings_from(args: argparse.Namespace) -> Settings:
    """Sizes for this run: --quick shrinks everything not given explicitly."""
    quick = args.quick
    settings = Settings(
        epochs=(1 if quick else 5) if args.epochs is None else args.epochs,
        repeats=(1 if quick else 3) if args.repeats is None else args.repeats,
        train_limit=2000 if quick else None,
        test_limit=1000 if quick else None,
        latency_calls=100 if quick else 1000,
        matmul_side=2048 if quick else 4096,
        matmul_repeats=3 if quick else 7,
        seed=args.seed,
        user_epochs=(1 if quick else 5) if args.user_epochs is None else args.user_epochs,
        user_rounds=(1 if quick else 2) if args.user_rounds is None else args.user_rounds,
    )
    if min(settings.epochs, settings.repeats, settings.user_epochs, settings.user_rounds) < 1:
        raise SystemExit("--epochs, --repeats, --user-epochs and --user-rounds must be at least 1")
    return settings


def main() -> None:
    """Run the benchmark the command line asks for."""
    args = parse_args()
    settings = settings_from(args)
    device = get_device(args.device)
    machine = machine_info(device)
    log(f"device {machine['device']}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.widths:
        run_widths(args, settings, device, machine)
    elif args.user_command_only:
        run_user_command_only(args, settings, device, machine)
    else:
        run_main_benchmark(args, settings, device, machine)


if __name__ == "__main__":
    main()
