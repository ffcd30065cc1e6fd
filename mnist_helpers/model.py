"""The CNN: conv + ReLU + max-pool blocks, then fully connected layers to 10 logits."""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from mnist_helpers.errors import ParameterError

IMAGE_SIDE = 28
NUM_CLASSES = 10
# Limits on the construction arguments, checked before any layer is allocated, so a checkpoint
# that claims a giant model is refused instead of filling memory. The recipes use widths up to
# 128 and about 0.1 million parameters; these leave a wide margin.
MAX_CONV_BLOCKS = 4  # each block halves the side: 28 -> 14 -> 7 -> 3 -> 1
MAX_CONV_WIDTH = 1024
MAX_HIDDEN_UNITS = 8192
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights
MODEL_ARG_NAMES = ("conv_channels", "hidden_units", "dropout", "batch_norm", "convs_per_block")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def parameters_for(config: Mapping[str, Any]) -> int:
    """Trainable parameters of the model ``config`` describes, by arithmetic (nothing allocated)."""
    batch_norm = bool(config.get("batch_norm", False))
    convs_per_block = int(config.get("convs_per_block", 1))
    total, in_channels = 0, 1
    for out_channels in config["conv_channels"]:
        for _ in range(convs_per_block):
            total += in_channels * out_channels * 9  # 3 x 3 kernels
            total += 2 * out_channels if batch_norm else out_channels  # BN scale+shift, or bias
            in_channels = out_channels
    side = IMAGE_SIDE // 2 ** len(config["conv_channels"])
    hidden = int(config["hidden_units"])
    return total + (in_channels * side * side + 1) * hidden + (hidden + 1) * NUM_CLASSES


def check_model_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Check MnistCNN's construction arguments against their types and limits; return them plain.

    Raises ParameterError before anything is allocated, so it is safe on untrusted checkpoints.
    """
    unknown = sorted(set(args) - set(MODEL_ARG_NAMES))
    if unknown:
        raise ParameterError(f"unknown model arguments {unknown}; known: {list(MODEL_ARG_NAMES)}")
    config = {
        "conv_channels": args.get("conv_channels", (16, 32, 64)),
        "hidden_units": args.get("hidden_units", 128),
        "dropout": args.get("dropout", 0.0),
        "batch_norm": args.get("batch_norm", False),
        "convs_per_block": args.get("convs_per_block", 1),
    }
    channels = config["conv_channels"]
    if (
        not isinstance(channels, (list, tuple))
        or not 1 <= len(channels) <= MAX_CONV_BLOCKS
        or not all(_is_int(c) and 1 <= c <= MAX_CONV_WIDTH for c in channels)
    ):
        raise ParameterError(
            f"conv_channels must hold 1 to {MAX_CONV_BLOCKS} widths, each from 1 to "
            f"{MAX_CONV_WIDTH}; got {channels!r}"
        )
    hidden = config["hidden_units"]
    if not _is_int(hidden) or not 1 <= hidden <= MAX_HIDDEN_UNITS:
        raise ParameterError(
            f"hidden_units must be an integer from 1 to {MAX_HIDDEN_UNITS:,}; got {hidden!r}"
        )
    dropout = config["dropout"]
    if (
        not isinstance(dropout, numbers.Real)
        or isinstance(dropout, bool)
        or not 0 <= float(dropout) < 1
    ):
        raise ParameterError(f"dropout must be a number in [0, 1); got {dropout!r}")
    if not isinstance(config["batch_norm"], (bool, np.bool_)):
        raise ParameterError(f"batch_norm must be True or False; got {config['batch_norm']!r}")
    blocks = config["convs_per_block"]
    if not _is_int(blocks) or not 1 <= blocks <= 3:
        raise ParameterError(f"convs_per_block must be 1, 2 or 3; got {blocks!r}")
    config = {
        "conv_channels": [int(c) for c in channels],
        "hidden_units": int(hidden),
        "dropout": float(dropout),
        "batch_norm": bool(config["batch_norm"]),
        "convs_per_block": int(blocks),
    }
    count = parameters_for(config)
    if count > MAX_PARAMETERS:
        raise ParameterError(
            f"these model arguments describe {count:,} parameters, more than the limit of "
            f"{MAX_PARAMETERS:,}; use narrower layers or more conv blocks"
        )
    return config


class MnistCNN(nn.Module):
    """A small CNN returning raw logits (no softmax: CrossEntropyLoss applies log-softmax itself).

    Args:
        conv_channels: output channels of each conv block; each block halves the image side.
        hidden_units: width of the fully connected hidden layer.
        dropout: dropout probability before each fully connected layer (0 disables it).
        batch_norm: add BatchNorm after each convolution (the strong recipe).
        convs_per_block: convolutions per block, each followed by ReLU; the block's last one is
            followed by max-pool, then ReLU.
    """

    def __init__(
        self,
        conv_channels: tuple[int, ...] | list[int] = (16, 32, 64),
        hidden_units: int = 128,
        dropout: float = 0.0,
        batch_norm: bool = False,
        convs_per_block: int = 1,
    ) -> None:
        super().__init__()
        # Recorded so that a checkpoint can rebuild exactly this model.
        self.config: dict[str, Any] = check_model_args(
            {
                "conv_channels": tuple(conv_channels),
                "hidden_units": hidden_units,
                "dropout": dropout,
                "batch_norm": batch_norm,
                "convs_per_block": convs_per_block,
            }
        )
        conv_channels = tuple(self.config["conv_channels"])
        hidden_units, dropout = self.config["hidden_units"], self.config["dropout"]
        batch_norm, convs_per_block = self.config["batch_norm"], self.config["convs_per_block"]
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in conv_channels:
            for conv_index in range(int(convs_per_block)):
                # padding=1 keeps the side; the pool below halves it: 28 -> 14 -> 7 -> 3 -> 1.
                layers.append(
                    nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm)
                )
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out_channels))
                if conv_index == int(convs_per_block) - 1:
                    # Pool, then ReLU: the same numbers as ReLU then pool, since ReLU keeps order
                    # (max(relu(x)) == relu(max(x))), but ReLU and its gradient touch a quarter of
                    # the values: 5 to 10 % faster training (benchmarks/step_variants.py).
                    layers.append(nn.MaxPool2d(2))
                layers.append(nn.ReLU(inplace=True))
                in_channels = out_channels
        self.features = nn.Sequential(*layers)
        side = IMAGE_SIDE // 2 ** len(conv_channels)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(in_channels * side * side, hidden_units),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_units, NUM_CLASSES),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` normalised images to ``(N, 10)`` logits."""
        return self.classifier(self.features(images))


