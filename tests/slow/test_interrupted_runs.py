"""Interrupted and resumed training, killed saves, reproducible runs.

The straight five-epoch run the killed run is compared with is the session's small pipeline
(seed 42, small run), so no training run is repeated for a second check. The default recipe's
learning rate decays over the planned epochs, so a run is interrupted by killing it, as a user
would, and then finished as planned.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from mnist_helpers.checkpoint import load_checkpoint
from mnist_helpers.runs.notebook_runner import NotebookRun, run_notebook
from mnist_helpers.runs.parameters import TrainParams
from tests.helpers import (
    REPO_ROOT,
    baseline_on_mnist,
    fit_quietly,
    read_history,
    without_time,
)


def _kill_after(artifacts: Path, finished_epochs: int, **parameters) -> list[dict]:
    """Start a small 02_train run into ``artifacts``, kill it (SIGKILL to papermill and its
    kernel) once ``history.json`` holds ``finished_epochs`` epochs; return that history."""
    parameters = {"small_run": True, "artifacts_dir": artifacts, **parameters}
    run = NotebookRun("02_train", artifacts.parent / f"{artifacts.name}-killed.ipynb", parameters)
    history_path = artifacts / "history.json"
    try:
        deadline = time.monotonic() + 300
        while not (history_path.exists() and len(read_history(artifacts)) >= finished_epochs):
            assert run.running(), "the training run ended before it could be killed"
            assert time.monotonic() < deadline, f"no {finished_epochs} epochs within 5 minutes"
            time.sleep(0.1)
        # The kernel listens on socket files in the run's own temporary folder...
        assert list(run.temporary_folder.glob("kernel-*"))
    finally:
        run.stop()  # as a user's kill would: the whole group
    # ...which the killed kernel cannot clean up, so stopping the run removes the folder.
    assert not run.temporary_folder.exists()
    return read_history(artifacts)


def test_killed_run_keeps_its_epochs_and_resumes_to_the_same_history(small_pipeline, tmp_path):
    straight = read_history(small_pipeline.artifacts)  # seed 42, 5 epochs, in one go
    artifacts = tmp_path / "artifacts"
    history = _kill_after(artifacts, 2, epochs=5)
    assert 2 <= len(history) < 5, "the kill must land before the run ends"
    last = load_checkpoint(artifacts / "checkpoints" / "last.pt")
    assert last["epoch"] >= len(history) - 1 >= 1  # at most the epoch being saved is missing
    assert load_checkpoint(artifacts / "checkpoints" / "best.pt")["epoch"] >= 1
    # The same seed in another process gives the same epochs, to the last digit on CPU.
    assert without_time(history) == without_time(straight[: len(history)])

    result = run_notebook(
        "02_train",
        tmp_path / "resumed.ipynb",
        {
            "small_run": True,
            "artifacts_dir": artifacts,
            "epochs": 5,
            "resume": "checkpoints/last.pt",
        },
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = read_history(artifacts)
    assert [r["epoch"] for r in resumed] == [1, 2, 3, 4, 5]
    assert without_time(resumed) == without_time(straight)  # to the last digit, on CPU


def test_another_seed_gives_another_history():
    # In-process, through the calls 02_train makes with its seed (set_seed; the split and the
    # shuffling in make_train_val_loaders; build_training's initial weights): the first epoch of
    # the small run, cut to its first 256 images, as the seed shows from the first step.
    first_epochs = []
    for seed in (42, 4):
        setup, data = baseline_on_mnist(
            seed=seed,
            epochs=TrainParams.epochs,
            augment=TrainParams.augment,
            small_run=True,
            train_limit=256,
        )
        first_epochs.append(without_time(fit_quietly(setup, data, 1)))
    assert first_epochs[0] != first_epochs[1]


SAVE_FOREVER = textwrap.dedent("""
    import sys, torch
    from mnist_helpers.checkpoint import make_checkpoint, save_checkpoint
    from mnist_helpers.model import MnistCNN
    path = sys.argv[1]
    model = MnistCNN()
    save_checkpoint(make_checkpoint(model, epoch=1), path)
    print("first save done", flush=True)
    big = make_checkpoint(model, epoch=2)
    big["metrics"] = {"padding": torch.zeros(60_000_000)}  # 240 MB: slow enough to kill mid-way
    while True:
        save_checkpoint(big, path)
""")


def test_process_killed_while_saving_leaves_a_readable_checkpoint(tmp_path):
    path = tmp_path / "best.pt"
    process = subprocess.Popen(
        [sys.executable, "-c", SAVE_FOREVER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout.readline().strip() == "first save done"
        deadline = time.monotonic() + 60
        while True:  # wait until the big save's temporary file is growing, then kill mid-save
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            if partial and partial[0].stat().st_size > 1_000_000:
                break
            assert process.poll() is None, "the saving process died on its own"
            assert time.monotonic() < deadline, "no temporary file grew past 1 MB within 60 s"
            time.sleep(0.01)
        process.kill()
    finally:
        process.kill()
        process.wait()
    left_behind = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert left_behind, "the kill did not land during a save"
    checkpoint = load_checkpoint(path)  # the previous complete file, never a half-written one
    assert checkpoint["epoch"] in (1, 2)
    assert checkpoint["model_state"]["features.0.weight"].shape == torch.Size([16, 1, 3, 3])
