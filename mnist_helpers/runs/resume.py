"""Honest resume: a checkpoint continues only the run it records, checked before data is loaded.

A resumed run must be the run that was interrupted, only longer. Parameters that shaped what has
already been trained (the split, the recipe, the batches, the learning rate) cannot change; the
ones that do not (the device, the precision, how many epochs) can, and the checkpoints written
from then on record them. A learning-rate schedule laid out over the planned number of epochs
(the default recipe's decay, the strong recipe's one-cycle) cannot be stretched, so with one the
run can only be finished as planned.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mnist_helpers.checkpoint import best_epoch_of, load_checkpoint, save_checkpoint
from mnist_helpers.errors import MnistHelpersError, ResumeError, short_repr
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.parameters import TrainParams, canonical_recipe
from mnist_helpers.runs.recipes import Recipe, get_recipe
from mnist_helpers.runs.run_folder import RunFolder
from mnist_helpers.support.atomic_files import write_json
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
    "typed_digits": "it decided what the finished epochs trained on",
    "nondigits_with_arbitrary_labels": "it decided what the finished epochs trained on",
    "lr": "the optimizer's state and the learning-rate schedule were built for it; to try another "
    "rate, start afresh",
}


# Switches that older checkpoints folded into ``augment``.
STAND_IN_SWITCHES = ("typed_digits", "nondigits_with_arbitrary_labels")


def schedule_spans_run(recipe: Recipe) -> bool:
    """Whether ``recipe``'s learning-rate schedule is laid out over the planned epochs."""
    return recipe.onecycle_max_lr is not None or bool(getattr(recipe, "decay", False))


def _comparable(value: Any) -> Any:
    """Tuples and lists compare equal (a checkpoint may hold either)."""
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def _is_plain(value: Any) -> bool:
    """A number, string, bool or None, or a short flat list of them: what parameters hold."""
    if isinstance(value, (list, tuple)):
        return len(value) <= 16 and all(_is_plain(v) and not isinstance(v, list) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _check_rng_state(state: Any, source: str) -> None:
    """Refuse a random-number state that torch could not restore, before any data loads."""
    if state is None:
        return
    expected = torch.get_rng_state()
    if not (
        isinstance(state, torch.Tensor)
        and state.dtype == expected.dtype
        and state.shape == expected.shape
    ):
        raise ResumeError(
            f"resume: {source} is damaged: its random-number state is not the "
            f"{expected.numel():,} bytes torch keeps. Resume from the checkpoints/last.pt that "
            "02_train wrote, or start afresh with resume=''."
        )


def check_resume_fits(checkpoint: Mapping[str, Any], params: TrainParams, source: str) -> None:
    """Raise ResumeError saying why ``checkpoint`` cannot be continued with ``params``."""
    saved = dict(checkpoint.get("params") or {})
    for switch in STAND_IN_SWITCHES:  # older runs had one switch, augment, for all three
        if switch not in saved and "augment" in saved:
            saved[switch] = saved["augment"]
    if checkpoint.get("optimizer_state") is None or not all(k in saved for k in FROZEN_ON_RESUME):
        raise ResumeError(
            f"resume: {source} holds no training state (an inference checkpoint such as "
            "model/mnist_cnn.pt, or one written outside 02_train); resume from the "
            "checkpoints/last.pt that 02_train wrote."
        )
    damaged = [name for name in FROZEN_ON_RESUME if not _is_plain(saved[name])]
    if damaged:  # checked before any comparison: a crafted structure could take hours to walk
        raise ResumeError(
            f"resume: {source} is damaged: its parameters {damaged} are not plain values. "
            "Resume from the checkpoints/last.pt that 02_train wrote, or start afresh."
        )
    _check_rng_state(checkpoint.get("rng_state"), source)
    saved = {**saved, "recipe": canonical_recipe(saved["recipe"])}  # old names: baseline, seed
    for name, why in FROZEN_ON_RESUME.items():
        if _comparable(getattr(params, name)) != _comparable(saved[name]):
            was = short_repr(saved[name])
            raise ResumeError(
                f"resume: {name}={short_repr(getattr(params, name))} differs from the run in "
                f"{source} ({name}={was}), and {name} cannot change on resume: {why}. Resume "
                f"with {name}={was}, or start afresh with resume=''."
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
    for note in repair_run_files(run, checkpoint, source):
        print("note:", note)
    return checkpoint


def repair_run_files(
    run: RunFolder, checkpoint: Mapping[str, Any], source: str | os.PathLike[str]
) -> list[str]:
    """Make ``best.pt`` and ``history.json`` in ``run`` describe the run ``checkpoint`` belongs to.

    A stop between the keeper's writes can leave ``best.pt`` one improvement behind
    ``last.pt``; when the checkpoint's own epoch is its best, ``best.pt`` is re-made from it.
    Otherwise the best epoch's ``best.pt`` must exist (here or beside ``source``) and is
    copied here if needed. Returns a note for each file it rewrote.
    """
    source = Path(source)
    history = list(checkpoint.get("history") or [])
    best_epoch = best_epoch_of(history)
    notes = []
    if best_epoch is not None and not _matching_best(run.best_path, checkpoint, best_epoch):
        if best_epoch == int(checkpoint["epoch"]):
            save_checkpoint(checkpoint, run.best_path)
        else:
            found = _matching_best(source.parent / run.best_path.name, checkpoint, best_epoch)
            if found is None:
                raise ResumeError(
                    f"resume: the best epoch ({best_epoch}) of the run in {source} has no "
                    f"matching best.pt in {run.best_path.parent} or beside the checkpoint; "
                    "the files were mixed by hand or by another run. Start afresh "
                    "(resume='') or restore that run's best.pt."
                )
            save_checkpoint(found, run.best_path)
        notes.append(f"best.pt re-made to hold epoch {best_epoch}, the run's best")
    if _read_json(run.history_path) != history:
        write_json(history, run.history_path)
        notes.append(f"history.json rewritten from the checkpoint ({len(history)} epochs)")
    return notes


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _matching_best(
    path: Path, checkpoint: Mapping[str, Any], best_epoch: int
) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it holds epoch ``best_epoch`` of ``checkpoint``'s run."""
    best = _load_or_none(path)
    if best is None or best.get("epoch") != best_epoch:
        return None
    return best if best.get("run_id") == checkpoint.get("run_id") else None


def _load_or_none(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None when there is none or it cannot be read."""
    if not path.is_file():
        return None
    try:
        return load_checkpoint(path)
    except MnistHelpersError:
        return None
