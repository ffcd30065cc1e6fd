"""Training loops on tiny synthetic data, plus one real short run on MNIST."""

import pytest
import torch

from mnist_helpers.errors import NonFiniteOutputError, TrainingDivergedError
from mnist_helpers.evaluate import evaluate, predict_logits
from mnist_helpers.loaders import TensorBatches
from mnist_helpers.model import MnistCNN
from mnist_helpers.train import CHANCE_LEVEL_ACC, fit, format_record, train_one_epoch


def _toy_loaders():
    """Two classes a CNN separates easily: ink in the top half or in the bottom half."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(128, 1, 28, 28, generator=generator) * 0.1
    labels = torch.arange(128) % 2
    images[labels == 0, :, :14] += 2.0
    images[labels == 1, :, 14:] += 2.0
    train = TensorBatches(images[:96], labels[:96], 16, shuffle=True, seed=0)
    val = TensorBatches(images[96:], labels[96:], 32)
    return train, val


def test_train_one_epoch_returns_numbers_and_learns():
    torch.manual_seed(0)
    train, val = _toy_loaders()
    model = MnistCNN(conv_channels=(4,), hidden_units=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = evaluate(model, val)
    result = train_one_epoch(model, train, optimizer, show_progress=False)
    for _ in range(3):
        train_one_epoch(model, train, optimizer, show_progress=False)
    after = evaluate(model, val)
    assert set(result) == {"loss", "acc"} and 0.0 <= result["acc"] <= 1.0
    assert after["loss"] < before["loss"]
    assert after["acc"] == 1.0


def test_fit_history_records_and_callback():
    torch.manual_seed(0)
    train, val = _toy_loaders()
    model = MnistCNN(conv_channels=(4,), hidden_units=8)
    seen = []
    history = fit(
        model,
        torch.optim.Adam(model.parameters()),
        train,
        val,
        epochs=2,
        on_epoch_end=seen.append,
        show_progress=False,
    )
    assert [r["epoch"] for r in history] == [1, 2]
    assert seen == history
    assert set(history[0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"}


def test_evaluate_matches_a_hand_computation():
    # 40 images in batches of 16: the last batch is short, so a mean of batch means would differ.
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(40, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (40,), generator=generator)
    torch.manual_seed(0)
    model = MnistCNN(conv_channels=(4,), hidden_units=8).eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for image, label in zip(images, labels, strict=True):  # one image at a time, no loader
            logits = model(image[None])[0].double()  # (10,)
            correct += int(logits.argmax() == label)
            loss_sum += (torch.logsumexp(logits, 0) - logits[label]).item()  # cross-entropy
    result = evaluate(model, TensorBatches(images, labels, 16))
    assert result["acc"] == pytest.approx(correct / 40)
    assert result["loss"] == pytest.approx(loss_sum / 40, rel=1e-5)


def test_predict_logits_returns_every_image_in_order():
    generator = torch.Generator().manual_seed(2)
    images = torch.randn(40, 1, 28, 28, generator=generator)
    labels = torch.arange(40) % 10
    model = MnistCNN(conv_channels=(4,), hidden_units=8).eval()
    logits, returned_labels = predict_logits(model, TensorBatches(images, labels, 16))
    assert logits.shape == (40, 10) and logits.dtype == torch.float32
    assert torch.equal(returned_labels, labels)
    with torch.no_grad():
        torch.testing.assert_close(logits, model(images), atol=1e-5, rtol=1e-5)


def test_a_diverging_run_stops_with_a_message_before_the_epoch_is_saved():
    torch.manual_seed(0)
    train, val = _toy_loaders()
    model = MnistCNN(conv_channels=(4,), hidden_units=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)  # the weights overflow at once
    saved = []
    with pytest.raises(TrainingDivergedError, match="diverged in epoch 1.*smaller lr"):
        fit(model, optimizer, train, val, epochs=2, on_epoch_end=saved.append, show_progress=False)
    assert saved == []


def test_a_run_no_better_than_guessing_ends_with_a_warning():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(160, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (160,), generator=generator)  # nothing to learn
    train = TensorBatches(images[:128], labels[:128], 32, shuffle=True, seed=0)
    val = TensorBatches(images[128:], labels[128:], 32)
    model = MnistCNN(conv_channels=(4,), hidden_units=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # and no learning at all
    history = fit(model, optimizer, train, val, epochs=2, show_progress=False)
    assert history[-1]["val_acc"] <= CHANCE_LEVEL_ACC
    assert "warning" not in history[0]
    assert "no better than guessing" in history[-1]["warning"]
    assert "warning: validation accuracy" in format_record(history[-1])


def test_non_finite_logits_are_refused_where_a_model_is_evaluated():
    model = MnistCNN(conv_channels=(4,), hidden_units=8)
    with torch.no_grad():
        model.classifier[-1].bias.fill_(float("nan"))
    _, val = _toy_loaders()
    with pytest.raises(NonFiniteOutputError, match="not finite numbers"):
        evaluate(model, val)
