"""The benchmark report: Markdown lines for each section, printed and saved with the raw numbers."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks.candidates import BATCH_SIZE, LR
from benchmarks.measure import TARGET_ACC, log
from mnist_helpers.support.atomic_files import write_bytes, write_json

NAMES = {
    "naive": "naive seed-style loop",
    "baseline": "project, default recipe",
    "baseline_bf16": "project, default recipe, bf16 autocast forced",
    "baseline_fp32": "project, default recipe, fp32 forced",
    "baseline_eager": "project, default recipe, eager step (no CUDA graph)",
    "strong": "project, strong recipe",
}


def percentile(values: list[float], q: int) -> float:
    """The ``q``-th percentile (1 to 99) of ``values``."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``5 epochs``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def markdown_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """Lines of a Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def header_lines(machine: dict[str, Any], settings: dict[str, Any], title: str) -> list[str]:
    """The report's title, the machine it ran on and the run's settings (``Settings.__dict__``)."""
    return [
        f"# {title}",
        "",
        f"- CPU: {machine['cpu']}, {machine['logical_cores']} logical cores "
        f"({machine['usable_cores']} usable)",
        f"- torch {machine['torch']}, {machine['torch_threads']} threads; "
        f"device {machine['device']}",
        f"- Python {machine['python']} on {machine['platform']}; {machine['date']}",
        f"- 1-minute load average: {machine['load_average_start']} before the run (near 0: a quiet "
        f"machine), {machine['load_average_end']} at its end (the run itself adds up to "
        f"{machine['torch_threads']})",
        f"- settings: {settings}",
    ]


def epoch_time_lines(seconds: dict[str, list[float]], setup: dict[str, float]) -> list[str]:
    """Section 1: seconds per epoch, naive against the project's recipes."""
    naive = statistics.median(seconds["naive"])
    rows = [
        [NAMES[name], f"{statistics.median(s):.2f}", f"{min(s):.2f}", f"{max(s):.2f}",
         f"{naive / statistics.median(s):.2f}x"]
        for name, s in seconds.items()
    ]  # fmt: skip
    return [
        "",
        f"## 1. Seconds per training epoch (median of {len(seconds['naive'])}, interleaved)",
        "",
        *markdown_table(["path", "median s", "min s", "max s", "speed vs naive"], rows),
        "",
        f"One-time data preparation: naive {setup['naive']:.1f} s (torchvision datasets), "
        f"project {setup['project']:.1f} s (load, normalise, move to the device).",
    ]


def accuracy_lines(runs: dict[str, dict[str, Any]], epochs: int) -> list[str]:
    """Section 2: when each path first reaches 99.0 % test accuracy, and where it ends."""
    rows = []
    for name, run in runs.items():
        reached = run["reached_epoch"] is not None
        rows.append(
            [
                NAMES[name],
                run["reached_epoch"] if reached else "not reached",
                f"{run['reached_seconds']:.1f}" if reached else "-",
                f"{run['test_acc'][-1]:.2%}",
                " ".join(f"{acc:.2%}" for acc in run["test_acc"]),
            ]
        )
    headers = ["path", "epoch", "training s", f"test acc after {epochs}", "test acc per epoch"]
    return [
        "",
        f"## 2. Time to {TARGET_ACC:.1%} test accuracy "
        f"(budget {plural(epochs, 'epoch')}, interleaved)",
        "",
        *markdown_table(headers, rows),
    ]


def throughput_lines(throughput: dict[str, dict[str, float]], gflops: list[float]) -> list[str]:
    """Section 3: training FLOP/s of each model and its share of the matmul peak."""
    peak = max(gflops)
    rows = [
        [NAMES[name], f"{t['multiply_adds']:,}", f"{t['gflops']:.1f}", f"{t['gflops'] / peak:.1%}"]
        for name, t in throughput.items()
    ]
    return [
        "",
        "## 3. Training throughput (multiply-adds x 2 FLOP x 3 for forward + backward)",
        "",
        f"fp32 matmul peak: best {peak:.1f} GFLOP/s, median {statistics.median(gflops):.1f} "
        f"over {len(gflops)} repeats.",
        "",
        *markdown_table(["model", "multiply-adds / image", "GFLOP/s", "share of peak"], rows),
    ]


def latency_lines(latencies: list[float]) -> list[str]:
    """Section 4: single-image prediction latency, preprocessing included."""
    row = [
        len(latencies),
        f"{percentile(latencies, 50) * 1e3:.2f}",
        f"{percentile(latencies, 99) * 1e3:.2f}",
        f"{statistics.mean(latencies) * 1e3:.2f}",
    ]
    return [
        "",
        "## 4. Predictor.predict on a 280 x 280 RGBA drawing (preprocessing included)",
        "",
        *markdown_table(["calls", "p50 ms", "p99 ms", "mean ms"], [row]),
    ]


