"""The training paths the benchmarks compare: one Candidate interface, and the project's own path.

A Candidate runs an epoch (or only its first batches) and scores the test set. The project's path
is 02_train's model, optimizer, schedule and step, built by ``build_training`` as
``runs.start.start_training_run`` builds them, but without 02's run folder, resume check and
checkpoint keeper: those would be timed with the step, and several candidates share one process
and one copy of the data here. (The benchmarks that measure what 02's default run *learns*, such
as not_a_digit.py and photos.py, start it with ``start_training_run`` itself.) The naive
seed-style path lives in naive.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mnist_helpers.augment import training_augmentation
from mnist_helpers.evaluate import evaluate
from mnist_helpers.loaders import TensorBatches, make_test_loader, make_train_val_loaders
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.recipes import Recipe, build_training
from mnist_helpers.train import epoch_function

# The training defaults, from their one source.
BATCH_SIZE = TrainParams.batch_size
LR = TrainParams.lr
VAL_FRACTION = TrainParams.val_fraction


@dataclass
class Candidate:
    """One training path: run an epoch (or only its first batches) and score the test set."""

    name: str
    model: nn.Module
    train_images: int
    run_epoch: Callable[[int, int | None], None]  # (epoch, max batches or None for all)
    test_acc: Callable[[], float]


def first_batches(batches: Iterable[Any], max_batches: int | None) -> Iterable[Any]:
    """All of ``batches``, or only the first ``max_batches``."""
    return batches if max_batches is None else itertools.islice(batches, max_batches)


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
        batch_size=BATCH_SIZE, val_fraction=VAL_FRACTION, seed=seed, device=device, augment=False
    )
    test = make_test_loader(device=device)
    images, labels = loaders.train_loader.images, loaders.train_loader.labels
    return ProjectData(
        images[:train_limit],
        labels[:train_limit],
        TensorBatches(test.images[:test_limit], test.labels[:test_limit], test.batch_size),
    )


def project_candidate(
    name: str,
    recipe: Recipe,
    data: ProjectData,
    seed: int,
    device: torch.device,
    epochs: int,
    autocast_dtype: torch.dtype | None = None,
    step_mode: str = "auto",
) -> Candidate:
    """The project's path: build_training from a recipe, TensorBatches, train_one_epoch.

    ``autocast_dtype`` (None: float32) is what 02_train's ``precision`` parameter chooses; run.py
    passes what ``precision="auto"`` gives on the device. ``step_mode`` as in ``fit``.
    """
    torch.manual_seed(seed)
    # The moves of 02's default (its ``augment`` switch), without the typed and non-digit
    # stand-ins that 02 also mixes in: the step is what is timed here, and the reports in
    # benchmarks/results were measured this way.
    augment = TrainParams().augment or recipe.augment
    train_loader = TensorBatches(
        data.train_images,
        data.train_labels,
        BATCH_SIZE,
        shuffle=True,
        seed=seed,
        augment=training_augmentation() if augment else None,
    )
    # ``epochs`` sizes the strong recipe's one-cycle schedule; stepping past it raises.
    setup = build_training(
        recipe, lr=LR, epochs=epochs, steps_per_epoch=len(train_loader), device=device
    )
    one_epoch = epoch_function(step_mode, device)

    def run_epoch(epoch: int, max_batches: int | None = None) -> None:
        train_loader.set_epoch(epoch)
        one_epoch(
            setup.model,
            first_batches(train_loader, max_batches),
            setup.optimizer,
            scheduler=setup.scheduler,
            show_progress=False,
            autocast_dtype=autocast_dtype,
        )

    def test_acc() -> float:
        return evaluate(setup.model, data.test_loader, autocast_dtype=autocast_dtype)["acc"]

    return Candidate(name, setup.model, train_loader.num_samples, run_epoch, test_acc)
