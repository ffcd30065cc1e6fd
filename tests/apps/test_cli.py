"""The command line, run in-process through ``mnist_helpers.apps.cli.main``: it validates its
options, never overwrites its own input, and every bad input ends in one line that says what was
wrong."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from mnist_helpers.apps.cli import DEFAULT_CHECKPOINT, main
from mnist_helpers.apps.export import EXPORT_MODULES, export_onnx
from mnist_helpers.checkpoint import make_checkpoint, save_checkpoint
from mnist_helpers.errors import ParameterError
from mnist_helpers.model import MnistCNN
from mnist_helpers.predict import STATUSES

needs_export_extra = pytest.mark.skipif(
    any(find_spec(name) is None for name in EXPORT_MODULES),
    reason="needs the export extra",
)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    """A small valid checkpoint of a freshly initialised model (no training)."""
    torch.manual_seed(0)
    return save_checkpoint(make_checkpoint(MnistCNN()), tmp_path / "ckpt.pt")


@pytest.fixture
def digit_png(tmp_path: Path) -> Path:
    """A black ring on white, like a drawn "0"."""
    image = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(image).ellipse((40, 20, 100, 120), outline=0, width=10)
    path = tmp_path / "zero.png"
    image.save(path)
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# Export never overwrites the checkpoint it reads.


@pytest.mark.parametrize("spelling", ["same path", "relative with ..", "symlink", "hard link"])
def test_export_refuses_to_overwrite_its_own_checkpoint(
    checkpoint: Path,
    tmp_path: Path,
    spelling: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = checkpoint.read_bytes()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    onnx = {
        "same path": str(checkpoint),
        "relative with ..": "sub/../ckpt.pt",
        "symlink": "link.onnx",
        "hard link": "hard.onnx",
    }[spelling]
    if spelling == "symlink":
        Path("link.onnx").symlink_to(checkpoint)
    if spelling == "hard link":
        os.link(checkpoint, "hard.onnx")
    assert main(["export", "--checkpoint", "ckpt.pt", "--onnx", onnx]) == 2
    assert "is the checkpoint being exported" in _one_line_error(capsys)
    assert checkpoint.read_bytes() == before


def test_export_onnx_function_refuses_to_overwrite_its_checkpoint(checkpoint: Path) -> None:
    before = checkpoint.read_bytes()
    with pytest.raises(ParameterError, match="is the checkpoint being exported"):
        export_onnx(checkpoint, checkpoint.parent / "." / checkpoint.name)
    assert checkpoint.read_bytes() == before


def test_export_refuses_the_default_checkpoint_as_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MNIST_ARTIFACTS_DIR", str(tmp_path))
    default = tmp_path / DEFAULT_CHECKPOINT
    default.parent.mkdir(parents=True)
    torch.manual_seed(0)
    save_checkpoint(make_checkpoint(MnistCNN()), default)
    before = default.read_bytes()
    assert main(["export", "--onnx", str(default)]) == 2
    assert "is the checkpoint being exported" in _one_line_error(capsys)
    assert default.read_bytes() == before


@needs_export_extra
def test_export_on_a_full_disk_says_so_and_leaves_nothing(
    checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    class DiskFullProgram:
        """Stands in for torch's ONNXProgram: writes part of the file, then the disk is full."""

        model = type("Model", (), {"metadata_props": {}})()

        def save(self, destination: str, **kwargs: object) -> None:
            Path(destination).write_bytes(b"half an onnx file")
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch.onnx, "export", lambda *args, **kwargs: DiskFullProgram())
    out = tmp_path / "model" / "mnist_cnn.onnx"
    assert main(["export", "--checkpoint", str(checkpoint), "--onnx", str(out)]) == 2
    assert "the disk is full" in _one_line_error(capsys)
    assert list(out.parent.iterdir()) == []  # no ONNX file, no temporary


# Files that are not what they should be.


# What each kind of wrong path is called in the error message.
BAD_PATH_MESSAGES = {
    "fifo": "is not a regular file: it is a FIFO",
    "/dev/zero": "is not a regular file: it is a device",
    "symlink loop": "is a symlink loop",
    "directory": "is a directory",
}


