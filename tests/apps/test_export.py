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
