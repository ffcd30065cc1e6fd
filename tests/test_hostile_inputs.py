"""Inputs a hostile or unlucky user gives, through the entry points a user has: each ends in a
message that says what was wrong, never a silent wrong answer, a traceback, a hang or lost data.

The export, pipeline, run-folder and data-file cases live beside their modules' tests
(tests/apps/test_export.py, tests/runs/, tests/test_data_cache.py).
"""

from __future__ import annotations

import errno
import json
import math
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from mnist_helpers.apps.cli import main
from mnist_helpers.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from mnist_helpers.errors import ArtifactWriteError, CheckpointError, ParameterError, ResumeError
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.resume import check_resume_fits
from mnist_helpers.support import atomic_files
from mnist_helpers.support.atomic_files import write_json
from tests.helpers import small_model, tiny_checkpoint


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def digit_png(tmp_path: Path) -> Path:
    image = Image.new("L", (60, 60), 0)
    image.paste(255, (26, 10, 34, 50))  # a bar: a "1"
    path = tmp_path / "one.png"
    image.save(path)
    return path


# --- a model that is not numbers gives no answer -------------------------------------------------


def test_predict_with_a_nan_model_answers_nothing_and_names_the_file(tmp_path, digit_png, capsys):
    model = MnistCNN()
    with torch.no_grad():
        for weights in model.parameters():
            weights.fill_(math.nan)
    nan = save_checkpoint(make_checkpoint(model), tmp_path / "best.pt")
    code, out, err = _cli(capsys, "predict", str(digit_png), "--checkpoint", str(nan), "--json")
    assert code == 2 and out == ""
    assert str(nan) in err and "not finite numbers" in err and err.count("\n") == 1


def test_nan_never_reaches_a_json_file(tmp_path):
    with pytest.raises(ValueError, match="Out of range float values"):
        write_json({"acc": math.nan}, tmp_path / "metrics.json")
    assert not (tmp_path / "metrics.json").exists()


# --- a full disk while saving a checkpoint ---------------------------------------------------


def test_a_full_disk_while_saving_a_checkpoint_says_so_and_keeps_the_old_file(
    tmp_path, monkeypatch
):
    path = save_checkpoint(make_checkpoint(small_model()), tmp_path / "last.pt")
    before = path.read_bytes()
    real_open = open

    class FullDisk:
        """A file that takes the first kilobyte, then finds the disk full."""

        def __init__(self, file):
            self.file, self.written = file, 0

        def write(self, data):
            self.written += len(data)
            if self.written > 1024:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.file.write(data)

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.file.__exit__(*exc)

    monkeypatch.setattr(atomic_files, "open", lambda *a, **k: FullDisk(real_open(*a, **k)), False)
    with pytest.raises(ArtifactWriteError, match="disk is full.*room for both"):
        save_checkpoint(make_checkpoint(small_model()), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


# --- crafted checkpoints and odd values ------------------------------------------------------


def _resumable(tmp_path: Path, **params: object) -> dict:
    path = tiny_checkpoint(
        tmp_path / "last.pt",
        optimizer_state={},
        epoch=1,
        params={**TrainParams(recipe="constant", epochs=3).as_dict(), **params},
    )
    return torch.load(path, weights_only=True)


def test_a_seed_made_of_shared_nested_lists_is_refused_at_once(tmp_path):
    nested: list = [1]
    for _ in range(9):
        nested = [nested] * 10  # 10**9 leaves if walked
    checkpoint = _resumable(tmp_path, seed=nested)
    started = time.perf_counter()
    with pytest.raises(ResumeError, match="not plain values") as refused:
        check_resume_fits(checkpoint, TrainParams(recipe="constant", epochs=3), "last.pt")
    assert time.perf_counter() - started < 1.0
    assert len(str(refused.value)) < 400


def test_a_three_byte_random_state_is_refused_before_data_loads(tmp_path):
    checkpoint = {**_resumable(tmp_path), "rng_state": torch.zeros(3, dtype=torch.uint8)}
    with pytest.raises(ResumeError, match="random-number state"):
        check_resume_fits(checkpoint, TrainParams(recipe="constant", epochs=3), "last.pt")


def test_a_learning_rate_of_four_hundred_digits_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"lr must be a number.*got 1000000"):
        TrainParams(lr=10**400)