def _bad_path(path: Path, kind: str) -> Path:
    """Make ``path`` the ``kind`` of thing that is not a regular file (or name /dev/zero)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink loop":
        path.symlink_to(path)
    elif kind == "directory":
        path.mkdir()
    else:
        return Path(kind)
    return path


@pytest.mark.timeout(20)  # opening a FIFO would block: fail instead of hanging
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "symlink loop", "directory"])
def test_predict_names_what_is_wrong_with_an_image_path(
    checkpoint: Path, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bad_path(tmp_path / "image.png", kind)
    assert main(["predict", str(path), "--checkpoint", str(checkpoint)]) == 1
    assert BAD_PATH_MESSAGES[kind] in _one_line_error(capsys)


def _onnx_like(path: Path) -> Path:
    """The first bytes of an ONNX ModelProto (ir_version, producer "pytorch", a graph field)."""
    path.write_bytes(b"\x08\x0a\x12\x07pytorch\x1a\x062.14.1:" + bytes(range(200)))
    return path


@pytest.mark.timeout(20)
@pytest.mark.parametrize("command", ["predict", "export"])
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "symlink loop", "directory", "onnx"])
def test_bad_checkpoint_paths_get_their_own_message(
    digit_png: Path, tmp_path: Path, kind: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if kind == "onnx":
        path = _onnx_like(tmp_path / "mnist_cnn.onnx")
    else:
        path = _bad_path(tmp_path / "model.pt", kind)
    args = [str(digit_png)] if command == "predict" else ["--onnx", str(tmp_path / "o.onnx")]
    if command == "export" and any(find_spec(name) is None for name in EXPORT_MODULES):
        pytest.skip("export checks the extra before the checkpoint")
    assert main([command, *args, "--checkpoint", str(path)]) == 2
    err = _one_line_error(capsys)
    expected = {**BAD_PATH_MESSAGES, "onnx": "looks like an ONNX model"}[kind]
    assert expected in err
    assert "No checkpoint" not in err and "weights_only" not in err


@pytest.mark.parametrize("value", ["0", "-1", "11", "three", "2.5"])
def test_predict_top_must_be_1_to_10(
    digit_png: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["predict", str(digit_png), "--top", value])
    assert raised.value.code == 2
    assert "argument --top: must be a whole number from 1 to 10" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["2", "-0.1", "nan", "inf", "high"])
def test_predict_unsure_below_must_be_a_probability(
    digit_png: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["predict", str(digit_png), "--unsure-below", value])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "argument --unsure-below: must be a probability from 0 to 1" in err


def test_predict_accepts_the_edges_of_its_ranges(
    checkpoint: Path, digit_png: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in (["--top", "1", "--unsure-below", "0"], ["--top", "10", "--unsure-below", "1"]):
        args = ["predict", str(digit_png), "--checkpoint", str(checkpoint), "--json", *extra]
        assert main(args) == 0
        record = json.loads(capsys.readouterr().out)
        assert len(record["top"]) == int(extra[1])


def test_predict_json_carries_the_status(
    checkpoint: Path, digit_png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    args = ["predict", str(digit_png), str(blank), "--checkpoint", str(checkpoint), "--json"]
    assert main(args) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in records] == [str(digit_png), str(blank)]
    assert all(r["status"] in STATUSES for r in records)
    assert records[1]["status"] == "blank" and records[1]["digit"] is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"acc": 0.99, "loss": 0.0', "Expecting"),  # cut short
        (b"[0.99]", "JSON list"),
        (b'{"acc": 0.99, "loss": 0.03, "epoch": 5}', "'num_images' is missing"),
        (b'{"acc": "high", "loss": 0.03, "epoch": 5, "num_images": 10000}', "'acc'"),
        (b"\xff\xfe\x00garbage", "utf-8"),
    ],
)
def test_summary_explains_a_broken_metrics_file_in_one_line(
    tmp_path: Path, content: bytes, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "metrics.json").write_bytes(content)
    assert main(["summary", "--artifacts", str(tmp_path)]) == 1
    err = _one_line_error(capsys)
    assert "cannot be read as the metrics of a run" in err and reason in err


@pytest.mark.timeout(20)
def test_summary_does_not_block_on_a_fifo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "metrics.json")
    assert main(["summary", "--artifacts", str(tmp_path)]) == 1
    assert "is not a regular file" in _one_line_error(capsys)


def test_summary_prints_a_good_metrics_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = {"acc": 0.9912, "loss": 0.0281, "epoch": 5, "num_images": 10_000}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    assert main(["summary", "--artifacts", str(tmp_path)]) == 0
    assert "test accuracy 99.12% on 10,000 images (loss 0.0281, epoch 5)" in capsys.readouterr().out


@pytest.mark.parametrize("arguments", [["--help"], ["predict", "--help"], ["export", "--help"]])
def test_help_answers_without_importing_torch(arguments):
    script = (
        "import sys, runpy\n"
        f"sys.argv = ['mnist_helpers', *{arguments!r}]\n"
        "try:\n    runpy.run_module('mnist_helpers', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "usage:" in done.stdout
    assert done.stdout.rstrip().endswith("torch imported: False")
