"""What the benchmarks measure: epoch seconds, time to accuracy, FLOP/s, latency, notebook time.

Every timer synchronises the device at both ends, so it measures the work and not its launch.
Candidates take turns (A B A B ...), so machine noise hits them alike.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks.candidates import Candidate
from mnist_helpers.data import MNIST_MEAN, MNIST_STD
from mnist_helpers.images.drawing_style import digit_to_drawing
from mnist_helpers.model import MnistCNN, multiply_adds_per_image, prepare_for_device
from mnist_helpers.predict import Predictor
from mnist_helpers.runs.notebook_runner import run_notebook

NOTEBOOKS = ("01_data_exploration", "02_train", "03_evaluate", "04_inference")
TARGET_ACC = 0.99
# Untimed batches before the timed epochs: one-time costs (allocator, kernel choice) stay out.
WARM_UP_BATCHES = 5
WARM_UP_CALLS = 20


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


def training_gflops(model: nn.Module, train_images: int, seconds_per_epoch: float) -> float:
    """Training GFLOP/s: 2 FLOP per multiply-add, times 3 for forward plus backward."""
    return multiply_adds_per_image(model) * 2 * 3 * train_images / seconds_per_epoch / 1e9


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


def timed_notebook(name: str, artifacts: Path, parameters: dict[str, Any]) -> float:
    """Wall seconds of one headless papermill run of notebooks/NAME.ipynb into ``artifacts``."""
    output = artifacts / "notebooks" / f"{name}.ipynb"
    started = time.perf_counter()
    done = run_notebook(name, output, {"artifacts_dir": str(artifacts), **parameters})
    if done.returncode != 0:
        raise SystemExit(f"papermill failed on {name}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def pipeline_seconds(device_name: str) -> dict[str, Any]:
    """Wall seconds of the four notebooks at their defaults, and of 02_train with one epoch."""
    extra = {} if device_name == "auto" else {"device": device_name}
    with tempfile.TemporaryDirectory(prefix="mnist-benchmark-") as folder:
        notebooks = {}
        for name in NOTEBOOKS:
            log(f"  papermill {name}")
            notebooks[name] = timed_notebook(name, Path(folder) / "pipeline", extra)
        log("  papermill 02_train -p epochs 1")
        one_epoch = timed_notebook("02_train", Path(folder) / "one_epoch", {"epochs": 1, **extra})
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
