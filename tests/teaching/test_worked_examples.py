"""The worked examples behind the notebooks: convolution, ReLU, max-pool, saliency, occlusion,
centres of mass, the planned learning rate, calibration, the printed readings and live feedback."""

from __future__ import annotations

import json

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from mnist_helpers.errors import ParameterError
from mnist_helpers.evaluate import (
    bin_index,
    expected_calibration_error,
    histogram,
    reliability_table,
)
from mnist_helpers.runs.recipes import get_recipe
from mnist_helpers.support.progress import is_interactive_frontend
from mnist_helpers.teaching.captions import (
    read_confidence,
    read_confusions,
    read_learning_curves,
    seed_spread_summary,
)
from mnist_helpers.teaching.example_figures import (
    plot_pixel_grid,
    plot_reliability_diagram,
    plot_step_losses,
)
from mnist_helpers.teaching.live_curves import LiveHistory
from mnist_helpers.teaching.worked_examples import (
    EDGE_KERNELS,
    convolution_demo,
    convolve,
    ink_centres,
    max_pool_example,
    occlusion_map,
    planned_learning_rates,
    saliency_map,
)


def _by_hand_convolution(
    image: torch.Tensor, kernel: torch.Tensor, border: float = 0.0
) -> torch.Tensor:
    """Sum of products at every position, with a border of ``border``: the definition, by loops."""
    padded = torch.full((image.shape[0] + 2, image.shape[1] + 2), border)
    padded[1:-1, 1:-1] = image
    out = torch.zeros_like(image)
    for row in range(image.shape[0]):
        for col in range(image.shape[1]):
            out[row, col] = (padded[row : row + 3, col : col + 3] * kernel).sum()
    return out


def _bar_image() -> torch.Tensor:
    image = torch.zeros(28, 28)
    image[4:24, 10:16] = 1.0  # a bright vertical bar, columns 10 to 15
    return image


def test_convolve_is_the_sum_of_products_at_every_position():
    image = torch.rand(28, 28, generator=torch.Generator().manual_seed(0))
    kernel = EDGE_KERNELS["left edges"]
    torch.testing.assert_close(
        convolve(image, kernel, pad_with=0.0), _by_hand_convolution(image, kernel)
    )
    # By default the border holds the background (the smallest value), as a normalised digit's.
    torch.testing.assert_close(
        convolve(image, kernel), _by_hand_convolution(image, kernel, float(image.min()))
    )


def test_on_a_normalised_digit_the_background_border_leaves_no_frame():
    digit = (_bar_image() - 0.1307) / 0.3081  # background -0.42, as the network sees it
    kernel = EDGE_KERNELS["left edges"]
    assert convolve(digit, kernel)[:, 0].abs().max() == 0  # flat background: no response
    assert convolve(digit, kernel, pad_with=0.0)[:, 0].abs().max() > 1  # zeros: a bright frame


def test_left_edge_kernel_is_positive_on_left_edges_negative_on_right_and_zero_when_flat():
    out = convolve(_bar_image(), EDGE_KERNELS["left edges"])
    assert out[12, 9] > 0 and out[12, 10] > 0  # dark -> bright, reading left to right
    assert out[12, 15] < 0 and out[12, 16] < 0  # bright -> dark
    assert out[12, 12] == 0 and out[12, 3] == 0  # inside the bar and in the background


def test_convolution_demo_applies_relu_then_takes_the_max_of_each_2x2_block():
    demo = convolution_demo(_bar_image(), EDGE_KERNELS["top edges"])
    assert torch.equal(demo.relu, torch.where(demo.convolved > 0, demo.convolved, 0.0))
    blocks = demo.relu.reshape(14, 2, 14, 2).permute(0, 2, 1, 3).reshape(14, 14, 4)
    assert torch.equal(demo.pooled, blocks.max(-1).values)


def test_convolution_demo_scales_a_uint8_digit_to_0_1():
    image = (_bar_image() * 255).to(torch.uint8)
    demo = convolution_demo(image, EDGE_KERNELS["left edges"])
    assert demo.image.max() == 1.0


def test_convolve_refuses_a_kernel_that_is_not_3x3_and_a_batch():
    with pytest.raises(ParameterError, match="3 x 3"):
        convolve(torch.zeros(28, 28), torch.zeros(5, 5))
    with pytest.raises(ParameterError, match="one"):
        convolve(torch.zeros(2, 28, 28), EDGE_KERNELS["left edges"])


