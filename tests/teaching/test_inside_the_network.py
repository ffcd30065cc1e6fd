"""What one unit computes, checked against the network itself and against the arithmetic."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mnist_helpers.model import MnistCNN
from mnist_helpers.teaching.inside_the_network import channel_sum, receptive_field


@pytest.mark.parametrize(("block", "batch_norm"), [(1, False), (2, False), (3, False), (2, True)])
def test_a_convolution_is_the_sum_of_one_kernel_per_input_channel_plus_a_bias(block, batch_norm):
    torch.manual_seed(0)
    model = MnistCNN(batch_norm=batch_norm, convs_per_block=2 if batch_norm else 1).eval()
    image = torch.randn(1, 28, 28)
    demo = channel_sum(model, image, block=block, channel=3)
    # Independently: the full convolution of the block's input, output channel 3.
    conv = [m for m in model.features if isinstance(m, torch.nn.Conv2d)][
        (block - 1) * model.config["convs_per_block"]
    ]
    expected = F.conv2d(demo.inputs[None], conv.weight, conv.bias, padding=1)[0, 3]
    torch.testing.assert_close(demo.output, expected, atol=1e-5, rtol=1e-5)
    assert demo.parts.shape[0] == conv.in_channels


def test_receptive_fields_follow_the_layer_arithmetic():
    model = MnistCNN()
    # conv 3 (field 3), pool (4), conv (4 + 2 * 2 = 8), pool (10), conv (10 + 2 * 4 = 18), pool (22)
    centre = receptive_field(model, 3, 1, 1)
    rows = centre.any(1).nonzero().flatten()
    assert (rows.min().item(), rows.max().item()) == (1, 22)
    assert int(centre.sum()) == 22 * 22
    corner = receptive_field(model, 3, 0, 0)  # cut by the image's edge
    assert corner.any(1).nonzero().max().item() == 14
    first = receptive_field(model, 1, 5, 5)  # conv 3 then pool 2: a 4 x 4 window
    assert int(first.sum()) == 16
