"""Benchmarks: the project's training path against a naive seed-style loop, and what each costs.

    .venv/bin/python benchmarks/run.py            # sections 1 to 5 (see benchmarks/README.md)
    .venv/bin/python benchmarks/run.py --quick    # tiny settings: checks the script in a minute
    .venv/bin/python benchmarks/run.py --widths   # the model-width trade-off table only

Candidates run in one process, interleaved (A B A B ...), so machine noise hits them alike; the
figures are medians. Prints Markdown and writes it, with the raw numbers as JSON, to artifacts/.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import datasets, transforms

from mnist_helpers.batches import TensorBatches
from mnist_helpers.config import SMALL_RUN_ENV
from mnist_helpers.data import MNIST_MEAN, MNIST_STD, load_mnist, prepare_mnist_files, split_indices
from mnist_helpers.device import get_device
from mnist_helpers.drawing_like import digit_to_drawing
from mnist_helpers.loaders import make_test_loader, make_train_val_loaders
from mnist_helpers.model import (
    MnistCNN,
    count_parameters,
    multiply_adds_per_image,
    prepare_for_device,
)
from mnist_helpers.paths import ARTIFACTS_ENV
from mnist_helpers.predict import Predictor
from mnist_helpers.recipes import RECIPES, Recipe, build_training
from mnist_helpers.train import evaluate, train_one_epoch

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01_data_exploration", "02_train", "03_evaluate", "04_inference")
TARGET_ACC = 0.99
BATCH_SIZE = 64
LR = 1e-3
VAL_FRACTION = 0.15
NAIVE_EVAL_BATCH_SIZE = 1000
# Untimed batches before the timed epochs: one-time costs (allocator, kernel choice) stay out.
WARM_UP_BATCHES = 5
WARM_UP_CALLS = 20
# (conv channels, hidden units) for --widths; the first is the default model.
WIDTHS = [
    ((16, 32, 64), 128),
    ((8, 16, 32), 64),
    ((16, 32), 64),
    ((32, 64), 128),
    ((32, 64, 128), 128),
]
NAMES = {
    "naive": "naive seed-style loop",
    "baseline": "project, baseline recipe",
    "strong": "project, strong recipe",
}


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


@dataclass
class Candidate:
    """One training path: run an epoch (or only its first batches) and score the test set."""

    name: str
    model: nn.Module
    train_images: int
    run_epoch: Callable[[int, int | None], None]  # (epoch, max batches or None for all)
    test_acc: Callable[[], float]


class NaiveCNN(nn.Module):
    """The seed notebook's model: conv32 -> conv64 -> FC128 -> 10, in plain contiguous NCHW."""

    def __init__(self) -> None:
        super().__init__()
        # Named like MnistCNN's parts, so multiply_adds_per_image counts this model too.
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` normalised images to ``(N, 10)`` logits."""
        return self.classifier(self.features(images))


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the Markdown report."""
    print(message, file=sys.stderr, flush=True)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a timer measures the work and not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed_result(work: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """``work()``'s result and wall seconds, synchronised with the device at both ends."""
    synchronize(device)
    started = time.perf_counter()
    result = work()
    synchronize(device)
    return result, time.perf_counter() - started


def timed(work: Callable[[], Any], device: torch.device) -> float:
    """Wall seconds of ``work()``, synchronised with the device at both ends."""
    return timed_result(work, device)[1]


def first_batches(batches: Iterable[Any], max_batches: int | None) -> Iterable[Any]:
    """All of ``batches``, or only the first ``max_batches``."""
    return batches if max_batches is None else itertools.islice(batches, max_batches)


def naive_datasets(seed: int, train_limit: int | None, test_limit: int | None) -> tuple[Any, Any]:
    """The seed notebook's torchvision datasets: ToTensor and Normalize on every image access."""
    root = prepare_mnist_files()
    if root is None:
        raise SystemExit("No shipped MNIST files in data/mnist/; restore them with git checkout.")
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )
    train = datasets.MNIST(root=str(root), train=True, download=False, transform=transform)
    test = datasets.MNIST(root=str(root), train=False, download=False, transform=transform)
    train_indices, _ = split_indices(len(train), VAL_FRACTION, seed)  # the same 85 / 15 split
    train_indices = train_indices[:train_limit].tolist()
    return Subset(train, train_indices), Subset(test, range(test_limit or len(test)))


def naive_train_epoch(
    model: nn.Module, batches: Iterable[Any], optimizer: torch.optim.Optimizer, device: torch.device
) -> float:
    """The seed notebook's loop: move each batch, step, and read the loss back every step."""
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    running_loss = 0.0
    for images, labels in batches:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # as tutorials do; a GPU waits here every step
    return running_loss


@torch.no_grad()
def naive_test_acc(model: nn.Module, test_loader: DataLoader, device: torch.device) -> float:
    """Test accuracy the seed notebook's way: batches from the torchvision dataset."""
    model.eval()
    correct = 0
    for images, labels in test_loader:
        correct += (model(images.to(device)).argmax(1) == labels.to(device)).sum().item()
    return correct / len(test_loader.dataset)


def naive_candidate(train: Dataset, test: Dataset, seed: int, device: torch.device) -> Candidate:
    """The naive path: torchvision dataset, DataLoader(batch 64, shuffle), NCHW model, Adam."""
    torch.manual_seed(seed)
    model = NaiveCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    # Its own generator: the shuffle must not depend on what the other candidates drew.
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True, generator=generator)
    test_loader = DataLoader(test, batch_size=NAIVE_EVAL_BATCH_SIZE)

    def run_epoch(epoch: int, max_batches: int | None = None) -> None:
        naive_train_epoch(model, first_batches(train_loader, max_batches), optimizer, device)

    return Candidate(
        "naive", model, len(train), run_epoch, partial(naive_test_acc, model, test_loader, device)
    )


@dataclass
class ProjectData:
    """The project's tensors on the device: training images and labels, and the test loader."""

    train_images: torch.Tensor  # (N, 1, 28, 28) normalised
    train_labels: torch.Tensor  # (N,)
    test_loader: TensorBatches


def project_data(
    seed: int, device: torch.device, train_limit: int | None, test_limit: int | None
) -> ProjectData:
    """The project's loaders (normalised once, on the device), cut to the limits if any."""
    loaders = make_train_val_loaders(
        batch_size=BATCH_SIZE, val_fraction=VAL_FRACTION, seed=seed, device=device
    )
    test = make_test_loader(device=device)
    images, labels = loaders.train_loader.images, loaders.train_loader.labels
    return ProjectData(
        images[:train_limit],
        labels[:train_limit],
        TensorBatches(test.images[:test_limit], test.labels[:test_limit], test.batch_size),
    )


def project_candidate(
    name: str, recipe: Recipe, data: ProjectData, seed: int, device: torch.device, epochs: int
) -> Candidate:
    """The project's path: build_training from a recipe, TensorBatches, train_one_epoch."""
    torch.manual_seed(seed)
    train_loader = TensorBatches(
        data.train_images, data.train_labels, BATCH_SIZE, shuffle=True, seed=seed
    )
    # ``epochs`` sizes the strong recipe's one-cycle schedule; stepping past it raises.
    setup = build_training(
        recipe, lr=LR, epochs=epochs, steps_per_epoch=len(train_loader), device=device
    )

    def run_epoch(epoch: int, max_batches: int | None = None) -> None:
        train_loader.set_epoch(epoch)
        train_one_epoch(
            setup.model,
            first_batches(train_loader, max_batches),
            setup.optimizer,
            scheduler=setup.scheduler,
            augment=setup.augment,
            show_progress=False,
        )

    def test_acc() -> float:
        return evaluate(setup.model, data.test_loader)["acc"]

    return Candidate(name, setup.model, train_loader.num_samples, run_epoch, test_acc)


def warm_up(candidates: list[Candidate]) -> None:
    """Train each candidate on a few untimed batches, so one-time costs stay out of timings."""
    for candidate in candidates:
        candidate.run_epoch(0, WARM_UP_BATCHES)


def time_epochs(
    candidates: list[Candidate], repeats: int, device: torch.device
) -> dict[str, list[float]]:
    """Seconds of ``repeats`` whole epochs per candidate, interleaved, after a short warm-up."""
    warm_up(candidates)
    seconds: dict[str, list[float]] = {candidate.name: [] for candidate in candidates}
    for epoch in range(1, repeats + 1):
        for candidate in candidates:
            log(f"  timing epoch {epoch}/{repeats}: {candidate.name}")
            seconds[candidate.name].append(timed(partial(candidate.run_epoch, epoch), device))
    return seconds


def first_reach(epoch_seconds: list[float], accs: list[float], target: float) -> dict[str, Any]:
    """Epoch and cumulative training seconds at which test accuracy first reaches ``target``."""
    total = 0.0
    for epoch, (seconds, acc) in enumerate(zip(epoch_seconds, accs, strict=True), start=1):
        total += seconds
        if acc >= target:
            return {"reached_epoch": epoch, "reached_seconds": total}
    return {"reached_epoch": None, "reached_seconds": None}


def train_to_accuracy(
    candidates: list[Candidate], epochs: int, device: torch.device
) -> dict[str, dict[str, Any]]:
    """Train fresh candidates epoch by epoch, interleaved, scoring the test set after each epoch."""
    runs = {c.name: {"epoch_seconds": [], "test_acc": []} for c in candidates}
    for epoch in range(1, epochs + 1):
        for candidate in candidates:
            run = runs[candidate.name]
            run["epoch_seconds"].append(timed(partial(candidate.run_epoch, epoch), device))
            run["test_acc"].append(candidate.test_acc())  # not counted as training time
            log(f"  epoch {epoch}/{epochs}: {candidate.name} test acc {run['test_acc'][-1]:.2%}")
    for run in runs.values():
        run.update(first_reach(run["epoch_seconds"], run["test_acc"], TARGET_ACC))
    return runs


def matmul_gflops(device: torch.device, side: int, repeats: int) -> list[float]:
    """GFLOP/s of repeated ``side`` x ``side`` float32 matrix multiplies: a practical peak."""
    a, b = torch.randn(side, side, device=device), torch.randn(side, side, device=device)
    out = torch.empty(side, side, device=device)
    torch.mm(a, b, out=out)  # warm-up: thread pool and kernel choice
    flop = 2 * side**3
    return [flop / timed(partial(torch.mm, a, b, out=out), device) / 1e9 for _ in range(repeats)]


def multiply_adds(model: nn.Module) -> int:
    """multiply_adds_per_image in eval mode, so BatchNorm's statistics ignore the probe image."""
    was_training = model.training
    model.eval()
    try:
        return multiply_adds_per_image(model)
    finally:
        model.train(was_training)


def training_gflops(model: nn.Module, train_images: int, seconds_per_epoch: float) -> float:
    """Training GFLOP/s: 2 FLOP per multiply-add, times 3 for forward plus backward."""
    return multiply_adds(model) * 2 * 3 * train_images / seconds_per_epoch / 1e9


def prediction_latencies(
    digit: torch.Tensor, device: torch.device, calls: int, seed: int
) -> list[float]:
    """Seconds of each ``Predictor.predict`` on a canvas-like RGBA drawing (preprocessing too)."""
    torch.manual_seed(seed)
    # Random weights: the latency does not depend on them.
    predictor = Predictor(prepare_for_device(MnistCNN(), device), mean=MNIST_MEAN, std=MNIST_STD)
    drawing = digit_to_drawing(digit, style="transparent")  # (280, 280, 4) uint8
    for _ in range(WARM_UP_CALLS):
        if predictor.predict(drawing).status == "blank":
            raise RuntimeError("the benchmark drawing was read as blank")
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        predictor.predict(drawing)  # ends with .cpu(), which waits for the device
        latencies.append(time.perf_counter() - started)
    return latencies


def percentile(values: list[float], q: int) -> float:
    """The ``q``-th percentile (1 to 99) of ``values``."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def papermill_command() -> list[str]:
    """The papermill beside this Python (what `make run` calls), else ``python -m papermill``."""
    script = Path(sys.executable).with_name("papermill")
    return [str(script)] if script.exists() else [sys.executable, "-m", "papermill"]


def run_notebook(name: str, artifacts: Path, extra: list[str]) -> float:
    """Wall seconds of one headless papermill run of notebooks/NAME.ipynb into ``artifacts``."""
    output = artifacts / "notebooks" / f"{name}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [*papermill_command(), "--no-progress-bar", f"notebooks/{name}.ipynb", str(output)]
    command += ["-p", "artifacts_dir", str(artifacts), *extra]
    # Either variable would override the defaults being measured (small run, artifacts folder).
    env = {k: v for k, v in os.environ.items() if k not in (SMALL_RUN_ENV, ARTIFACTS_ENV)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"papermill failed on {name}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def pipeline_seconds(device_name: str) -> dict[str, Any]:
    """Wall seconds of the four notebooks at their defaults, and of 02_train with one epoch."""
    extra = [] if device_name == "auto" else ["-p", "device", device_name]
    with tempfile.TemporaryDirectory(prefix="mnist-benchmark-") as folder:
        notebooks = {}
        for name in NOTEBOOKS:
            log(f"  papermill {name}")
            notebooks[name] = run_notebook(name, Path(folder) / "pipeline", extra)
        log("  papermill 02_train -p epochs 1")
        one_epoch = run_notebook(
            "02_train", Path(folder) / "one_epoch", ["-p", "epochs", "1", *extra]
        )
    return {"notebooks": notebooks, "total": sum(notebooks.values()), "train_1_epoch": one_epoch}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: torch.device) -> dict[str, Any]:
    """The machine, the libraries and the date, for the report's header."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": f"{device} {gpu}".strip(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_start": load_average(),
    }


def load_average() -> float | None:
    """The 1-minute load average: above ~0.5 another program competed for the cores."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``5 epochs``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def markdown_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """Lines of a Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def header_lines(machine: dict[str, Any], settings: Settings, title: str) -> list[str]:
    """The report's title and the machine it ran on."""
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
        f"- settings: {settings.__dict__}",
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
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(text)
    (folder / f"{name}.json").write_text(json.dumps(raw, indent=2) + "\n")
    log(f"wrote {folder / name}.md and .json")


def run_main_benchmark(
    args: argparse.Namespace, settings: Settings, device: torch.device, machine: dict[str, Any]
) -> None:
    """Sections 1 to 5."""
    s = settings
    log("loading data")
    (naive_train, naive_test), naive_setup = timed_result(
        partial(naive_datasets, s.seed, s.train_limit, s.test_limit), device
    )
    data, project_setup = timed_result(
        partial(project_data, s.seed, device, s.train_limit, s.test_limit), device
    )
    setup = {"naive": naive_setup, "project": project_setup}

    def candidates(epochs: int) -> list[Candidate]:
        return [
            naive_candidate(naive_train, naive_test, s.seed, device),
            project_candidate("baseline", RECIPES["baseline"], data, s.seed, device, epochs),
            project_candidate("strong", RECIPES["strong"], data, s.seed, device, epochs),
        ]

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
            "multiply_adds": multiply_adds(c.model),
            "gflops": training_gflops(c.model, c.train_images, statistics.median(seconds[c.name])),
        }
        for c in timing_candidates
    }
    log("4. prediction latency")
    digit = load_mnist(train=False).images[0]
    latencies = prediction_latencies(digit, device, s.latency_calls, s.seed)
    pipeline = None
    if not (args.skip_pipeline or args.quick):
        log("5. notebooks")
        pipeline = pipeline_seconds(args.device)

    machine["load_average_end"] = load_average()
    lines = header_lines(machine, s, "MNIST benchmark" + (" (quick)" if args.quick else ""))
    lines += epoch_time_lines(seconds, setup)
    lines += accuracy_lines(runs, s.epochs)
    lines += throughput_lines(throughput, gflops)
    lines += latency_lines(latencies)
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
        "pipeline_seconds": pipeline,
    }
    write_report("benchmark_quick" if args.quick else "benchmark", lines, raw, args.output_dir)


def run_widths(
    args: argparse.Namespace, settings: Settings, device: torch.device, machine: dict[str, Any]
) -> None:
    """The model-width trade-off: seconds per epoch and test accuracy for several widths."""
    s = settings
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
                "multiply_adds": multiply_adds(candidate.model),
                "seconds_per_epoch": statistics.median(run["epoch_seconds"]),
                **run,
            }
        )
    machine["load_average_end"] = load_average()
    title = "MNIST model-width benchmark" + (" (quick)" if args.quick else "")
    lines = header_lines(machine, s, title) + widths_lines(rows, s.epochs)
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
    parser.add_argument("--skip-pipeline", action="store_true", help="skip section 5")
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
    )
    if settings.epochs < 1 or settings.repeats < 1:
        raise SystemExit("--epochs and --repeats must be at least 1")
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
    else:
        run_main_benchmark(args, settings, device, machine)


if __name__ == "__main__":
    main()