def test_max_pool_example_keeps_the_largest_of_each_block():
    grid, pooled = max_pool_example(seed=3, side=6)
    assert pooled.shape == (3, 3)
    for row in range(3):
        for col in range(3):
            block = grid[2 * row : 2 * row + 2, 2 * col : 2 * col + 2]
            assert pooled[row, col] == max(block.flatten().tolist())
    with pytest.raises(ParameterError):
        max_pool_example(side=5)


def _linear_model(weight: torch.Tensor) -> nn.Module:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(weight)
    return model


def test_saliency_of_a_linear_model_is_the_absolute_weight_row():
    weight = torch.randn(10, 784, generator=torch.Generator().manual_seed(1))
    model = _linear_model(weight)
    image = torch.randn(1, 28, 28)
    assert torch.allclose(saliency_map(model, image, target=4), weight[4].abs().reshape(28, 28))
    assert model.training  # the caller's mode is restored


def test_occlusion_marks_only_the_pixels_the_answer_depends_on():
    weight = torch.zeros(10, 784)
    weight[0, 10 * 28 + 10] = 20.0  # class 0 looks at pixel (10, 10) only
    model = _linear_model(weight).eval()
    image = torch.zeros(1, 28, 28)
    image[0, 10, 10] = 1.0
    drop = occlusion_map(model, image, target=0, patch=4, stride=1, background=0.0)
    assert drop[10, 10] > 0.5
    assert drop[0, 0] == 0 and drop[27, 27] == 0 and drop[10, 20] == 0


def test_ink_centres_of_single_pixels_and_pairs():
    images = torch.zeros(2, 28, 28)
    images[0, 5, 20] = 1.0
    images[1, 4, 4] = images[1, 8, 12] = 1.0
    assert ink_centres(images).tolist() == [[5.0, 20.0], [6.0, 8.0]]


def test_planned_learning_rates_follow_the_recipe_and_leave_the_random_state_alone():
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    constant = planned_learning_rates(get_recipe("constant"), lr=0.01, epochs=2, steps_per_epoch=5)
    assert torch.equal(torch.rand(3), expected_next)
    assert constant == [0.01] * 10
    decayed = planned_learning_rates(get_recipe("default"), lr=0.01, epochs=2, steps_per_epoch=50)
    assert len(decayed) == 100
    assert decayed[0] < max(decayed) == pytest.approx(0.01)
    assert decayed[-1] < 0.001 * 0.01


def test_reliability_table_and_calibration_error_by_hand():
    confidence = torch.tensor([0.95, 0.95, 0.55, 0.55, 1.0])
    correct = torch.tensor([True, False, True, True, True])
    table = reliability_table(confidence, correct, num_bins=10)
    assert bin_index(torch.tensor([1.0]), 10).item() == 9  # 1.0 belongs to the last bin
    top, middle = table[9], table[5]
    assert (top.count, middle.count) == (3, 2)
    assert top.accuracy == pytest.approx(2 / 3) and middle.accuracy == 1.0
    assert top.mean_confidence == pytest.approx(2.9 / 3)
    # |2/3 - 2.9/3| * 3 answers + |1 - 0.55| * 2 answers, over 5 answers
    assert expected_calibration_error(table) == pytest.approx((0.3 * 3 + 0.45 * 2) / 5)
    assert histogram(confidence, 10).tolist() == [0, 0, 0, 0, 0, 2, 0, 0, 0, 3]


def _record(epoch, train_loss, val_loss, train_acc, val_acc):
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "train_acc": train_acc,
        "val_acc": val_acc,
        "seconds": 1.0,
    }


def test_read_learning_curves_names_the_epoch_where_validation_loss_rose():
    history = [
        _record(1, 0.30, 0.070, 0.90, 0.97),
        _record(2, 0.10, 0.050, 0.97, 0.98),
        _record(3, 0.07, 0.056, 0.985, 0.98),
        _record(4, 0.05, 0.040, 0.99, 0.99),
    ]
    lines = read_learning_curves(history)
    assert any(
        line.startswith("epoch 3: training loss fell but validation loss rose") for line in lines
    )
    assert not any(line.startswith(("epoch 2", "epoch 4")) for line in lines)
    assert any(
        "99.00% of training digits and 99.00% of validation digits" in line for line in lines
    )
    assert any("has not memorised" in line for line in lines)
    assert any("validation loss fell by 0.0160 in the last epoch" in line for line in lines)
    assert not any("training mix" in line for line in lines)  # no stand-ins in these records
    with pytest.raises(ParameterError):
        read_learning_curves([])


