"""The CNN: conv -> ReLU -> max-pool blocks, then fully connected layers to 10 raw logits."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from mnist_helpers.errors import ParameterError, short_repr


class MnistCNN(nn.Module):
    """A small CNN returning raw logits (no softmax: ``F.cross_entropy`` applies log-softmax).

    Each block is conv (3 x 3, padding 1: the side is kept) -> ReLU -> 2 x 2 max-pool (the side
    halves): 28 -> 14 -> 7 -> 3. Then ``Flatten``, ``Linear`` (a matrix product plus a bias) to
    ``hidden_units``, ReLU, and ``Linear`` to the 10 digit scores.

    Args:
        conv_channels: output channels of each block (16, 32, 64: three blocks).
        hidden_units: width of the fully connected hidden layer.
        dropout: dropout probability before each fully connected layer (0: the layers do nothing).
        batch_norm: BatchNorm after each convolution (the strong recipe).
        convs_per_block: convolutions per block, each followed by (BatchNorm and) ReLU.
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
        # Checked, and recorded so that a checkpoint can rebuild exactly this model.
        self.config: dict[str, Any] = check_model_args(
            {
                "conv_channels": conv_channels,
                "hidden_units": hidden_units,
                "dropout": dropout,
                "batch_norm": batch_norm,
                "convs_per_block": convs_per_block,
            }
        )
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in self.config["conv_channels"]:
            for _ in range(self.config["convs_per_block"]):
                # With batch norm after it, a conv's bias would be cancelled out: none is made.
                layers.append(
                    nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm)
                )
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out_channels))
                layers.append(nn.ReLU(inplace=True))
                in_channels = out_channels
            layers.append(nn.MaxPool2d(2))  # (N, C, H, W) -> (N, C, H/2, W/2)
        self.features = nn.Sequential(*layers)
        side = IMAGE_SIDE // 2 ** len(conv_channels)  # 3 after three blocks
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 64, 3, 3) -> (N, 576)
            nn.Dropout(dropout),
            nn.Linear(in_channels * side * side, hidden_units),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_units, NUM_CLASSES),  # (N, 10) logits
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` normalised images to ``(N, 10)`` logits."""
        return self.classifier(self.features(images))


IMAGE_SIDE = 28
NUM_CLASSES = 10
MAX_CONV_BLOCKS = 4  # each block halves the side: 28 -> 14 -> 7 -> 3 -> 1
MODEL_ARG_NAMES = ("conv_channels", "hidden_units", "dropout", "batch_norm", "convs_per_block")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_model_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """MnistCNN's construction arguments checked for type and range; returned as plain values.

    Sizes are not bounded here (a learner may build any width); checkpoints, which are untrusted
    input, are also held to the limits in ``support/untrusted_checkpoints.py``.
    """
    unknown = sorted(set(args) - set(MODEL_ARG_NAMES))
    if unknown:
        raise ParameterError(f"unknown model arguments {unknown}; known: {list(MODEL_ARG_NAMES)}")
    channels = args.get("conv_channels", (16, 32, 64))
    if (
        not isinstance(channels, (list, tuple))
        or not 1 <= len(channels) <= MAX_CONV_BLOCKS
        or not all(_is_int(c) and c >= 1 for c in channels)
    ):
        raise ParameterError(
            f"conv_channels must hold 1 to {MAX_CONV_BLOCKS} positive widths (each block halves "
            f"the side); got {short_repr(channels)}"
        )
    hidden = args.get("hidden_units", 128)
    if not _is_int(hidden) or hidden < 1:
        raise ParameterError(f"hidden_units must be a positive integer; got {short_repr(hidden)}")
    dropout = args.get("dropout", 0.0)
    if (
        not isinstance(dropout, numbers.Real)
        or isinstance(dropout, bool)
        or not 0 <= float(dropout) < 1
    ):
        raise ParameterError(f"dropout must be a number in [0, 1); got {short_repr(dropout)}")
    batch_norm = args.get("batch_norm", False)
    if not isinstance(batch_norm, (bool, np.bool_)):
        raise ParameterError(f"batch_norm must be True or False; got {short_repr(batch_norm)}")
    blocks = args.get("convs_per_block", 1)
    if not _is_int(blocks) or not 1 <= blocks <= 3:
        raise ParameterError(f"convs_per_block must be 1, 2 or 3; got {short_repr(blocks)}")
    return {
        "conv_channels": [int(c) for c in channels],
        "hidden_units": int(hidden),
        "dropout": float(dropout),
        "batch_norm": bool(batch_norm),
        "convs_per_block": int(blocks),
    }


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
    for layer in layers:
        x = layer(x)
        if isinstance(layer, nn.MaxPool2d):  # a block ends with its pool
            maps.append((f"block {len(maps) + 1}", x[0].float().cpu()))
    model.train(was_training)
    return maps
