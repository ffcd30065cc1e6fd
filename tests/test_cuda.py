"""The CUDA path: data on the GPU, no per-step host sync, bf16 autocast, CPU <-> GPU checkpoints.

CI has no GPU, so these are skipped there; they run wherever CUDA is available.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import pytest
import torch

from mnist_helpers.checkpoint import load_checkpoint, model_from_checkpoint
from mnist_helpers.device import autocast_dtype, get_device, set_seed
from mnist_helpers.evaluate import evaluate, predict_logits
from mnist_helpers.loaders import make_train_val_loaders
from mnist_helpers.runs.keeper import CheckpointKeeper
from mnist_helpers.runs.recipes import RECIPES, build_training, restore_training_state
from mnist_helpers.support.cuda_graphs import recorded_step
from mnist_helpers.train import train_one_epoch
from tests.helpers import fit_quietly

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def cuda_data():
    return _small_loaders(augment=True)


@pytest.fixture(scope="module")
def cuda_data_plain():
    return _small_loaders(augment=False)


def _small_loaders(*, augment: bool, device: str = "cuda"):
    """The small-run loaders of seed 0 on ``device`` (CUDA unless a test compares with the CPU)."""
    return make_train_val_loaders(
        batch_size=64,
        val_fraction=0.15,
        seed=0,
        device=torch.device(device),
        augment=augment,
        small_run=True,
    )


def _setup(data, recipe: str = "default"):
    set_seed(0)
    return build_training(
        RECIPES[recipe],
        lr=1e-3,
        epochs=2,
        steps_per_epoch=len(data.train_loader),
        device=torch.device("cuda"),
    )


def test_batches_and_model_live_on_the_gpu(cuda_data) -> None:
    setup = _setup(cuda_data)
    images, labels = next(iter(cuda_data.train_loader))
    assert images.is_cuda and labels.is_cuda
    assert all(p.is_cuda for p in setup.model.parameters())
    assert setup.optimizer.defaults["fused"] is True


def _sync_warnings(setup, loader, steps: int, step_mode: str) -> int:
    """Host synchronisations during ``steps`` training steps, counted by CUDA's sync debug mode."""
    batches = list(itertools.islice(iter(loader), steps))  # made before counting
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train_one_epoch(
                setup.model,
                batches,
                setup.optimizer,
                scheduler=setup.scheduler,
                show_progress=False,
                step_mode=step_mode,
            )
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


@pytest.mark.parametrize("step_mode", ["eager", "cuda_graph"])
@pytest.mark.parametrize("recipe", ["default", "strong"])
def test_training_steps_do_not_wait_for_the_gpu(cuda_data, recipe: str, step_mode: str) -> None:
    # Syncs per epoch, never per step: a first epoch (which records the graph) of 10 steps and
    # one of 40 sync alike, and so do later epochs, which only read the final sums.
    loader = cuda_data.train_loader
    first_few = _sync_warnings(_setup(cuda_data, recipe), loader, 10, step_mode)
    first_many = _sync_warnings(_setup(cuda_data, recipe), loader, 40, step_mode)
    setup = _setup(cuda_data, recipe)
    _sync_warnings(setup, loader, 10, step_mode)
    later_few = _sync_warnings(setup, loader, 10, step_mode)
    later_many = _sync_warnings(setup, loader, 40, step_mode)
    assert first_few == first_many
    assert later_few == later_many <= 2


def _losses(data, step_mode: str, recipe: str, passes: int, steps: int = 20) -> list[float]:
    setup = _setup(data, recipe)
    losses = []
    for epoch in range(1, passes + 1):
        data.train_loader.set_epoch(epoch)
        batches = list(itertools.islice(iter(data.train_loader), steps))
        result = train_one_epoch(
            setup.model,
            batches,
            setup.optimizer,
            scheduler=setup.scheduler,
            show_progress=False,
            step_mode=step_mode,
        )
        losses.append(result["loss"])
    return losses


def test_cuda_graph_steps_train_as_eager_steps_do(cuda_data_plain) -> None:
    # Same weights, batches and schedule; cuBLAS may choose other algorithms while recording, and
    # Adam's first steps magnify rounding, so the losses agree closely but not bit for bit.
    eager = _losses(cuda_data_plain, "eager", "default", 2)
    graph = _losses(cuda_data_plain, "cuda_graph", "default", 2)
    torch.testing.assert_close(graph, eager, rtol=1e-2, atol=0.0)