def test_read_learning_curves_explains_the_mix_and_names_a_memorising_gap():
    mixed = {**_record(1, 0.02, 0.08, 0.995, 0.97), "mix_loss": 0.29, "mix_acc": 0.899}
    lines = read_learning_curves([mixed])
    assert any("+2.50 points: a gap this size is a sign of memorising" in line for line in lines)
    assert any("mix scores lower (loss 0.290, accuracy 89.9%)" in line for line in lines)
    assert any("above about 0.23" in line for line in lines)


def test_read_confidence_reports_the_tallest_bin_and_over_confidence():
    confidence = torch.tensor([0.99] * 8 + [0.98, 0.70])
    correct = torch.tensor([True] * 7 + [False, False, True])
    lines = read_confidence(confidence, correct, num_bins=40)
    # wrong answers: 0.99 and 0.98 both fall in the 0.975-1.000 bin
    assert "wrong answers (2): tallest bin 0.975-1.000 with 2" in lines[1]
    # mean confidence 0.96 against accuracy 0.8
    assert "over-confident by 16.00 points" in lines[2]


def test_read_confusions_lists_the_largest_off_diagonal_counts():
    matrix = torch.eye(10, dtype=torch.long) * 50
    matrix[4, 9], matrix[7, 2] = 6, 3
    assert read_confusions(matrix, 2) == [
        "true 4 read as 9: 6 images",
        "true 7 read as 2: 3 images",
    ]


def test_seed_spread_summary_reads_the_results_file(tmp_path):
    path = tmp_path / "seed_spread.json"
    rows = [{"seed": s, "test_acc": a} for s, a in ((42, 0.992), (0, 0.994), (1, 0.993))]
    path.write_text(json.dumps({"rows": rows, "machine": "a test machine"}))
    summary = seed_spread_summary(path)
    assert "3 seeds" in summary and "99.20% to 99.40%" in summary and "0.20 points" in summary
    assert "no seed-spread results" in seed_spread_summary(tmp_path / "missing.json")
    path.write_text("{")
    with pytest.raises(ParameterError, match="seed_spread.py"):
        seed_spread_summary(path)


def test_live_history_passes_records_on_first_and_prints_each_line(capsys):
    seen = []
    live = LiveHistory(seen.append, previous=[_record(1, 0.3, 0.07, 0.9, 0.97)], interactive=False)
    live(_record(2, 0.1, 0.05, 0.97, 0.98))
    assert [r["epoch"] for r in seen] == [2]
    assert [r["epoch"] for r in live.records] == [1, 2]
    assert capsys.readouterr().out.startswith("epoch 2: train loss 0.1000")
    live.finish()
    assert isinstance(live.figure, Figure)


def test_outside_a_kernel_the_frontend_is_not_interactive():
    assert is_interactive_frontend() is False


def test_pixel_grid_writes_every_non_zero_pixel():
    image = torch.zeros(28, 28, dtype=torch.uint8)
    image[3:6, 7] = torch.tensor([10, 200, 255], dtype=torch.uint8)
    fig = plot_pixel_grid(image)
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["10", "200", "255"]


def test_step_losses_and_reliability_figures_draw_their_data():
    fig = plot_step_losses([2.3 - 0.01 * i for i in range(50)], window=10)
    assert len(fig.axes[0].lines[0].get_xdata()) == 50
    table = reliability_table(torch.tensor([0.95, 0.55]), torch.tensor([True, False]))
    fig = plot_reliability_diagram(table)
    assert len(fig.axes) == 2


LIVE_SNIPPET = """
from mnist_helpers.teaching.live_curves import LiveHistory
live = LiveHistory()
for epoch in (1, 2, 3):
    live({"epoch": epoch, "train_loss": 1 / epoch, "val_loss": 1 / epoch, "train_acc": 0.9,
          "val_acc": 0.9, "seconds": 1.0})
print("interactive:", live.interactive)
"""


def _message_types(client, allow_stdin: bool) -> tuple[list[str], str]:
    msg_id = client.execute(LIVE_SNIPPET, allow_stdin=allow_stdin)
    types, text = [], ""
    while True:
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        types.append(kind)
        if kind == "stream":
            text += message["content"]["text"]
        if kind == "error":
            raise AssertionError("\n".join(message["content"]["traceback"]))
        if kind == "status" and message["content"]["execution_state"] == "idle":
            return types, text


