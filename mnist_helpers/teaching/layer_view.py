"""One drawing through the trained network: every block's maps, the ten probabilities, the
occlusion map, and sentences read from them. Numbers and pictures only; the live view that
shows them beside the canvas is ``apps/layer_view.py``, the static figure ``plot_network_view``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from mnist_helpers.errors import ParameterError
from mnist_helpers.images.image_files import png_bytes
from mnist_helpers.model import MnistCNN, feature_maps
from mnist_helpers.predict import DEFAULT_NOT_A_DIGIT_BELOW, PredictionStatus, read_status
from mnist_helpers.runs.parameters import DEFAULT_UNSURE_BELOW
from mnist_helpers.teaching.plots import ACCENT, GREYS, WARN, _figure, _image_panel
from mnist_helpers.teaching.worked_examples import occlusion_map

# Each map of a block is drawn about this many screen pixels wide, whatever its side.
MAP_PIXELS = 56


@dataclass
class NetworkView:
    """What the network makes of one 28 x 28 input, block by block."""

    image: np.ndarray  # (28, 28) in [0, 1]: what the model saw, white ink on black
    blocks: list[torch.Tensor]  # per block, (C, H, W) after its pool
    probabilities: list[float]  # ten, summing to 1
    status: PredictionStatus
    occlusion: torch.Tensor  # (28, 28): how much covering each pixel lowers the top answer
    sentences: list[str] = field(default_factory=list)

    @property
    def guess(self) -> int:
        """The most probable digit."""
        return int(np.argmax(self.probabilities))


def network_view(
    model: MnistCNN,
    image: np.ndarray,
    *,
    mean: float,
    std: float,
    unsure_below: float = DEFAULT_UNSURE_BELOW,
    with_occlusion: bool = True,
) -> NetworkView:
    """Run a preprocessed ``(28, 28)`` image in [0, 1] through ``model`` and keep every block."""
    if image.shape != (28, 28):
        raise ParameterError(f"expected the (28, 28) model input; got {image.shape}")
    tensor = ((torch.as_tensor(image, dtype=torch.float32) - mean) / std)[None, None]
    maps = feature_maps(model, tensor)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        probabilities = model(tensor.to(next(model.parameters()).device)).float().softmax(1)[0]
    model.train(was_training)
    chances = probabilities.cpu().tolist()
    guess = int(np.argmax(chances))
    occlusion = (
        occlusion_map(model, tensor[0], guess, background=-mean / std)
        if with_occlusion
        else torch.zeros(28, 28)
    )
    view = NetworkView(
        image=np.asarray(image, dtype=np.float32),
        blocks=[activation for _, activation in maps],
        probabilities=chances,
        status=read_status(chances, unsure_below=unsure_below),
        occlusion=occlusion,
    )
    view.sentences = describe(view)
    return view


def describe(view: NetworkView) -> list[str]:
    """Sentences read from this drawing's own numbers: what each block and the answer show."""
    lines = []
    for number, activation in enumerate(view.blocks, start=1):
        strength = activation.flatten(1).max(1).values  # (C,) each map's strongest response
        active = int((strength > 0).sum())
        top = int(strength.argmax())
        lit = float((activation[top] > 0).float().mean())
        side = activation.shape[-1]
        lines.append(
            f"block {number} ({activation.shape[0]} maps of {side} x {side}): {active} maps "
            f"respond to this drawing; the strongest, map {top}, is lit over {lit:.0%} of its area."
        )
    order = np.argsort(view.probabilities)[::-1]
    first, second = int(order[0]), int(order[1])
    lines.append(
        f"answer: {view.status} · {first} at {view.probabilities[first]:.1%}, then {second} at "
        f"{view.probabilities[second]:.1%}."
    )
    if view.occlusion.max() > 0:
        row, col = divmod(int(view.occlusion.argmax()), 28)
        lines.append(
            f"covering the strokes around row {row}, column {col} lowers {first}'s probability "
            f"most (by {float(view.occlusion.max()):.0%}): the answer rests on them."
        )
    return lines


