"""The slow half of test_plain_torch.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_helpers.checkpoint import (
    inference_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from tests.test_plain_torch import SNIPPET, mnist_helpers_answers

# Appended by the test only: feed the images it was given, save the answers, prove the isolation.
HARNESS = """
import sys

logits, names = classify(torch.load("images.pt", weights_only=True))
torch.save({"logits": logits, "names": names}, "answers.pt")
assert "mnist_helpers" not in sys.modules, "the snippet must not need mnist_helpers"
"""


def run_plain_torch(checkpoint: dict, images: torch.Tensor, folder: Path) -> dict:
    """Run SNIPPET in a fresh interpreter, from ``folder``, on uint8 ``images`` (N, 28, 28)."""
    save_checkpoint(checkpoint, folder / "artifacts" / "model" / "mnist_cnn.pt")
    torch.save(images.clone(), folder / "images.pt")
    script = folder / "plain_torch.py"
    script.write_text(SNIPPET + HARNESS)
    result = subprocess.run(
        [sys.executable, script.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    return torch.load(folder / "answers.pt", weights_only=True)


@pytest.mark.slow
def test_plain_torch_predicts_like_mnist_helpers(
    trained_checkpoint: Path, mnist_test_split, tmp_path: Path
) -> None:
    checkpoint = inference_checkpoint(load_checkpoint(trained_checkpoint))  # what 04 saves
    images = mnist_test_split.images[:1000]
    answers = run_plain_torch(checkpoint, images, tmp_path)
    logits, names = mnist_helpers_answers(checkpoint, images)
    assert len(answers["names"]) == 1000
    assert answers["names"] == names
    torch.testing.assert_close(answers["logits"], logits, atol=1e-4, rtol=0)
