"""The CUDA path: data on the GPU, no per-step host sync, bf16 autocast, CPU <-> GPU checkpoints.

CI has no GPU, so these are skipped there; they run wherever CUDA is available.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import pytest
import torch

from mnist_helpers.checkpoint import CheckpointKeeper, load_checkpoint, model_from_checkpoint
from mnist_helpers.device import autocast_dtype, get_device, set_seed
from mnist_helpers.loaders import make_train_val_loaders
from mnist_helpers.recipes import RECIPES, build_training, restore_training_state
from mnist_helpers.train import evaluate, predict_logits, train_one_epoch
from tests.conftest import fit_quietly

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def cuda_data():
    return make_train_val_loaders(
        batch_size=64, val_fraction=0.15, seed=0, device=torch.device("cuda"), small_run=True
    )


def _setup(data, recipe: str = "baseline", augment: bool = True):
    set_seed(0)
    setup = build_training(
        RECIPES[recipe],
        lr=1e-3,
        epochs=2,
        steps_per_epoch=len(data.train_loader),
        device=torch.device("cuda"),
        augment=augment,
    )
    data.train_loader.augment = setup.augment
    return setup


def test_batches_and_model_live_on_the_gpu(cuda_data) -> None:
    setup = _setup(cuda_data)
    images, labels = next(iter(cuda_data.train_loader))
    assert images.is_cuda and labels.is_cuda
    assert all(p.is_cuda for p in setup.model.parameters())
    assert setup.optimizer.defaults["fused"] is True


def _sync_warnings(setup, loader, steps: int) -> int:
    """Host synchronisations during ``steps`` training steps, counted by CUDA's sync debug mode."""
    batches = list(itertools.islice(iter(loader), steps))  # made before counting
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train_one_epoch(setup.model, batches, setup.optimizer, show_progress=False)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


@pytest.mark.parametrize("recipe", ["baseline", "strong"])
def test_training_steps_do_not_wait_for_the_gpu(cuda_data, recipe: str) -> None:
    # Only the epoch's final .item() calls may synchronise: 10 steps and 40 steps sync alike.
    setup = _setup(cuda_data, recipe)
    few = _sync_warnings(setup, cuda_data.train_loader, 10)
    many = _sync_warnings(setup, cuda_data.train_loader, 40)
    assert few == many <= 2


def test_bf16_autocast_trains(cuda_data) -> None:
    dtype = autocast_dtype("bf16", torch.device("cuda"))
    assert dtype is torch.bfloat16
    setup = _setup(cuda_data)
    before = evaluate(setup.model, cuda_data.val_loader, autocast_dtype=dtype)
    history = fit_quietly(setup, cuda_data, 2, autocast_dtype=dtype)
    assert all(p.dtype == torch.float32 for p in setup.model.parameters())  # weights stay fp32
    assert history[-1]["val_acc"] > max(0.9, before["acc"])
    logits, _ = predict_logits(setup.model, cuda_data.val_loader, autocast_dtype=dtype)
    assert logits.dtype == torch.float32 and not logits.is_cuda


def test_gpu_checkpoint_loads_and_resumes_on_cpu(cuda_data, tmp_path: Path) -> None:
    setup = _setup(cuda_data)
    keeper = CheckpointKeeper(tmp_path, setup.model, setup.optimizer, params={}, seed=0)
    fit_quietly(setup, cuda_data, 1, on_epoch_end=keeper)
    checkpoint = load_checkpoint(keeper.last_path)
    cpu_model = model_from_checkpoint(checkpoint, torch.device("cpu"))
    images, _ = next(iter(cuda_data.val_loader))
    with torch.no_grad():
        expected = setup.model.eval()(images).cpu()
        got = cpu_model.eval()(images.cpu())
    # cuDNN may use TF32 for float32 convolutions, so logits agree to about 1e-3, not bit for bit.
    torch.testing.assert_close(got, expected, atol=1e-2, rtol=1e-2)
    assert (got.argmax(1) == expected.argmax(1)).float().mean() > 0.99
    # Resume on the CPU: the optimizer state moves with the model.
    cpu_data = make_train_val_loaders(
        batch_size=64, val_fraction=0.15, seed=0, device=torch.device("cpu"), small_run=True
    )
    cpu_setup = build_training(
        RECIPES["baseline"],
        lr=1e-3,
        epochs=2,
        steps_per_epoch=len(cpu_data.train_loader),
        device=torch.device("cpu"),
    )
    restored = restore_training_state(checkpoint, cpu_setup)
    assert restored["start_epoch"] == 2
    result = train_one_epoch(
        cpu_setup.model,
        itertools.islice(iter(cpu_data.train_loader), 5),
        cpu_setup.optimizer,
        show_progress=False,
    )
    assert result["loss"] < 1.0


def test_deterministic_runs_repeat_exactly(cuda_data) -> None:
    def run() -> list[dict]:
        set_seed(7, deterministic=True)
        setup = _setup(cuda_data, augment=False)
        set_seed(7, deterministic=True)
        return fit_quietly(setup, cuda_data, 1)

    try:
        first, second = run(), run()
    finally:
        torch.use_deterministic_algorithms(False)
    for a, b in zip(first, second, strict=True):
        assert a["train_loss"] == b["train_loss"] and a["val_acc"] == b["val_acc"]


def test_auto_device_picks_cuda() -> None:
    assert get_device("auto").type == "cuda"
