"""The slow half of test_export.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from mnist_helpers.apps.export import (
    export_onnx,
    read_onnx_metadata,
    verify_onnx,
)
from mnist_helpers.checkpoint import (
    load_checkpoint,
    model_from_checkpoint,
)
from mnist_helpers.data import normalize_images
from mnist_helpers.support.paths import ARTIFACTS_ENV
from tests.apps.test_export import _run_cli, needs_export_extra


@pytest.fixture(scope="module")
def onnx_path(trained_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained checkpoint exported once for this module."""
    path, report = export_onnx(trained_checkpoint, tmp_path_factory.mktemp("onnx") / "model.onnx")
    assert report["passed"]
    return path


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.slow
@needs_export_extra
def test_onnxruntime_matches_pytorch_on_all_test_images(
    onnx_path: Path, trained_checkpoint: Path, mnist_test_split
) -> None:
    norm = load_checkpoint(trained_checkpoint)["normalization"]
    images = normalize_images(mnist_test_split.images, norm["mean"], norm["std"])
    report = verify_onnx(onnx_path, trained_checkpoint, images)
    print(
        f"max abs logit difference {report['max_abs_diff']:.2e}, "
        f"classes agree on {report['num_agree']} of {report['num_images']}"
    )
    assert report["num_images"] == 10_000
    assert report["max_abs_diff"] <= 1e-4
    assert report["classes_agree"] and report["num_agree"] == 10_000
    assert report["passed"]


@pytest.mark.slow
@needs_export_extra
@pytest.mark.parametrize("batch_size", [1, 37])
def test_onnx_model_takes_any_batch_size(
    onnx_path: Path, trained_checkpoint: Path, mnist_test_split, batch_size: int
) -> None:
    session = _session(onnx_path)
    (declared,) = session.get_inputs()
    assert declared.name == "images" and isinstance(declared.shape[0], str)  # symbolic N
    assert [output.name for output in session.get_outputs()] == ["logits"]
    checkpoint = load_checkpoint(trained_checkpoint)
    norm = checkpoint["normalization"]
    images = normalize_images(mnist_test_split.images[100 : 100 + batch_size], **norm)
    (logits,) = session.run(["logits"], {"images": images.numpy()})
    assert logits.shape == (batch_size, 10)
    with torch.no_grad():
        expected = model_from_checkpoint(checkpoint)(images)
    torch.testing.assert_close(torch.from_numpy(logits), expected, atol=1e-4, rtol=0)


@pytest.mark.slow
@needs_export_extra
def test_onnx_file_describes_its_inputs(onnx_path: Path, trained_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(trained_checkpoint)
    metadata = read_onnx_metadata(onnx_path)
    assert metadata["normalization"] == checkpoint["normalization"]
    assert metadata["class_names"] == checkpoint["class_names"]
    assert metadata["model_args"] == checkpoint["model_args"]


@pytest.mark.slow
@needs_export_extra
def test_cli_export_with_default_paths(
    trained_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv(ARTIFACTS_ENV, str(artifacts))  # where the default paths point
    (artifacts / "checkpoints").mkdir(parents=True)
    shutil.copy(trained_checkpoint, artifacts / "checkpoints" / "best.pt")
    code, out, err = _run_cli(capsys=capsys)
    assert code == 0, err
    assert sorted(p.name for p in (artifacts / "model").iterdir()) == ["mnist_cnn.onnx"]
    assert "MB)" in out
    assert "agree on 10,000 of 10,000" in out
    assert "max abs logit difference" in out