def test_the_recorded_optimizer_step_reads_the_learning_rate_live(cuda_data_plain) -> None:
    set_seed(0)
    setup = build_training(
        RECIPES["default"],
        lr=1e-3,
        epochs=1,
        steps_per_epoch=12,
        device=torch.device("cuda"),
    )
    # The rate drops to zero after 6 steps: a graph that kept the rate it was recorded with would
    # go on changing the weights.
    scheduler = torch.optim.lr_scheduler.LambdaLR(setup.optimizer, ZeroAfterSix())
    batches = list(itertools.islice(iter(cuda_data_plain.train_loader), 12))

    def train(part: list) -> None:
        train_one_epoch(
            setup.model,
            part,
            setup.optimizer,
            scheduler=scheduler,
            show_progress=False,
            step_mode="cuda_graph",
        )

    initial = [p.detach().clone() for p in setup.model.parameters()]
    train(batches[:6])  # 3 eager warm-up steps, the recording, 2 replays
    assert recorded_step(setup.optimizer).step_in_graph
    after_six = [p.detach().clone() for p in setup.model.parameters()]
    train(batches[6:])  # replays only, at rate 0
    assert not all(torch.equal(a, b) for a, b in zip(initial, after_six, strict=True))
    for before, param in zip(after_six, setup.model.parameters(), strict=True):
        assert torch.equal(before, param)


class ZeroAfterSix:
    """A learning-rate factor: 1 for the first six steps, then 0."""

    def __call__(self, step: int) -> float:
        return 1.0 if step < 6 else 0.0


def test_strong_recipe_graphs_forward_and_backward_and_steps_adam_eagerly(cuda_data_plain) -> None:
    # The one-cycle schedule changes Adam's beta1 every step, which fused Adam cannot read from
    # a recorded graph; the optimizer then runs after each replay and still follows it.
    set_seed(0)
    setup = _setup(cuda_data_plain, "strong")
    batches = list(itertools.islice(iter(cuda_data_plain.train_loader), 12))
    train_one_epoch(
        setup.model,
        batches,
        setup.optimizer,
        scheduler=setup.scheduler,
        show_progress=False,
        step_mode="cuda_graph",
    )
    assert not recorded_step(setup.optimizer).step_in_graph
    group = setup.optimizer.param_groups[0]
    assert isinstance(group["lr"], float) and group["fused"] is True  # its own settings remain
    eager = _losses(cuda_data_plain, "eager", "strong", 2)
    graph = _losses(cuda_data_plain, "cuda_graph", "strong", 2)
    # Dropout draws other random numbers inside a graph: the losses agree only roughly.
    torch.testing.assert_close(graph, eager, rtol=0.2, atol=0.0)
    assert graph[-1] < graph[0]


def test_bf16_autocast_trains(cuda_data) -> None:
    dtype = autocast_dtype("bf16", torch.device("cuda"))
    assert dtype is torch.bfloat16
    setup = _setup(cuda_data)
    before = evaluate(setup.model, cuda_data.val_loader, autocast_dtype=dtype)
    history = fit_quietly(setup, cuda_data, 2, scheduler=setup.scheduler, autocast_dtype=dtype)
    assert all(p.dtype == torch.float32 for p in setup.model.parameters())  # weights stay fp32
    # Two epochs of the 4,096-image small run: about 89 % in float32 on the CPU.
    assert history[-1]["val_acc"] > max(0.85, before["acc"])
    logits, _ = predict_logits(setup.model, cuda_data.val_loader, autocast_dtype=dtype)
    assert logits.dtype == torch.float32 and not logits.is_cuda


def test_gpu_checkpoint_loads_and_resumes_on_cpu(cuda_data, tmp_path: Path) -> None:
    setup = _setup(cuda_data)
    keeper = CheckpointKeeper(tmp_path, setup.model, setup.optimizer, params={}, seed=0)
    fit_quietly(setup, cuda_data, 1, scheduler=setup.scheduler, on_epoch_end=keeper)
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
    cpu_data = _small_loaders(augment=False, device="cpu")
    cpu_setup = build_training(
        RECIPES["default"],
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


def test_deterministic_runs_repeat_exactly(cuda_data_plain) -> None:
    def run() -> list[dict]:
        set_seed(7, deterministic=True)
        setup = _setup(cuda_data_plain)
        set_seed(7, deterministic=True)
        return fit_quietly(setup, cuda_data_plain, 1, scheduler=setup.scheduler)

    try:
        first, second = run(), run()
    finally:
        torch.use_deterministic_algorithms(False)
    for a, b in zip(first, second, strict=True):
        assert a["train_loss"] == b["train_loss"] and a["val_acc"] == b["val_acc"]


def test_auto_device_picks_cuda() -> None:
    assert get_device("auto").type == "cuda"
