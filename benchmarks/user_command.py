"""What a user waits for: ``papermill 02_train -p epochs N`` against the naive N-epoch run.

The naive run is the seed notebook's whole training: build the torchvision datasets, then each
epoch train on the 85 % split and score the 15 % validation split, in this process. The project's
run is the notebook itself, started by papermill as a user would: kernel start, imports, data,
epochs (validation and checkpoints included) and figures, taken apart with papermill's per-cell
times. The two take turns, so machine noise hits both alike.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from benchmarks.candidates import BATCH_SIZE, LR
from benchmarks.measure import log, synchronize
from benchmarks.naive import (
    NAIVE_EVAL_BATCH_SIZE,
    NaiveCNN,
    naive_datasets,
    naive_test_acc,
    naive_train_epoch,
)
from mnist_helpers.runs.notebook_runner import run_notebook

NOTEBOOK = "02_train"
# The parts of the notebook's time, in the order a run goes through them.
PARTS = ("start-up", "imports", "data", "epochs", "figures", "other")


def cell_part(source: str) -> str:
    """Which part of the run a code cell of 02_train belongs to, judged by what it does."""
    lines = [line.strip() for line in source.splitlines()]
    statements = [line for line in lines if line and not line.startswith(("#", "%", "!"))]
    if "fit(" in source:
        return "epochs"  # training, validation and checkpoints
    if "start_training_run(" in source or "make_train_val_loaders(" in source:
        return "data"  # the run's set-up: imports, the data and the model
    if statements and statements[0].startswith(("import ", "from ")):
        return "imports"
    if "plot_" in source or "save_figure" in source:
        return "figures"
    return "other"


def notebook_breakdown(executed: Path, wall_seconds: float) -> dict[str, float]:
    """Seconds per part of an executed notebook; ``start-up`` is what no cell accounts for.

    That remainder is papermill's own start, the kernel's start and writing the output notebook.
    """
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    parts = dict.fromkeys(PARTS, 0.0)
    for cell in notebook["cells"]:
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if cell["cell_type"] == "code" and duration is not None:
            parts[cell_part("".join(cell["source"]))] += float(duration)
    parts["start-up"] = max(0.0, wall_seconds - sum(parts.values()))
    return parts


def last_val_acc(folder: Path) -> float | None:
    """The final validation accuracy that the notebook's run recorded under ``folder``."""
    for history in sorted(folder.rglob("history.json")):
        records = json.loads(history.read_text(encoding="utf-8"))  # one record per epoch
        if records:
            return float(records[-1]["val_acc"])
    return None


def papermill_run(epochs: int, parameters: dict[str, Any]) -> dict[str, Any]:
    """Wall seconds, per-part seconds and final validation accuracy of one 02_train run."""
    with tempfile.TemporaryDirectory(prefix="mnist-user-command-") as folder:
        output = Path(folder) / f"{NOTEBOOK}.ipynb"
        values = {"epochs": epochs, "artifacts_dir": str(Path(folder) / "artifacts"), **parameters}
        started = time.perf_counter()
        done = run_notebook(NOTEBOOK, output, values)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"papermill failed on {NOTEBOOK}:\n{done.stderr[-3000:]}")
        return {
            "seconds": wall,
            "parts": notebook_breakdown(output, wall),
            "val_acc": last_val_acc(Path(folder)),
        }


def naive_run(
    epochs: int, seed: int, device: torch.device, limit: int | None = None
) -> dict[str, Any]:
    """The seed notebook's whole run: datasets, then per epoch training and validation."""
    synchronize(device)
    started = time.perf_counter()
    sets = naive_datasets(seed, limit, limit)
    data_seconds = time.perf_counter() - started
    torch.manual_seed(seed)
    model = NaiveCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(sets.train, batch_size=BATCH_SIZE, shuffle=True, generator=generator)
    val_loader = DataLoader(sets.val, batch_size=NAIVE_EVAL_BATCH_SIZE)
    val_acc = None
    for _ in range(epochs):
        naive_train_epoch(model, train_loader, optimizer, device)
        val_acc = naive_test_acc(model, val_loader, device)  # ends with .item(): synchronised
    return {
        "seconds": time.perf_counter() - started,
        "data_seconds": data_seconds,
        "val_acc": val_acc,
    }


def compare_user_command(
    epochs: int,
    rounds: int,
    seed: int,
    device: torch.device,
    parameters: dict[str, Any],
    naive_limit: int | None = None,
) -> dict[str, Any]:
    """``rounds`` interleaved runs of the naive loop and of the notebook, naive first."""
    runs: dict[str, list[dict[str, Any]]] = {"naive": [], "notebook": []}
    for round_number in range(1, rounds + 1):
        log(f"  round {round_number}/{rounds}: naive {epochs}-epoch run with validation")
        runs["naive"].append(naive_run(epochs, seed, device, naive_limit))
        log(f"  round {round_number}/{rounds}: papermill {NOTEBOOK} -p epochs {epochs}")
        runs["notebook"].append(papermill_run(epochs, parameters))
    return {"epochs": epochs, "rounds": rounds, "parameters": parameters, "runs": runs}
