"""Interrupted and resumed training, killed saves, reproducible runs.

The straight five-epoch run these tests compare with is the session's small pipeline (seed 42,
small run), so no training run is repeated for a second check.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from mnist_helpers.checkpoint import load_checkpoint
from mnist_helpers.notebook_runner import (
    child_environment,
    notebook_path,
    papermill_command,
    run_notebook,
)
from tests.support import REPO_ROOT, read_history, without_time

pytestmark = pytest.mark.slow  # every test here starts a process that trains or saves for seconds


def _train(artifacts: Path, **parameters) -> list[dict]:
    """Run 02_train with ``small_run=True`` into ``artifacts``; return the history it wrote."""
    result = run_notebook(
        "02_train",
        artifacts.parent / f"{artifacts.name}.ipynb",
        {"small_run": True, "artifacts_dir": artifacts, **parameters},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return read_history(artifacts)


@pytest.fixture(scope="module")
def three_epochs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """A small run stopped after 3 of the default 5 epochs: its artifacts folder and history."""
    artifacts = tmp_path_factory.mktemp("three_epochs") / "artifacts"
    return artifacts, _train(artifacts, epochs=3)


def test_same_seed_gives_the_same_history_and_another_seed_does_not(
    small_pipeline, three_epochs, tmp_path
):
    straight = read_history(small_pipeline)  # seed 42, 5 epochs, in another process
    _, first_three = three_epochs
    other_seed = _train(tmp_path / "other", epochs=1, seed=4)
    assert without_time(first_three) == without_time(straight[:3])  # to the last digit, on CPU
    assert without_time(other_seed) != without_time(straight[:1])


def test_three_epochs_plus_two_resumed_equal_five(small_pipeline, three_epochs, tmp_path):
    straight = read_history(small_pipeline)
    artifacts = tmp_path / "artifacts"
    shutil.copytree(three_epochs[0], artifacts)  # resume a copy: the fixture's run stays as it was
    resumed = _train(artifacts, epochs=5, resume="checkpoints/last.pt")
    assert [r["epoch"] for r in resumed] == [1, 2, 3, 4, 5]
    assert without_time(resumed) == without_time(straight)  # to the last digit, on CPU


def test_killed_training_run_keeps_its_finished_epochs(tmp_path):
    artifacts = tmp_path / "artifacts"
    parameters = {"small_run": True, "epochs": 200, "artifacts_dir": artifacts}
    process = subprocess.Popen(
        papermill_command(notebook_path("02_train"), tmp_path / "out.ipynb", parameters),
        cwd=REPO_ROOT,
        env=child_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    history_path = artifacts / "history.json"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if history_path.exists() and len(read_history(artifacts)) >= 2:
                break
            assert process.poll() is None, "the training run ended before it could be killed"
            time.sleep(0.5)
        else:
            pytest.fail("training wrote no two-epoch history within 4 minutes")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # papermill and its kernel, as a user's kill would
        process.wait()
    history = read_history(artifacts)
    last = load_checkpoint(artifacts / "checkpoints" / "last.pt")
    assert last["epoch"] >= len(history) - 1 >= 1  # at most the epoch being saved is missing
    assert load_checkpoint(artifacts / "checkpoints" / "best.pt")["epoch"] >= 1


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
