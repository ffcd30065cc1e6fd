"""Notebook 05's tools without a browser: each answers a change with the right pictures, and the
feature maps the layer view shows are the model's own numbers."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageDraw

from mnist_helpers.apps.canvas import DigitCanvas, encode_png_data_url
from mnist_helpers.apps.convolution_widget import ConvolutionPlayground
from mnist_helpers.apps.layer_view import LayerView
from mnist_helpers.apps.learning_rate_lab import LearningRateLab
from mnist_helpers.loaders import TensorBatches
from mnist_helpers.model import MnistCNN
from mnist_helpers.predict import Predictor
from mnist_helpers.teaching.layer_view import MAP_PIXELS


def _drawing(points) -> np.ndarray:
    image = Image.new("RGBA", (280, 280))
    ImageDraw.Draw(image).line(points, fill="black", width=20)
    return np.asarray(image)


def _canvas() -> tuple[DigitCanvas, MnistCNN]:
    torch.manual_seed(0)
    model = MnistCNN().eval()
    return DigitCanvas(Predictor(model, mean=0.1307, std=0.3081)), model


def test_each_drawing_redraws_every_block_and_the_shown_maps_are_the_models():
    canvas, model = _canvas()
    view = LayerView(canvas)
    canvas.drawing_png = encode_png_data_url(_drawing([(70, 50), (210, 50), (120, 230)]))
    first = [image.value for image in view.block_images]
    assert all(first) and view.occlusion.value and "block 3" in view.sentences.value
    assert 'data-n="1"' in view.updates.value
    # Block 1 as shown, against a forward pass of our own on the same 28 x 28 input.
    seen = view.last_view.image
    x = (torch.as_tensor(seen) - 0.1307) / 0.3081
    with torch.no_grad():
        expected = model.features[:3](x[None, None])[0]  # conv, ReLU, pool: (16, 14, 14)
    shown = np.asarray(Image.open(io.BytesIO(first[0])))
    scale = MAP_PIXELS // 14
    tile = shown[: 14 * scale : scale, : 14 * scale : scale]  # channel 0, one pixel a value
    top = float(expected.max())
    assert np.abs(tile.astype(float) - (expected[0].numpy() / top * 255)).max() <= 1.0
    # A second stroke changes what is shown; Clear empties it.
    canvas.drawing_png = encode_png_data_url(_drawing([(140, 40), (140, 240)]))
    assert [image.value for image in view.block_images] != first
    canvas.clear()
    assert all(image.value == b"" for image in view.block_images)


def test_all_ten_probabilities_are_shown_with_both_thresholds():
    canvas, _ = _canvas()
    view = LayerView(canvas)
    canvas.drawing_png = encode_png_data_url(_drawing([(140, 40), (140, 240)]))
    bars = view.probabilities.value
    assert bars.count('class="bar"') == 10
    assert "unsure below 60%" in bars and "not a digit below 50%" in bars


def test_editing_a_kernel_value_redraws_and_the_size_follows_the_formula():
    digits = torch.randn(3, 1, 28, 28)
    playground = ConvolutionPlayground(digits)
    before = playground.picture.value
    playground.cells[4].value = 3.0
    assert playground.picture.value != before
    assert playground.kernel[1, 1] == 3.0
    playground.padding.value, playground.stride.value = "none", 2
    assert "(28 + 2 x 0 - 3) // 2 + 1 = 13" in playground.formula.value
    assert "max-pool 6 x 6" in playground.formula.value
    playground.preset.value = "identity"
    assert playground.kernel.tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]


def test_a_learning_rate_run_draws_its_curve_and_keeps_the_earlier_ones():
    generator = torch.Generator().manual_seed(0)
    batches = TensorBatches(
        torch.randn(64, 1, 28, 28, generator=generator), torch.arange(64) % 10, 16, shuffle=True
    )
    lab = LearningRateLab(MnistCNN(conv_channels=[4], hidden_units=8).config, batches, steps=20)
    first = lab.train(0.1)
    assert len(first) == 20  # the 4 batches are reused, epoch after epoch
    assert lab.picture.value and 'data-n="20"' in lab.updates.value
    lab.train(1.0)
    assert sorted(lab.runs) == [0.1, 1.0]
    assert len(lab.figure().axes[0].lines) == 2
