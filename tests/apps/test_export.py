"""ONNX export: onnxruntime matches PyTorch on every test image and any batch size; the CLI."""

from __future__ import annotations

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
    verify_onnx,
)
from mnist_helpers.checkpoint import (
    make_checkpoint,
    save_checkpoint,
)
from mnist_helpers.errors import MissingExtraError
from mnist_helpers.model import MnistCNN

needs_export_extra = pytest.mark.skipif(
    any(find_spec(name) is None for name in EXPORT_MODULES),
    reason=f"needs the export extra: {INSTALL_HINT}",
)


@pytest.fixture
def untrained_checkpoint(tmp_path: Path) -> Path:
    """A valid checkpoint of a freshly initialised model: enough where accuracy does not matter."""
    torch.manual_seed(0)
    return save_checkpoint(make_checkpoint(MnistCNN()), tmp_path / "untrained.pt")


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


# --- a bad model or a failed check never replaces the good file --------------------------------
# Each exports for real (seconds): the slow tier.

FEW = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))  # images to check on


def _nan_checkpoint(path: Path) -> Path:
    """A checkpoint whose every weight is NaN, saved as a trained one would be."""
    model = MnistCNN()
    with torch.no_grad():
        for weights in model.parameters():
            weights.fill_(float("nan"))
    return save_checkpoint(make_checkpoint(model), path)


@pytest.fixture
def good_onnx(untrained_checkpoint: Path, tmp_path: Path) -> Path:
    """A verified export already in place, as make run leaves it."""
    path, report = export_onnx(untrained_checkpoint, tmp_path / "model" / "mnist_cnn.onnx", FEW)
    assert report["passed"]
    return path


@pytest.mark.slow
@needs_export_extra
def test_export_of_a_nan_model_is_refused_and_keeps_the_good_file(
    good_onnx: Path, tmp_path: Path, capsys
) -> None:
    before = good_onnx.read_bytes()
    nan = _nan_checkpoint(tmp_path / "nan.pt")
    code, out, err = _run_cli("--checkpoint", str(nan), "--onnx", str(good_onnx), capsys=capsys)
    assert code == 2 and out == ""
    assert "not finite numbers (NaN or infinity)" in err and str(nan) in err
    assert good_onnx.read_bytes() == before
    assert sorted(p.name for p in good_onnx.parent.iterdir()) == [good_onnx.name]


@pytest.mark.slow
@needs_export_extra
def test_a_failed_check_keeps_the_previous_file_and_leaves_no_temporary(
    good_onnx: Path, untrained_checkpoint: Path, monkeypatch, capsys
) -> None:
    from mnist_helpers.apps import export

    before = good_onnx.read_bytes()
    real_verify = export.verify_onnx

    def disagreeing(path, checkpoint, images=None, **kwargs):
        assert Path(path) != good_onnx  # the check runs on the new file, not in place
        return {**real_verify(path, checkpoint, images, **kwargs), "passed": False}

    monkeypatch.setattr(export, "verify_onnx", disagreeing)
    code, _, err = _run_cli(
        "--checkpoint", str(untrained_checkpoint), "--onnx", str(good_onnx), capsys=capsys
    )
    assert code == 1
    assert "disagrees" in err and "previous file" in err
    assert good_onnx.read_bytes() == before
    assert sorted(p.name for p in good_onnx.parent.iterdir()) == [good_onnx.name]


@pytest.mark.slow
@needs_export_extra
def test_an_interrupted_check_keeps_the_previous_file(
    good_onnx: Path, untrained_checkpoint: Path, monkeypatch
) -> None:
    from mnist_helpers.apps import export

    before = good_onnx.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # the stop button during the check

    monkeypatch.setattr(export, "verify_onnx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(untrained_checkpoint, good_onnx, FEW)
    assert good_onnx.read_bytes() == before


def test_an_empty_onnx_path_is_a_usage_error(untrained_checkpoint: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["export", "--checkpoint", str(untrained_checkpoint), "--onnx", ""])
    assert stopped.value.code == 2
    assert "must name a file" in capsys.readouterr().err
