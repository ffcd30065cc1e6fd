"""The checkpoint keeper: after each epoch, write the run's checkpoints and history.

``fit(..., on_epoch_end=keeper)`` calls it with each epoch's record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from mnist_helpers.checkpoint import best_epoch_of, make_checkpoint, new_run_id, save_checkpoint
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.layout import RunFiles
from mnist_helpers.support.atomic_files import write_json
from mnist_helpers.train import EpochRecord


class CheckpointKeeper(RunFiles):
    """Epoch-end callback that keeps a run folder's files: ``checkpoints/last.pt`` every epoch,
    ``checkpoints/best.pt`` when validation accuracy improves, and ``history.json``.

    It writes only inside ``folder``, so an interrupted run loses at most the epoch in progress.
    ``last.pt`` is written first and is the record of what finished: it names the best epoch, so
    if a stop falls between the writes, ``best.pt`` is re-made from it when the run resumes
    (``resume.repair_run_files``), and ``history.json`` is rewritten from it.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        model: MnistCNN,
        optimizer: torch.optim.Optimizer,
        *,
        scheduler: Any | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        history: Sequence[EpochRecord] | None = None,
        best_val_acc: float = -1.0,
        resumed_from: Mapping[str, Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.params, self.seed = dict(params or {}), seed
        self.run_id = new_run_id()
        if resumed_from is not None:
            history = list(resumed_from.get("history") or [])
            self.run_id = resumed_from.get("run_id") or self.run_id
        self.history: list[EpochRecord] = list(history or [])
        self.best_epoch = best_epoch_of(self.history)
        best_in_history = max((r["val_acc"] for r in self.history), default=-1.0)
        self.best_val_acc = max(best_val_acc, best_in_history)

    def __call__(self, record: EpochRecord) -> None:
        self.history.append(record)
        improved = record["val_acc"] > self.best_val_acc
        if improved:
            self.best_val_acc, self.best_epoch = record["val_acc"], int(record["epoch"])
        metrics = {
            "val_acc": record["val_acc"],
            "val_loss": record["val_loss"],
            "best_val_acc": self.best_val_acc,
            "best_epoch": self.best_epoch,
        }
        checkpoint = make_checkpoint(
            self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            epoch=record["epoch"],
            metrics=metrics,
            history=self.history,
            params=self.params,
            seed=self.seed,
            run_id=self.run_id,
        )
        # Order matters: last.pt first (it holds the epoch's full record), then best.pt (a copy
        # of it when this epoch improved), then history.json. A stop between two writes leaves
        # files that a resume repairs from last.pt alone.
        save_checkpoint(checkpoint, self.last_path)
        if improved:
            save_checkpoint(checkpoint, self.best_path)
        write_json(self.history, self.history_path)
