"""Training recipes: the default, a constant-rate one and a stronger one.

One parameter (``recipe``) chooses among them; each names its model arguments, learning-rate
schedule and augmentation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypedDict

import torch

from mnist_helpers.errors import ParameterError
from mnist_helpers.model import MnistCNN, prepare_for_device
from mnist_helpers.runs.parameters import canonical_recipe
from mnist_helpers.train import EpochRecord


class ResumeState(TypedDict):
    """Where a resumed run continues: the next epoch, the history so far, the best accuracy."""

    start_epoch: int
    history: list[EpochRecord]
    best_val_acc: float


@dataclass(frozen=True)
class Recipe:
    """What differs between recipes: model arguments, learning-rate schedule, augmentation."""

    name: str
    model_args: dict[str, Any] = field(default_factory=dict)
    onecycle_max_lr: float | None = None  # set: a one-cycle schedule peaking there
    decay: bool = False  # a short warm-up, then cosine decay of ``lr`` to zero (see lr_factor)
    augment: bool = False


SMALL_CNN = {"conv_channels": (16, 32, 64), "hidden_units": 128}
# Share of the run spent warming up from WARMUP_START * lr to lr: Adam's first steps, with
# moment estimates from a handful of batches, are the least reliable.
WARMUP_FRACTION = 0.02
WARMUP_START = 0.1

RECIPES = {
    # The default: Adam at peak lr after a short warm-up, decayed to zero over the run, so the
    # last epoch settles the weights instead of moving them as much as the first.
    "default": Recipe("default", SMALL_CNN, decay=True),
    # The same model with Adam at a constant lr (no schedule): the textbook recipe.
    "constant": Recipe("constant", SMALL_CNN),
    # Two convolutions per block, batch norm, dropout, light augmentation, a one-cycle schedule.
    "strong": Recipe(
        "strong",
        {
            "conv_channels": (16, 32, 64),
            "hidden_units": 128,
            "dropout": 0.2,
            "batch_norm": True,
            "convs_per_block": 2,
        },
        onecycle_max_lr=5e-3,
        augment=True,
    ),
}


def get_recipe(name: str) -> Recipe:
    """Look up a recipe by name."""
    try:
        return RECIPES[canonical_recipe(name)]
    except KeyError:
        raise ParameterError(f"recipe must be one of {tuple(RECIPES)}; got {name!r}") from None


def lr_factor(step: int, total_steps: int) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps of ``total_steps``.

    A linear warm-up over the first WARMUP_FRACTION of the run, then a cosine from 1 to 0 at the
    last step. A pure function of the step number, so a resumed run continues the same curve.
    """
    warmup = max(1, round(WARMUP_FRACTION * total_steps))
    if step < warmup:
        return WARMUP_START + (1 - WARMUP_START) * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))


def uses_fused_adam(device: torch.device) -> bool:
    """Whether Adam runs as one fused kernel on ``device`` (CPU and CUDA; elsewhere multi-tensor).

    On an H200 the multi-tensor Adam made steps 1.35x slower (more launches); on CPU it is a few
    per cent (benchmarks/step_variants.py).
    """
    return device.type in ("cpu", "cuda")


@dataclass
class TrainingSetup:
    """The objects ``fit`` needs, built from a recipe."""

    model: MnistCNN
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None


def build_training(
    recipe: Recipe,
    *,
    lr: float,
    epochs: int,
    steps_per_epoch: int,
    device: torch.device,
) -> TrainingSetup:
    """Model on ``device`` (channels_last), Adam and the recipe's learning-rate schedule.

    Augmentation belongs to the training loader (``make_train_val_loaders(augment=...)``).
    """
    model = prepare_for_device(MnistCNN(**recipe.model_args), device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=uses_fused_adam(device))
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    if recipe.onecycle_max_lr is not None:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=recipe.onecycle_max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch
        )
    elif recipe.decay:
        total_steps = epochs * steps_per_epoch

        # A plain function (not a lambda in a partial) keeps the scheduler's state_dict free of
        # code, so checkpoints still load with weights_only=True.
        def factor(step: int) -> float:
            return lr_factor(step, total_steps)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return TrainingSetup(model, optimizer, scheduler)


def restore_training_state(checkpoint: dict[str, Any], setup: TrainingSetup) -> ResumeState:
    """Load weights, optimizer, schedule and RNG state from ``checkpoint`` to continue training.

    Returns ``start_epoch``, ``history`` and ``best_val_acc`` for the resumed run.
    """
    setup.model.load_state_dict(checkpoint["model_state"])
    if checkpoint.get("optimizer_state") is not None:
        fused = setup.optimizer.defaults.get("fused")
        setup.optimizer.load_state_dict(checkpoint["optimizer_state"])
        # The saved groups carry the saving device's choice; a run saved on a GPU may resume on
        # a device without fused Adam, so keep this device's choice.
        for group in setup.optimizer.param_groups:
            group["fused"] = fused
    if setup.scheduler is not None and checkpoint.get("scheduler_state") is not None:
        setup.scheduler.load_state_dict(checkpoint["scheduler_state"])
    if checkpoint.get("rng_state") is not None:
        torch.set_rng_state(checkpoint["rng_state"])
    history = list(checkpoint.get("history", []))
    return {
        "start_epoch": int(checkpoint["epoch"]) + 1,
        "history": history,
        "best_val_acc": max((r["val_acc"] for r in history), default=-1.0),
    }