@pytest.mark.slow
def test_live_curves_redraw_in_a_frontend_and_stay_quiet_headless():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env={"MPLBACKEND": "Agg"})
    try:
        # A person's frontend (JupyterLab) sends cells with stdin allowed: one figure, then updates.
        types, text = _message_types(client, allow_stdin=True)
        assert "interactive: True" in text
        assert types.count("display_data") == 1 and types.count("update_display_data") == 2
        # papermill and nbval send them without: no figure while training, lines only.
        types, text = _message_types(client, allow_stdin=False)
        assert "interactive: False" in text
        assert "display_data" not in types and "update_display_data" not in types
        assert "epoch 3: train loss" in text
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_class_balance_legend_sits_above_the_tallest_bar():
    from mnist_helpers.teaching.plots import plot_class_balance

    labels = torch.arange(10).repeat_interleave(torch.arange(1, 11) * 10)  # 10 to 100 per digit
    ax = plot_class_balance(labels, labels[:55]).axes[0]
    assert ax.get_ylim()[1] >= 1.2 * 100  # headroom for the legend, so it covers no bar


def test_per_class_chart_says_where_its_zoomed_axis_starts():
    from mnist_helpers.teaching.plots import plot_per_class_scores

    report = [{"precision": 0.99, "recall": 0.975, "f1": 0.98} for _ in range(10)]
    ax = plot_per_class_scores(report).axes[0]
    bottom = ax.get_ylim()[0]
    assert bottom == 96.0  # floor(97.5 - 1)
    assert "starts at 96 %" in ax.get_title()
    assert max(ax.get_yticks()) <= 100


def test_pixel_histogram_counts_every_pixel_on_both_scales():
    from mnist_helpers.teaching.plots import plot_pixel_histogram

    images = torch.tensor([[0, 0, 255], [128, 0, 255]], dtype=torch.uint8)[None]
    raw_ax, norm_ax = plot_pixel_histogram(images, mean=0.5, std=0.25).axes
    for ax in (raw_ax, norm_ax):
        assert sum(bar.get_height() for bar in ax.containers[0]) == 6
    # Normalised: black at (0 - 0.5) / 0.25 = -2, white at (1 - 0.5) / 0.25 = 2.
    bars = norm_ax.containers[0]
    centres = [b.get_x() + b.get_width() / 2 for b in bars if b.get_height() == 3]
    assert centres == [pytest.approx(-2.0)]


def test_probability_chart_shows_all_ten_on_a_log_scale():
    from mnist_helpers.teaching.plots import plot_probabilities

    logits = torch.tensor([0.0] * 9 + [20.0])
    logit_ax, prob_ax = plot_probabilities(logits).axes
    heights = [bar.get_height() for bar in prob_ax.patches]
    assert len(heights) == 10 and all(h > 0 for h in heights)  # no invisible sliver


def test_feature_maps_show_the_input_and_one_scale_per_row():
    from mnist_helpers.model import MnistCNN, feature_maps
    from mnist_helpers.teaching.plots import plot_feature_maps

    image = torch.randn(1, 1, 28, 28)
    fig = plot_feature_maps(image[0], feature_maps(MnistCNN(), image), per_layer=4)
    assert fig.axes[0].get_title() == "input"
    panels = [ax for ax in fig.axes[1:] if ax.images]  # colour bars hold no image
    assert len(panels) == 3 * 4
    for row in range(3):
        assert len({panel.images[0].get_clim() for panel in panels[row * 4 : row * 4 + 4]}) == 1


def test_the_confidence_histogram_draws_outlines_that_the_legend_names():
    from mnist_helpers.teaching.plots import plot_confidence_histogram

    confidence = torch.tensor([0.99, 0.95, 0.6, 0.55, 0.98])
    correct = torch.tensor([True, True, False, False, True])
    ax = plot_confidence_histogram(confidence, correct).axes[0]
    assert all(not patch.get_fill() for patch in ax.patches)  # no overlap can mix colours
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["right", "wrong"]


def test_the_probability_bars_say_where_they_start():
    from mnist_helpers.teaching.plots import plot_probabilities

    fig = plot_probabilities([8.0, 1.0, -2.0, 0.0, 0.5, -1.0, 2.0, 0.0, 1.0, -3.0])
    assert "bars start at 1e" in fig.axes[1].get_title()
