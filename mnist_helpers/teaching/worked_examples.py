"""Small worked examples for the notebooks: a hand-made convolution, ReLU, max-pool, and where a
trained model looks (saliency and occlusion). Each returns numbers; the figures live in
``example_figures``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.errors import ParameterError
from mnist_helpers.runs.recipes import Recipe, build_training

# Hand-made 3 x 3 kernels. Each responds where the image gets brighter in one direction, so on a
# white-on-black digit it lights up one side of every stroke (a Sobel-like edge detector).
EDGE_KERNELS: dict[str, torch.Tensor] = {
    "left edges": torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "top edges": torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
}


@dataclass
class ConvolutionDemo:
    """One digit through a hand-made kernel: the convolution, then ReLU, then a 2 x 2 max-pool."""

    image: torch.Tensor  # (28, 28) the input (normalised or in [0, 1])
    kernel: torch.Tensor  # (3, 3)
    convolved: torch.Tensor  # (28, 28) can be negative
    relu: torch.Tensor  # (28, 28) negatives set to 0
    pooled: torch.Tensor  # (14, 14) the largest of each 2 x 2 block


def _check_image(image: torch.Tensor) -> torch.Tensor:
    if image.ndim != 2:
        raise ParameterError(f"expected one (H, W) image; got shape {tuple(image.shape)}")
    return image.float() / 255.0 if image.dtype == torch.uint8 else image.float()


def convolve(
    image: torch.Tensor, kernel: torch.Tensor, *, pad_with: float | None = None
) -> torch.Tensor:
    """Slide a ``(3, 3)`` kernel over an ``(H, W)`` image, padded by 1; returns ``(H, W)``.

    The one-pixel border is filled with ``pad_with``; None fills it with the image's background
    (its smallest value: -0.42 for a normalised MNIST digit). A border of zeros around a
    normalised digit would differ from the background, and an edge kernel would light up the
    whole frame (``pad_with=0.0`` shows it).
    """
    if kernel.shape != (3, 3):
        raise ParameterError(f"expected a 3 x 3 kernel; got shape {tuple(kernel.shape)}")
    image = _check_image(image)
    value = float(image.min()) if pad_with is None else float(pad_with)
    padded = F.pad(image[None, None], (1, 1, 1, 1), value=value)  # (1, 1, H + 2, W + 2)
    # conv2d wants (N, C, H, W) and an (out, in, kH, kW) weight.
    return F.conv2d(padded, kernel.float()[None, None])[0, 0]


def convolution_demo(
    image: torch.Tensor, kernel: torch.Tensor, *, pad_with: float | None = None
) -> ConvolutionDemo:
    """Run one ``(28, 28)`` digit through convolution, ReLU and a 2 x 2 max-pool.

    ``pad_with`` as in ``convolve`` (None: the image's background).
    """
    convolved = convolve(image, kernel, pad_with=pad_with)
    relu = convolved.clamp(min=0)
    pooled = F.max_pool2d(relu[None, None], 2)[0, 0]
    return ConvolutionDemo(_check_image(image), kernel.float(), convolved, relu, pooled)


def max_pool_example(seed: int = 0, side: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """A small ``(side, side)`` grid of whole numbers and its 2 x 2 max-pool (a worked example)."""
    if side < 2 or side % 2:
        raise ParameterError(f"side must be an even number >= 2; got {side}")
    generator = torch.Generator().manual_seed(seed)
    grid = torch.randint(-5, 10, (side, side), generator=generator).float()
    return grid, F.max_pool2d(grid[None, None], 2)[0, 0]


def _as_batch(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    if image.shape[-2:] != (28, 28):
        raise ParameterError(f"expected a normalised (1, 28, 28) image; got {tuple(image.shape)}")
    return image.reshape(1, 1, 28, 28).float().to(next(model.parameters()).device)


def saliency_map(model: nn.Module, image: torch.Tensor, target: int) -> torch.Tensor:
    """``|d logit[target] / d pixel|``: how strongly each pixel sways the score of ``target``.

    ``image`` is one normalised ``(1, 28, 28)`` or ``(28, 28)`` image; returns ``(28, 28)``.
    """
    was_training = model.training
    model.eval()
    batch = _as_batch(model, image).requires_grad_(True)
    model(batch)[0, target].backward()
    model.train(was_training)
    gradient = batch.grad
    assert gradient is not None  # backward() filled it: the batch requires grad
    return gradient[0, 0].abs().cpu()


@torch.no_grad()
def occlusion_map(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    *,
    patch: int = 6,
    stride: int = 2,
    background: float = 0.0,
) -> torch.Tensor:
    """Drop in ``target``'s probability when a ``patch`` x ``patch`` square is painted background.

    The square moves ``stride`` pixels at a time. Positive values mark pixels the answer relies
    on. ``background`` is the normalised value of a black pixel. Returns ``(28, 28)``: each pixel
    holds the mean drop of the patches covering it.
    """
    if not 1 <= patch <= 28 or not 1 <= stride <= patch:
        raise ParameterError(
            f"patch must be 1 to 28 pixels and stride 1 to patch; got {patch} and {stride}"
        )
    was_training = model.training
    model.eval()
    batch = _as_batch(model, image)
    base = model(batch).float().softmax(1)[0, target]
    starts = list(range(0, 29 - patch, stride))
    if starts[-1] != 28 - patch:
        starts.append(28 - patch)  # cover the last rows and columns too
    positions = [(row, col) for row in starts for col in starts]
    covered = batch.repeat(len(positions), 1, 1, 1)  # one copy per patch position
    for index, (row, col) in enumerate(positions):
        covered[index, 0, row : row + patch, col : col + patch] = background
    drops = base - model(covered).float().softmax(1)[:, target]
    total = torch.zeros(28, 28)
    counts = torch.zeros(28, 28)
    for (row, col), drop in zip(positions, drops.cpu(), strict=True):
        total[row : row + patch, col : col + patch] += drop
        counts[row : row + patch, col : col + patch] += 1
    model.train(was_training)
    return total / counts


def ink_centres(images: torch.Tensor) -> torch.Tensor:
    """Centre of mass ``(row, column)`` of the ink of each ``(N, H, W)`` image, ``(N, 2)``.

    Pixel ``(0, 0)`` is the top-left corner, so the middle of a 28 x 28 frame is ``(13.5, 13.5)``.
    """
    if images.ndim != 3:
        raise ParameterError(f"expected images of shape (N, H, W); got {tuple(images.shape)}")
    ink = images.double()
    total = ink.sum((1, 2)).clamp(min=1e-12)  # a blank image gets centre (0, 0), not nan
    rows = torch.arange(images.shape[1], dtype=torch.float64)
    cols = torch.arange(images.shape[2], dtype=torch.float64)
    row = (ink.sum(2) * rows).sum(1) / total
    col = (ink.sum(1) * cols).sum(1) / total
    return torch.stack([row, col], 1)


def planned_learning_rates(
    recipe: Recipe, *, lr: float, epochs: int, steps_per_epoch: int
) -> list[float]:
    """The learning rate of every optimizer step of a run with ``recipe``, from its own scheduler.

    A throwaway copy of the recipe's model, optimizer and schedule is built on the CPU and stepped
    without data; the caller's random state is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        setup = build_training(
            recipe,
            lr=lr,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            device=torch.device("cpu"),
        )
    rates = []
    with warnings.catch_warnings():
        # Stepping a schedule without optimizer steps is the point here, not a mistake.
        warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*", category=UserWarning)
        for _ in range(epochs * steps_per_epoch):
            rates.append(setup.optimizer.param_groups[0]["lr"])
            if setup.scheduler is not None:
                setup.scheduler.step()
    return rates