def maps_png(activation: torch.Tensor) -> bytes:
    """All channels of one block as a grid, on the block's one grey scale (black = 0), as PNG."""
    channels, height, width = activation.shape
    columns = 8 if channels <= 32 else 16
    scale = max(1, MAP_PIXELS // max(height, width))
    rows = -(-channels // columns)
    gap = 2
    grid = np.full(
        (rows * (height * scale + gap), columns * (width * scale + gap)), 40, dtype=np.uint8
    )
    top = max(float(activation.max()), 1e-6)
    values = (activation.clamp(min=0) / top * 255).round().to(torch.uint8).cpu().numpy()
    for index in range(channels):
        row, col = divmod(index, columns)
        tile = np.kron(values[index], np.ones((scale, scale), dtype=np.uint8))
        y, x = row * (height * scale + gap), col * (width * scale + gap)
        grid[y : y + height * scale, x : x + width * scale] = tile
    return png_bytes(Image.fromarray(grid, mode="L"))


def occlusion_png(view: NetworkView, scale: int = 6) -> bytes:
    """The drawing in grey with the occlusion map over it: red where covering hurts the answer."""
    limit = max(float(view.occlusion.abs().max()), 1e-6)
    heat = (view.occlusion / limit).clamp(-1, 1).numpy()
    grey = view.image * 0.5
    rgb = np.stack([grey + np.clip(heat, 0, 1), grey, grey + np.clip(-heat, 0, 1)], axis=-1)
    picture = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
    return png_bytes(Image.fromarray(np.kron(picture, np.ones((scale, scale, 1), dtype=np.uint8))))


def plot_network_view(
    view: NetworkView,
    *,
    unsure_below: float = DEFAULT_UNSURE_BELOW,
    not_a_digit_below: float = DEFAULT_NOT_A_DIGIT_BELOW,
    per_block: int = 8,
) -> Figure:
    """The static picture: input, the first maps of each block, probabilities, occlusion."""
    rows = len(view.blocks)
    fig = _figure(2.0 + per_block * 1.0 + 4.0, 1.3 * (rows + 1))
    grid = fig.add_gridspec(rows + 1, per_block + 5)
    _image_panel(fig.add_subplot(grid[0, 0]), view.image, "what the model saw")
    for number, activation in enumerate(view.blocks, start=1):
        top = max(float(activation.max()), 1e-6)
        for channel in range(min(per_block, activation.shape[0])):
            ax = fig.add_subplot(grid[number, channel])
            ax.imshow(activation[channel].numpy(), cmap=GREYS, vmin=0, vmax=top)
            ax.set_xticks([])
            ax.set_yticks([])
            if channel == 0:
                ax.set_ylabel(f"block {number}", fontsize=8)
    half = (rows + 1) // 2 + 1
    bars = fig.add_subplot(grid[:half, per_block + 1 :])
    colours = [ACCENT if d == view.guess else "0.7" for d in range(10)]
    bars.bar(range(10), view.probabilities, color=colours)
    bars.axhline(unsure_below, color=WARN, linestyle="--", linewidth=1, label="unsure below")
    bars.axhline(
        not_a_digit_below, color="0.3", linestyle=":", linewidth=1, label="not a digit below"
    )
    bars.set_xticks(range(10))
    bars.set_ylim(0, 1)
    bars.set_title(f"all ten probabilities: {view.status}", fontsize=9)
    bars.legend(fontsize=7, loc="upper left")
    occluded = fig.add_subplot(grid[half:, per_block + 2 : per_block + 4])
    limit = max(float(view.occlusion.abs().max()), 1e-6)
    occluded.imshow(view.image, cmap=GREYS)
    occluded.imshow(view.occlusion.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.6)
    occluded.set_xticks([])
    occluded.set_yticks([])
    occluded.set_title("occlusion: red = the answer\nrests on these strokes", fontsize=8)
    fig.suptitle("One drawing through the network")
    return fig
