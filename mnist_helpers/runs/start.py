"""Start a training run as 02 does, in one call, shared by the notebook, tests and benchmarks.

``start_training_run(params)`` locks the run folder, checks a resume request (both before any data
is loaded, so a mistake is refused at once), picks the device, seeds, loads the loaders, builds
the recipe's model, optimizer and schedule, restores a resumed run and makes the checkpoint
keeper. ``run.fit()`` then trains and releases the folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mnist_helpers.device import autocast_dtype, get_device, precision_label, set_seed
from mnist_helpers.loaders import TrainValLoaders, make_train_val_loaders
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.keeper import CheckpointKeeper
from mnist_helpers.runs.layout import FIGURES_DIR, LAST_CHECKPOINT
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.recipes import (
    Recipe,
    TrainingSetup,
    build_training,
    get_recipe,
    restore_training_state,
)
from mnist_helpers.runs.resume import resume_checkpoint
from mnist_helpers.runs.run_folder import RunFolder, open_run_folder
from mnist_helpers.train import EpochCallback, EpochRecord, fit


@dataclass
class TrainingRun:
    """Everything a training run needs, ready for ``fit``."""

    params: TrainParams
    folder: RunFolder
    device: torch.device
    autocast_dtype: torch.dtype | None  # None: float32
    recipe: Recipe
    data: TrainValLoaders
    setup: TrainingSetup
    keeper: CheckpointKeeper
    start_epoch: int
    stopped: bool = False  # set when the stop button ended training early
    resumed_rng_state: torch.Tensor | None = None  # the checkpoint's, restored as fit starts

    @property
    def model(self) -> MnistCNN:
        """The network being trained."""
        return self.setup.model

    @property
    def figures_dir(self) -> Path:
        """Where the run's figures go."""
        return self.folder.folder / FIGURES_DIR

    def describe(self) -> str:
        """Two lines: the recipe and its numbers, then the device and precision."""
        p = self.params
        return (
            f"recipe: {p.recipe} · lr {p.lr} · batch {p.batch_size} · epochs {p.epochs}"
            f" · moves {p.augment or self.recipe.augment} · typed digits {p.typed_digits}"
            f" · non-digits {p.nondigits_with_arbitrary_labels} · seed {p.seed}\n"
            f"device: {self.device.type} · precision: {precision_label(self.autocast_dtype)}"
            + (" · small run" if p.small_run else "")
            + (f"\nresuming at epoch {self.start_epoch} from {p.resume}" if p.resume else "")
        )

    def fit(
        self, on_epoch_end: EpochCallback | None = None, *, show_progress: bool = True
    ) -> list[EpochRecord]:
        """Train the remaining epochs; the keeper saves each one. Returns the whole history.

        ``on_epoch_end`` (live curves, say) is called after the keeper has saved the epoch. The
        stop button (KeyboardInterrupt) ends training with one line saying what was kept and how
        to resume, and the history so far is returned; ``stopped`` then says so.
        """

        def after_each_epoch(record: EpochRecord) -> None:
            self.folder.check_still_ours()  # no file is written into a folder another run owns
            self.keeper(record)
            if on_epoch_end is not None:
                on_epoch_end(record)

        if self.resumed_rng_state is not None:
            # Cells between the start and here (a notebook's worked examples) draw random
            # numbers too: the resumed run must go on from the state the checkpoint recorded.
            torch.set_rng_state(self.resumed_rng_state)
        try:
            fit(
                self.setup.model,
                self.setup.optimizer,
                self.data.train_loader,
                self.data.val_loader,
                epochs=self.params.epochs,
                start_epoch=self.start_epoch,
                scheduler=self.setup.scheduler,
                on_epoch_end=after_each_epoch,
                show_progress=show_progress,
                autocast_dtype=self.autocast_dtype,
                train_digits=self.data.train_digits,
            )
        except KeyboardInterrupt:
            self.stopped = True
            print(self.stop_message())
        finally:
            self.folder.release()  # the folder is free for another run, however training ended
        return self.keeper.history

    def stop_message(self) -> str:
        """What a stop during training kept, and how to go on from it."""
        done = len(self.keeper.history)
        kept = f"the checkpoints of epochs 1-{done} are kept" if done else "no epoch had finished"
        resume = (
            f'; resume with resume = "{LAST_CHECKPOINT.as_posix()}" in the parameters cell '
            f"(or -p resume {LAST_CHECKPOINT.as_posix()})"
            if done
            else ""
        )
        return f"stopped during epoch {done + 1}: {kept}{resume}."


def start_training_run(
    params: TrainParams,
    *,
    device: torch.device | None = None,
    data: TrainValLoaders | None = None,
    **keeper_options: Any,
) -> TrainingRun:
    """Prepare ``params``' run: folder, resume check, device, seed, loaders, model, keeper.

    ``device`` and ``data`` replace the ones ``params`` would choose and load (tests pass small
    loaders). Refusals (a busy folder, a resume that does not fit) come before any data loads.
    """
    folder = open_run_folder(params.artifacts)  # one run per folder: a second one is refused
    try:
        resume_from = resume_checkpoint(params, folder)  # None, or checked against params
        device = get_device(params.device) if device is None else device
        set_seed(params.seed, deterministic=params.deterministic)
        recipe = get_recipe(params.recipe)
        if data is None:
            data = make_train_val_loaders(
                batch_size=params.batch_size,
                val_fraction=params.val_fraction,
                seed=params.seed,
                device=device,
                augment=params.augment or recipe.augment,
                typed_digits=params.typed_digits,
                nondigits_with_arbitrary_labels=params.nondigits_with_arbitrary_labels,
                small_run=params.small_run,
            )
        setup = build_training(
            recipe,
            lr=params.lr,
            epochs=params.epochs,
            steps_per_epoch=len(data.train_loader),
            device=device,
        )
        start_epoch = 1
        if resume_from is not None:
            start_epoch = restore_training_state(resume_from, setup)["start_epoch"]
        keeper = CheckpointKeeper(
            folder.folder,
            setup.model,
            setup.optimizer,
            scheduler=setup.scheduler,
            params=params.as_dict(),
            seed=params.seed,
            resumed_from=resume_from,
            **keeper_options,
        )
    except BaseException:
        folder.release()
        raise
    return TrainingRun(
        params=params,
        folder=folder,
        device=device,
        autocast_dtype=autocast_dtype(params.precision, device),
        recipe=recipe,
        data=data,
        setup=setup,
        keeper=keeper,
        start_epoch=start_epoch,
        resumed_rng_state=None if resume_from is None else resume_from.get("rng_state"),
    )
