"""Honest resume: a checkpoint continues only the run it records, checked before data is loaded.

A resumed run must be the run that was interrupted, only longer. Parameters that shaped what has
already been trained (the split, the recipe, the batches, the learning rate) cannot change; the
ones that do not (the device, the precision, how many epochs) can, and the checkpoints written
from then on record them. A learning-rate schedule laid out over the planned number of epochs
(the default recipe's decay, the strong recipe's one-cycle) cannot be stretched, so with one the
run can only be finished as planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnist_helpers.checkpoint import load_checkpoint
from mnist_helpers.errors import ResumeError
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.parameters import TrainParams, canonical_recipe
from mnist_helpers.runs.recipes import Recipe, get_recipe
from mnist_helpers.runs.run_folder import RunFolder
from mnist_helpers.support.paths import artifact_path

# Why each of these cannot change on resume (the message shows it).
FROZEN_ON_RESUME = {
    "seed": "it chose the validation split and the shuffling, so another seed would validate on "
    "images the run has trained on",
    "val_fraction": "it sized the validation split, so another value would move images between "
    "training and validation",
    "small_run": "it chose which images train and validate",
    "recipe": "it chose the model, the learning-rate schedule and the augmentation",
    "batch_size": "it fixed the steps per epoch, the shuffling and the schedule",
    "augment": "it decided what the finished epochs trained on",
    "lr": "the optimizer's state and the learning-rate schedule were built for it; to try another "
    "rate, start afresh",
}


def schedule_spans_run(recipe: Recipe) -> bool:
    """Whether ``recipe``'s learning-rate schedule is laid out over the planned epochs."""
    return recipe.onecycle_max_lr is not None or bool(getattr(recipe, "decay", False))


def _comparable(value: Any) -> Any:
    """Tuples and lists compare equal (a checkpoint may hold either)."""
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def check_resume_fits(checkpoint: Mapping[str, Any], params: TrainParams, source: str) -> None:
    """Raise ResumeError saying why ``checkpoint`` cannot be continued with ``params``."""
    saved = checkpoint.get("params") or {}
    if checkpoint.get("optimizer_state") is None or not all(k in saved for k in FROZEN_ON_RESUME):
        raise ResumeError(
            f"resume: {source} holds no training state (an inference checkpoint such as "
            "model/mnist_cnn.pt, or one written outside 02_train); resume from the "
            "checkpoints/last.pt that 02_train wrote."
        )
    saved = {**saved, "recipe": canonical_recipe(saved["recipe"])}  # old names: baseline, seed
    for name, why in FROZEN_ON_RESUME.items():
        if _comparable(getattr(params, name)) != _comparable(saved[name]):
            raise ResumeError(
                f"resume: {name}={getattr(params, name)!r} differs from the run in {source} "
                f"({name}={saved[name]!r}), and {name} cannot change on resume: {why}. Resume "
                f"with {name}={saved[name]!r}, or start afresh with resume=''."
            )
    recipe = get_recipe(params.recipe)
    expected = MnistCNN(**recipe.model_args).config
    if _comparable(dict(checkpoint["model_args"])) != _comparable(dict(expected)):
        raise ResumeError(
            f"resume: {source} holds a model {dict(checkpoint['model_args'])} that recipe "
            f"{params.recipe!r} does not build ({dict(expected)}); resume it with the recipe that "
            "trained it, or start afresh with resume=''."
        )
    done, planned = int(checkpoint["epoch"]), int(saved.get("epochs", checkpoint["epoch"]))
    if params.epochs <= done:
        raise ResumeError(
            f"resume: {source} has already trained {done} epochs, so epochs={params.epochs} "
            f"leaves nothing to do; epochs counts from the start of the run: set it above {done}."
        )
    if schedule_spans_run(recipe) and params.epochs != planned:
        raise ResumeError(
            f"resume: recipe {params.recipe!r} lays its learning-rate schedule out over the "
            f"{planned} epochs the run planned, and a schedule cannot be stretched once begun; "
            f"resume with epochs={planned} to finish that run, or start afresh (resume='') "
            f"with epochs={params.epochs}."
        )


def resume_checkpoint(params: TrainParams, run: RunFolder) -> dict[str, Any] | None:
    """The checkpoint ``params.resume`` names, checked against ``params``; None when not resuming.

    Call it after ``open_run_folder`` and before loading data: a missing file or a parameter
    that would change the run is refused at once. It also makes the run folder's ``best.pt`` and
    ``history.json`` describe the run being resumed (printing what it repaired).
    """
    if not params.resume:
        return None
    source = artifact_path(run.folder, params.resume)
    checkpoint = load_checkpoint(source)
    check_resume_fits(checkpoint, params, params.resume)
    for note in run.continue_from(checkpoint, source):
        print("note:", note)
    return checkpoint