def pipeline_lines(pipeline: dict[str, Any], naive_epoch: float) -> list[str]:
    """Section 5: wall time of the notebooks, and of a one-epoch 02_train against a naive epoch."""
    rows = [[name, f"{seconds:.1f}"] for name, seconds in pipeline["notebooks"].items()]
    rows.append(["**total (four notebooks)**", f"**{pipeline['total']:.1f}**"])
    one_epoch = pipeline["train_1_epoch"]
    return [
        "",
        "## 5. Wall time of the notebooks (papermill, defaults)",
        "",
        *markdown_table(["notebook", "seconds"], rows),
        "",
        f"`02_train -p epochs 1`: {one_epoch:.1f} s (kernel start and data loading included) "
        f"against {naive_epoch:.1f} s for one naive epoch (ratio {one_epoch / naive_epoch:.2f}).",
    ]


def user_command_lines(comparison: dict[str, Any]) -> list[str]:
    """Section 5: the notebook run a user starts against the naive run, and where its time goes."""
    epochs, runs = comparison["epochs"], comparison["runs"]
    naive = statistics.median(run["seconds"] for run in runs["naive"])
    notebook = statistics.median(run["seconds"] for run in runs["notebook"])
    command = f"papermill notebooks/02_train.ipynb out.ipynb -p epochs {epochs}"
    for key, value in comparison["parameters"].items():
        command += f" -p {key} {value}"

    def row(name: str, key: str) -> list[str]:
        seconds = [run["seconds"] for run in runs[key]]
        acc = runs[key][-1]["val_acc"]
        return [
            name,
            f"{statistics.median(seconds):.1f}",
            " / ".join(f"{value:.1f}" for value in seconds),
            "-" if acc is None else f"{acc:.2%}",
        ]

    parts = {
        part: statistics.median(run["parts"][part] for run in runs["notebook"])
        for part in runs["notebook"][0]["parts"]
    }
    naive_data = statistics.median(run["data_seconds"] for run in runs["naive"])
    return [
        "",
        f"## 5. What a user waits for: `{command}` against the naive run",
        "",
        f"Interleaved, {plural(comparison['rounds'], 'round')}, naive first. The naive run is the "
        f"seed notebook's: torchvision datasets, {plural(epochs, 'epoch')} of training, the "
        "validation split scored after each, in this process (no kernel start or imports "
        "counted). The notebook's run counts everything a user waits for.",
        "",
        *markdown_table(
            ["run", "median s", "each round s", "final validation acc"],
            [
                row(f"naive seed-style run ({plural(epochs, 'epoch')}, validation)", "naive"),
                row(f"`papermill 02_train -p epochs {epochs}`", "notebook"),
            ],
        ),
        "",
        f"**Speed: {naive / notebook:.2f}x** (naive median / notebook median). Naive data "
        f"preparation: {naive_data:.1f} s.",
        "",
        "Where the notebook's time goes (median seconds; start-up is papermill's and the kernel's "
        "start and saving the output, the time no cell accounts for):",
        "",
        *markdown_table(list(parts), [[f"{seconds:.1f}" for seconds in parts.values()]]),
        "",
        f"Per epoch (training, validation, checkpoints): {parts['epochs'] / epochs:.2f} s.",
    ]


def widths_lines(rows: list[dict[str, Any]], epochs: int) -> list[str]:
    """The model-width trade-off table."""
    table = [
        [str(r["conv_channels"]), r["hidden_units"], f"{r['parameters']:,}",
         f"{r['multiply_adds']:,}", f"{r['seconds_per_epoch']:.2f}", f"{r['test_acc'][-1]:.2%}",
         r["reached_epoch"] or "not reached"]
        for r in rows
    ]  # fmt: skip
    headers = ["conv channels", "FC", "parameters", "multiply-adds / image", "s / epoch"]
    headers += [f"test acc after {epochs}", f"epoch reaching {TARGET_ACC:.1%}"]
    return [
        "",
        f"## Model width (project path, Adam {LR:g}, batch {BATCH_SIZE}, "
        f"{plural(epochs, 'epoch')})",
        "",
        *markdown_table(headers, table),
    ]


def write_report(name: str, lines: list[str], raw: dict[str, Any], folder: Path) -> None:
    """Print the Markdown and save it with the raw numbers as ``name``.md and ``name``.json."""
    text = "\n".join(lines) + "\n"
    print(text)
    write_bytes(text.encode("utf-8"), folder / f"{name}.md")
    write_json(raw, folder / f"{name}.json")
    log(f"wrote {folder / name}.md and .json")