def relu_before_pool(model: MnistCNN) -> MnistCNN:
    """A copy of ``model`` in the textbook order, conv -> ReLU -> pool, for comparisons.

    It computes exactly the same outputs as ``model`` (ReLU keeps order), only with more work.
    """
    textbook = copy.deepcopy(model)
    reordered: list[nn.Module] = []
    for layer in textbook.features:
        if isinstance(layer, nn.ReLU) and reordered and isinstance(reordered[-1], nn.MaxPool2d):
            reordered.insert(len(reordered) - 1, layer)
        else:
            reordered.append(layer)
    textbook.features = nn.Sequential(*reordered)
    return textbook


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def prepare_for_device(model: ModuleT, device: torch.device) -> ModuleT:
    """Move the model to ``device`` in channels_last layout, which makes conv and pool faster."""
    return model.to(device).to(memory_format=torch.channels_last)


def layer_table(model: MnistCNN) -> list[dict[str, Any]]:
    """One row per layer: name, output shape for one image, parameter count."""
    rows = []
    x = torch.zeros(1, 1, IMAGE_SIDE, IMAGE_SIDE, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for part in (model.features, model.classifier):
            for layer in part:
                x = layer(x)
                rows.append(
                    {
                        "layer": type(layer).__name__,
                        "output_shape": tuple(x.shape[1:]),
                        "parameters": sum(p.numel() for p in layer.parameters()),
                    }
                )
    model.train(was_training)
    return rows


def multiply_adds_per_image(model: MnistCNN) -> int:
    """Multiply-adds of one forward pass (convolutions and linear layers), for FLOP estimates."""
    total = 0
    x = torch.zeros(1, 1, IMAGE_SIDE, IMAGE_SIDE, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()  # a training-mode pass would update batch-norm statistics
    with torch.no_grad():
        for part in (model.features, model.classifier):
            for layer in part:
                y = layer(x)
                if isinstance(layer, nn.Conv2d):
                    kernel = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels
                    total += y.numel() * kernel // layer.groups
                elif isinstance(layer, nn.Linear):
                    total += layer.in_features * layer.out_features
                x = y
    model.train(was_training)
    return total


@torch.no_grad()
def feature_maps(model: MnistCNN, image: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Activations ``(C, H, W)`` of one normalised ``(1, 1, 28, 28)`` image at each block's end."""
    was_training = model.training
    model.eval()
    maps: list[tuple[str, torch.Tensor]] = []
    x = image.to(next(model.parameters()).device)
    layers = list(model.features)
    for index, layer in enumerate(layers):
        x = layer(x)
        # A block ends with the ReLU that follows its pool.
        if index > 0 and isinstance(layers[index - 1], nn.MaxPool2d):
            maps.append((f"block {len(maps) + 1} (layer {index})", x[0].float().cpu()))
    model.train(was_training)
    return maps
