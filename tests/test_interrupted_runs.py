"""Interrupted and resumed training, killed saves, reproducible runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from mnist_helpers.checkpoint import load_checkpoint
from tests.conftest import REPO_ROOT
from tests.test_notebooks import PAPERMILL, _env, _papermill


def _train(tmp_path, name, *params):
    artifacts = tmp_path / name
    result = _papermill(
        "02_train",
        tmp_path / f"{name}.ipynb",
        *("-p", "small_run", "True", "-p", "artifacts_dir", str(artifacts), *params),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((artifacts / "history.json").read_text())


def _without_time(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


@pytest.mark.slow
def test_three_epochs_plus_two_resumed_equal_five(tmp_path):
    straight = _train(tmp_path, "straight", "-p", "epochs", "5")
    _train(tmp_path, "split", "-p", "epochs", "3")
    resumed = _train(tmp_path, "split", "-p", "epochs", "5", "-p", "resume", "checkpoints/last.pt")
    assert [r["epoch"] for r in resumed] == [1, 2, 3, 4, 5]
    assert _without_time(resumed) == _without_time(straight)  # to the last digit, on CPU


@pytest.mark.slow
def test_same_seed_gives_the_same_history_and_another_seed_does_not(tmp_path):
    first = _train(tmp_path, "first", "-p", "epochs", "2", "-p", "seed", "3")
    second = _train(tmp_path, "second", "-p", "epochs", "2", "-p", "seed", "3")
    other = _train(tmp_path, "other", "-p", "epochs", "2", "-p", "seed", "4")
    assert _without_time(first) == _without_time(second)
    assert _without_time(first) != _without_time(other)


@pytest.mark.slow
def test_killed_training_run_keeps_its_finished_epochs(tmp_path):
    artifacts = tmp_path / "artifacts"
    process = subprocess.Popen(
        [
            *PAPERMILL,
            str(REPO_ROOT / "notebooks" / "02_train.ipynb"),
            str(tmp_path / "out.ipynb"),
            "-p",
            "small_run",
            "True",
            "-p",
            "epochs",
            "200",
            "-p",
            "artifacts_dir",
            str(artifacts),
        ],
        cwd=REPO_ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    history_path = artifacts / "history.json"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if history_path.exists() and len(json.loads(history_path.read_text())) >= 2:
                break
            time.sleep(0.5)
        else:
            pytest.fail("training wrote no history within 4 minutes")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # papermill and its kernel, as a user's kill would
        process.wait()
    history = json.loads(history_path.read_text())
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


@pytest.mark.slow
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
        while time.monotonic() < deadline:  # wait until the big save's temporary file is growing
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            if partial and partial[0].stat().st_size > 1_000_000:
                break
            time.sleep(0.01)
        process.kill()
    finally:
        process.kill()
        process.wait()
    checkpoint = load_checkpoint(path)  # the previous complete file, never a half-written one
    assert checkpoint["epoch"] in (1, 2)
    assert checkpoint["model_state"]["features.0.weight"].shape == torch.Size([16, 1, 3, 3])
