"""ONNX export: onnxruntime matches PyTorch on every test image and any batch size; the CLI."""

from __future__ import annotations

import shutil
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
import torch

from mnist_helpers.apps.cli import main
from mnist_helpers.apps.export import (
    EXPORT_MODULES,
    INSTALL_HINT,
    export_onnx,
    read_onnx_metadata,
    verify_onnx,
)
from mnist_helpers.checkpoint import (
    load_checkpoint,
    make_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from mnist_helpers.data import normalize_images
from mnist_helpers.errors import MissingExtraError
from mnist_helpers.model import MnistCNN
from mnist_helpers.support.paths import ARTIFACTS_ENV

needs_export_extra = pytest.mark.skipif(
    any(find_spec(name) is None for name in EXPORT_MODULES),
    reason=f"needs the export extra: {INSTALL_HINT}",
)


@pytest.fixture
def untrained_checkpoint(tmp_path: Path) -> Path:
    """A valid checkpoint of a freshly initialised model: enough where accuracy does not matter."""
    torch.manual_seed(0)
    return save_checkpoint(make_checkpoint(MnistCNN()), tmp_path / "untrained.pt")


@pytest.fixture(scope="module")
def onnx_path(trained_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained checkpoint exported once for this module."""
    return export_onnx(trained_checkpoint, tmp_path_factory.mktemp("onnx") / "mnist_cnn.onnx")


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run_cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``python -m mnist_helpers export ARGS`` in this process: exit code, stdout, stderr."""
    code = main(["export", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_line_error(code: int, err: str, folder: Path) -> None:
    assert code == 2, err
    assert err.startswith("error: ")
    assert err.count("\n") == 1, err  # one line, no traceback
    assert not list(folder.rglob("*.onnx*")), "no ONNX file (or temporary) may be left"


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


@needs_export_extra
def test_cli_export_missing_checkpoint(tmp_path: Path, capsys) -> None:
    onnx = tmp_path / "model" / "mnist_cnn.onnx"
    code, _, err = _run_cli(
        "--checkpoint", str(tmp_path / "absent.pt"), "--onnx", str(onnx), capsys=capsys
    )
    _assert_one_line_error(code, err, tmp_path)
    assert "No checkpoint" in err


@needs_export_extra
def test_cli_export_broken_checkpoint(untrained_checkpoint: Path, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(untrained_checkpoint.read_bytes()[:5000])  # a download cut short
    onnx = tmp_path / "model" / "mnist_cnn.onnx"
    code, _, err = _run_cli("--checkpoint", str(broken), "--onnx", str(onnx), capsys=capsys)
    _assert_one_line_error(code, err, tmp_path)
    assert "not a readable PyTorch checkpoint" in err


def test_missing_extra_gives_install_hint(
    untrained_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(MissingExtraError, match="onnxruntime") as raised:
        verify_onnx(tmp_path / "any.onnx", untrained_checkpoint)
    assert INSTALL_HINT in str(raised.value)
    assert isinstance(raised.value, ImportError)
    out = tmp_path / "model" / "mnist_cnn.onnx"
    assert main(["export", "--checkpoint", str(untrained_checkpoint), "--onnx", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install -e ".[export]"' in err
    assert not out.parent.exists()


@needs_export_extra
def test_failed_save_leaves_no_file(
    untrained_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class HalfWritingProgram:
        """Stands in for torch's ONNXProgram: writes part of a file, then fails (disk full)."""

        model = type("Model", (), {"metadata_props": {}})()

        def save(self, destination: str, **kwargs: object) -> None:
            Path(destination).write_bytes(b"half an onnx file")
            raise OSError("No space left on device")

    monkeypatch.setattr(torch.onnx, "export", lambda *args, **kwargs: HalfWritingProgram())
    target = tmp_path / "model" / "mnist_cnn.onnx"
    with pytest.raises(OSError, match="No space"):
        export_onnx(untrained_checkpoint, target)
    assert list(target.parent.iterdir()) == []
