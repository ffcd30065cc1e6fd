"""What one unit of the trained network computes: a multi-channel convolution taken apart, and
the input pixels one unit can see (its receptive field). Numbers only; figures in
``network_figures.py``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers.errors import ParameterError
from mnist_helpers.model import MnistCNN


@dataclass
class ChannelSum:
    """One output map of a block's convolution, taken apart into one part per input channel."""

    block: int  # 1, 2 or 3
    channel: int  # the output channel shown
    inputs: torch.Tensor  # (C_in, H, W) what the convolution reads: the previous block's maps
    parts: torch.Tensor  # (C_in, H, W) each input map convolved with its own 3 x 3 kernel
    bias: float
    output: torch.Tensor  # (H, W) the sum of the parts plus the bias
    kernels: torch.Tensor  # (C_in, 3, 3) the kernels, one per input channel
    direct: torch.Tensor  # (H, W) the convolution layer's own output, to compare with ``output``


def _convolutions(model: MnistCNN) -> list[int]:
    """Indices in ``model.features`` of each block's first convolution."""
    convs = [i for i, layer in enumerate(model.features) if isinstance(layer, nn.Conv2d)]
    return convs[:: model.config["convs_per_block"]]


@torch.no_grad()
def channel_sum(model: MnistCNN, image: torch.Tensor, *, block: int, channel: int) -> ChannelSum:
    """Block ``block``'s first convolution, output ``channel``, as a sum over its input channels.

    ``image`` is one normalised ``(1, 28, 28)`` or ``(28, 28)`` digit. A convolution with
    C_in input channels holds one 3 x 3 kernel per input channel for each output channel: it
    convolves each input map with its kernel, adds the C_in results and the bias.
    """
    starts = _convolutions(model)
    if not 1 <= block <= len(starts):
        raise ParameterError(f"block must be 1 to {len(starts)}; got {block}")
    was_training = model.training
    model.eval()
    x = image.reshape(1, 1, 28, 28).float().to(next(model.parameters()).device)
    x = model.features[: starts[block - 1]](x)  # (1, C_in, H, W): the block's input
    conv = model.features[starts[block - 1]]
    assert isinstance(conv, nn.Conv2d)
    if not 0 <= channel < conv.out_channels:
        raise ParameterError(f"channel must be 0 to {conv.out_channels - 1}; got {channel}")
    kernels = conv.weight[channel]  # (C_in, 3, 3)
    # Each input channel on its own: a grouped convolution with one group per channel.
    parts = F.conv2d(x, kernels[:, None], padding=1, groups=conv.in_channels)[0]
    bias = 0.0 if conv.bias is None else float(conv.bias[channel])
    direct = conv(x)[0, channel]
    model.train(was_training)
    return ChannelSum(
        block,
        channel,
        x[0].cpu(),
        parts.cpu(),
        bias,
        parts.sum(0).cpu() + bias,
        kernels.cpu(),
        direct.cpu(),
    )


def receptive_field(model: MnistCNN, block: int, row: int, col: int) -> torch.Tensor:
    """``(28, 28)`` bool: the input pixels that can change unit ``(row, col)`` of block ``block``.

    Found by asking autograd which pixels the unit's value depends on, in a copy whose weights
    are ones (no dependence cancels by chance) and whose max-pools average instead: a max-pool
    passes a gradient to one pixel of each window, though it looks at all four.
    """
    starts = _convolutions(model)
    if not 1 <= block <= len(starts):
        raise ParameterError(f"block must be 1 to {len(starts)}; got {block}")
    probe = MnistCNN(**model.config).eval()
    with torch.no_grad():
        for weights in probe.parameters():
            weights.fill_(1.0)
    ends = [i for i, layer in enumerate(probe.features) if isinstance(layer, nn.MaxPool2d)]
    for index in ends:
        probe.features[index] = nn.AvgPool2d(2)  # the same windows, every pixel counted
    x = torch.ones(1, 1, 28, 28, requires_grad=True)
    out = probe.features[: ends[block - 1] + 1](x)  # (1, C, H, W) after the block's pool
    if not (0 <= row < out.shape[2] and 0 <= col < out.shape[3]):
        raise ParameterError(f"block {block} maps are {out.shape[2]} x {out.shape[3]}")
    out[0, 0, row, col].backward()
    assert x.grad is not None
    return x.grad[0, 0] != 0
