"""The training step written out in 02 (the teaching copy) matches the package's train_one_epoch."""

from __future__ import annotations

import ast
import builtins
import copy
from itertools import islice

import nbformat
import pytest
import torch
import torch.nn.functional as F

from mnist_helpers.model import MnistCNN
from mnist_helpers.train import train_one_epoch
from tests.helpers import REPO_ROOT

TEACHING_TAG = "teaching-step"
# The names the teaching cell may read from earlier cells; the test provides each of them.
PROVIDED = {"model", "optimizer", "train_loader", "teaching_steps", "F", "islice", "torch"}


def teaching_cell_source() -> str:
    """The source of 02's one code cell tagged ``teaching-step``."""
    notebook = nbformat.read(REPO_ROOT / "notebooks" / "02_train.ipynb", as_version=4)
    cells = [c for c in notebook.cells if TEACHING_TAG in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {TEACHING_TAG!r}, found {len(cells)}"
    return cells[0].source


def _batches(count: int, size: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(size, 1, 28, 28, generator=generator),
            torch.randint(0, 10, (size,), generator=generator),
        )
        for _ in range(count)
    ]


def test_teaching_cell_shows_every_part_of_the_step():
    tree = ast.parse(teaching_cell_source())
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert {"cross_entropy", "zero_grad", "backward", "step"} <= called


def test_teaching_cell_reads_only_names_the_notebook_defines_before_it():
    tree = ast.parse(teaching_cell_source())
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    stored = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    assert loaded - stored - set(dir(builtins)) <= PROVIDED


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_teaching_step_gives_the_same_losses_and_weights_as_train_one_epoch(dropout):
    batches = _batches(count=6, size=32, seed=1)
    torch.manual_seed(0)
    by_hand = MnistCNN(dropout=dropout)
    by_package = copy.deepcopy(by_hand)
    namespace = {
        "model": by_hand,
        "optimizer": torch.optim.Adam(by_hand.parameters(), lr=1e-3),
        "train_loader": batches,
        "teaching_steps": len(batches),
        "F": F,
        "islice": islice,
        "torch": torch,
    }
    package_optimizer = torch.optim.Adam(by_package.parameters(), lr=1e-3)

    torch.manual_seed(5)  # dropout draws from the global generator: the same draws for both
    exec(compile(teaching_cell_source(), "02_train teaching-step", "exec"), namespace)
    torch.manual_seed(5)
    result = train_one_epoch(
        by_package, batches, package_optimizer, show_progress=False, autocast_dtype=None
    )

    losses = namespace["step_losses"]
    assert len(losses) == len(batches)
    # Equal batch sizes: the epoch's mean loss is the plain mean of the per-step losses.
    assert sum(losses) / len(losses) == pytest.approx(result["loss"], rel=1e-5)
    for (name, hand), package in zip(
        by_hand.named_parameters(), by_package.parameters(), strict=True
    ):
        torch.testing.assert_close(hand, package, rtol=1e-5, atol=1e-6, msg=name)


def test_teaching_step_stops_after_teaching_steps_batches():
    batches = _batches(count=5, size=8, seed=2)
    model = MnistCNN()
    namespace = {
        "model": model,
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "train_loader": batches,
        "teaching_steps": 3,
        "F": F,
        "islice": islice,
        "torch": torch,
    }
    exec(compile(teaching_cell_source(), "02_train teaching-step", "exec"), namespace)
    assert len(namespace["step_losses"]) == 3


def test_the_gradient_descent_cell_takes_the_steps_torch_optim_sgd_takes():
    notebook = nbformat.read(REPO_ROOT / "notebooks" / "02_train.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells if "sgd-step" in c.metadata.get("tags", [])]
    assert "weight -= sgd_lr * weight.grad" in cell.source
    batches = _batches(count=200, size=8, seed=2)
    reference_model = MnistCNN(conv_channels=(4,), hidden_units=8)
    run = type("Run", (), {"device": torch.device("cpu")})()
    namespace = {
        "model": reference_model,
        "run": run,
        "train_loader": batches,
        "MnistCNN": MnistCNN,
        "F": F,
        "islice": islice,
        "torch": torch,
        "print": lambda *args, **kwargs: None,
    }
    torch.manual_seed(5)
    exec(cell.source, namespace)
    torch.manual_seed(5)
    by_optimizer = MnistCNN(**reference_model.config)
    optimizer = torch.optim.SGD(by_optimizer.parameters(), lr=namespace["sgd_lr"])
    losses = []
    for images, labels in batches:
        loss = F.cross_entropy(by_optimizer(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert namespace["sgd_losses"] == pytest.approx(losses, rel=1e-5)
    for mine, theirs in zip(
        namespace["sgd_model"].parameters(), by_optimizer.parameters(), strict=True
    ):
        assert torch.allclose(mine, theirs, atol=1e-6)