@pytest.mark.parametrize("name", ["artifacts_dir", "resume"])
def test_a_nul_byte_in_a_path_parameter_is_refused(name):
    with pytest.raises(ParameterError, match="NUL byte"):
        TrainParams(**{name: "art\0facts"})


def test_a_nul_byte_in_a_checkpoint_or_image_path_gets_a_message(tmp_path, capsys):
    with pytest.raises(CheckpointError, match="NUL byte"):
        load_checkpoint("best\0.pt")
    checkpoint = tiny_checkpoint(tmp_path / "c.pt")
    code, _, err = _cli(capsys, "predict", "a\0b.png", "--checkpoint", str(checkpoint))
    assert code == 1 and "NUL byte" in err and err.count("\n") == 1


def test_summary_of_a_deeply_nested_metrics_file_is_one_line(tmp_path, capsys):
    (tmp_path / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = _cli(capsys, "summary", "--artifacts", str(tmp_path))
    assert code == 1 and "cannot be read as the metrics" in err and err.count("\n") == 1


def test_summary_lists_run_files_only(tmp_path, capsys):
    metrics = {"acc": 0.99, "loss": 0.03, "num_images": 10_000, "epoch": 5}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / ".run.lock").write_text("")
    (tmp_path / ".history.json.123-0a1b2c3d.tmp").write_text("{")
    code, out, _ = _cli(capsys, "summary", "--artifacts", str(tmp_path))
    assert code == 0 and "metrics.json" in out
    assert ".run.lock" not in out and ".tmp" not in out


def test_summary_of_a_blank_folder_is_refused_and_a_blank_variable_is_unset(
    tmp_path, monkeypatch, capsys
):
    code, _, err = _cli(capsys, "summary", "--artifacts", "")
    assert code == 2 and "artifacts folder is blank" in err
    monkeypatch.setenv("MNIST_ARTIFACTS_DIR", "   ")
    monkeypatch.chdir(tmp_path)
    from mnist_helpers.support.paths import artifacts_dir

    assert artifacts_dir().name == "artifacts"


def test_a_file_name_that_is_not_utf8_does_not_stop_the_next_answers(
    tmp_path, digit_png, capsysbinary
):
    import os

    odd = Path(os.fsdecode(str(tmp_path).encode() + b"/caf\xe9.png"))
    odd.write_bytes(digit_png.read_bytes())
    checkpoint = tiny_checkpoint(tmp_path / "c.pt")
    code = main(["predict", str(odd), str(digit_png), "--checkpoint", str(checkpoint)])
    out = capsysbinary.readouterr().out.decode("utf-8", "replace")
    assert code == 0
    assert out.count("\n") == 2 and "one.png" in out  # both images answered


@pytest.mark.parametrize("source", ["La", "bfloat16"])
def test_unusual_image_inputs_are_read(source):
    from mnist_helpers.images.image_files import to_float_array

    image = Image.new("La", (40, 40)) if source == "La" else torch.rand(28, 28).bfloat16()
    assert to_float_array(image).ndim in (2, 3)


def test_an_eps_file_is_not_handed_to_ghostscript(tmp_path, capsys):
    eps = tmp_path / "drawing.eps"
    eps.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    checkpoint = tiny_checkpoint(tmp_path / "c.pt")
    code, _, err = _cli(capsys, "predict", str(eps), "--checkpoint", str(checkpoint))
    assert code == 1 and "not an image file PIL can read (PNG, JPEG" in err
