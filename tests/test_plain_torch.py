"""The saved model works with torch alone: the README snippet, run without mnist_helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mnist_helpers.checkpoint import (
    inference_checkpoint,
    make_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from mnist_helpers.data import normalize_images
from mnist_helpers.model import MnistCNN

# What a README reader copies: torch only, run from a folder holding artifacts/model/mnist_cnn.pt.
SNIPPET = '''\
from collections import OrderedDict

import torch
from torch import nn

checkpoint = torch.load("artifacts/model/mnist_cnn.pt", map_location="cpu", weights_only=True)
args = checkpoint["model_args"]

# Rebuild the network from its recorded arguments. Layer positions give the weight names
# (features.0.weight, classifier.2.bias, ...), so the order below must stay as it is.
features, in_channels, bias = [], 1, not args["batch_norm"]
for out_channels in args["conv_channels"]:
    convs = args.get("convs_per_block", 1)
    for _ in range(convs):
        features.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias))
        if args["batch_norm"]:
            features.append(nn.BatchNorm2d(out_channels))
        features.append(nn.ReLU())
        in_channels = out_channels
    features.append(nn.MaxPool2d(2))  # halves the side: 28 -> 14 -> 7 -> 3
side = 28 // 2 ** len(args["conv_channels"])
classifier = [
    nn.Flatten(),
    nn.Dropout(args["dropout"]),  # does nothing in eval mode; keeps the positions of the weights
    nn.Linear(in_channels * side * side, args["hidden_units"]),
    nn.ReLU(),
    nn.Dropout(args["dropout"]),
    nn.Linear(args["hidden_units"], len(checkpoint["class_names"])),
]
model = nn.Sequential(
    OrderedDict(features=nn.Sequential(*features), classifier=nn.Sequential(*classifier))
)
model.load_state_dict(checkpoint["model_state"])
model.eval()


def classify(images):
    """uint8 images (N, 28, 28), white digit on black as in MNIST, to (logits, class names)."""
    norm = checkpoint["normalization"]
    x = ((images.float() / 255 - norm["mean"]) / norm["std"]).unsqueeze(1)  # (N, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)  # (N, 10)
    return logits, [checkpoint["class_names"][i] for i in logits.argmax(1)]
'''


def snippet_in_this_process(
    checkpoint: dict, images: torch.Tensor, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> dict:
    """Run SNIPPET with exec, from ``folder``: the same code, without a new interpreter's start.

    That the snippet needs nothing but torch is checked by test_snippet_needs_only_torch and by
    the fresh interpreter in test_plain_torch_predicts_like_mnist_helpers.
    """
    save_checkpoint(checkpoint, folder / "artifacts" / "model" / "mnist_cnn.pt")
    monkeypatch.chdir(folder)  # the snippet opens artifacts/model/mnist_cnn.pt from here
    namespace: dict = {"__name__": "snippet"}
    exec(compile(SNIPPET, "plain_torch.py", "exec"), namespace)
    logits, names = namespace["classify"](images.clone())
    return {"logits": logits, "names": names}


def mnist_helpers_answers(checkpoint: dict, images: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
    """The same images through mnist_helpers, for comparison."""
    model = model_from_checkpoint(checkpoint)
    with torch.no_grad():
        logits = model(normalize_images(images, **checkpoint["normalization"]))
    return logits, [checkpoint["class_names"][i] for i in logits.argmax(1)]


def test_plain_torch_rebuilds_batch_norm_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The strong recipe's options (batch norm, dropout) and another depth, with non-trivial
    # running statistics so that a BatchNorm misplaced by the snippet would change the logits.
    torch.manual_seed(0)
    model = MnistCNN(
        conv_channels=(8, 16, 16, 8),
        hidden_units=24,
        dropout=0.2,
        batch_norm=True,
        convs_per_block=2,
    )
    for layer in model.features:
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
    checkpoint = inference_checkpoint(make_checkpoint(model))
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8)
    answers = snippet_in_this_process(checkpoint, images, tmp_path, monkeypatch)
    logits, names = mnist_helpers_answers(checkpoint, images)
    assert answers["names"] == names
    torch.testing.assert_close(answers["logits"], logits, atol=1e-5, rtol=0)


def test_readme_shows_the_tested_snippet() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert SNIPPET.strip() in readme, "README's plain-torch snippet differs from the tested one"


def test_snippet_needs_only_torch() -> None:
    # The README copy imports nothing but torch (and the standard library).
    imports = [line for line in SNIPPET.splitlines() if line.startswith(("import ", "from "))]
    assert imports == [
        "from collections import OrderedDict",
        "import torch",
        "from torch import nn",
    ]
