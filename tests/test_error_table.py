"""Every row of the README's "When things go wrong" table has a trigger that raises that error.

The table's first column quotes the start of each message in backticks; a row may quote several
alternatives separated by `` / ``. In a quote, ``...`` stands for any text, ``<name>`` for one
word such as a file name, a lone ``N`` for a number, and a relative path such as
``data/mnist/...`` may sit under another folder (the triggers work in temporary folders).

To add a row: write it in the README, then add an entry to TRIGGERS whose key is the quoted text
and whose function raises the error (fast: no training, tiny synthetic files).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from mnist_helpers.errors import MnistHelpersError
from tests.helpers import REPO_ROOT, png_claiming_size, small_model, tiny_checkpoint

README_HEADER = "| message starts with |"
LABEL_FILE = "t10k-labels-idx1-ubyte"  # the smallest shipped file (4.5 kB)

Trigger = Callable[[Path, pytest.MonkeyPatch], object]


def table_quotes(readme: str) -> list[str]:
    """The backticked messages in the first column of the README's error table, in order."""
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(README_HEADER))
    quotes = []
    for line in lines[start + 2 :]:  # after the header and the |---| line
        if not line.startswith("|"):
            break
        first_cell = line.split(" | ")[0]
        quotes += re.findall(r"`([^`]+)`", first_cell)
    return quotes


def quote_pattern(quote: str) -> re.Pattern[str]:
    """A regular expression matching messages that start as ``quote`` says."""
    pattern, word_start = "", True
    quote = re.sub(r"\s*\.\.\.\s*", "...", quote)  # "1 ..." also matches "1; got 0"
    for token in re.split(r"(\.\.\.|<[^>]+>|\bN\b|\s+)", quote):
        if token == "...":
            pattern += ".*?"
        elif token.startswith("<") and token.endswith(">"):
            pattern += r"[\w.-]+"
        elif token == "N":
            pattern += r"\d+"
        elif token.isspace():
            pattern += r"\s+"
        elif token:
            # A path relative to the repository may be shown under the folder it was found in.
            is_path = word_start and "/" in token and token[0].isalnum()
            pattern += (r"(?:\S*/)?" if is_path else "") + re.escape(token)
        word_start = token.isspace() or (token == "" and word_start)
    return re.compile(pattern, re.DOTALL)


# --- the triggers: each raises the error its key quotes ---------------------------------------


def _bad_parameter(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams

    return TrainParams(epochs=0)


def _absent_cuda(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a GPU machine
    return TrainParams(device="cuda")


def _shipped_label_file(tmp: Path) -> Path:
    """A copy of one shipped .gz file under ``tmp/data/mnist``, safe to damage."""
    path = tmp / "data" / "mnist" / f"{LABEL_FILE}.gz"
    path.parent.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "data" / "mnist" / path.name, path)
    return path


def _corrupt_data_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.data import verified_mnist_bytes

    path = _shipped_label_file(tmp)
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] ^= 0xFF  # one flipped byte, still a valid gzip file
    path.write_bytes(gzip.compress(bytes(raw)))
    return verified_mnist_bytes(LABEL_FILE, tmp / "data")


def _truncated_data_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.data import verified_mnist_bytes

    path = _shipped_label_file(tmp)
    path.write_bytes(path.read_bytes()[:1000])
    return verified_mnist_bytes(LABEL_FILE, tmp / "data")


def _missing_data_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.data import verified_mnist_bytes

    (tmp / "data" / "mnist").mkdir(parents=True)
    return verified_mnist_bytes(LABEL_FILE, tmp / "data")


def _missing_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    return load_checkpoint(tmp / "artifacts" / "checkpoints" / "best.pt")


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this should never run",))


def _pickle_with_code(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    path = tmp / "evil.pt"
    torch.save({"format_version": 1, "payload": _RunsCode()}, path)
    return load_checkpoint(path)


def _not_a_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    path = tmp / "noise.pt"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    return load_checkpoint(path)


def _bare_state_dict(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    path = tmp / "bare.pt"
    torch.save(small_model().state_dict(), path)
    return load_checkpoint(path)


def _newer_format(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    return load_checkpoint(tiny_checkpoint(tmp / "newer.pt", format_version=99))


def _other_architecture(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint, model_from_checkpoint

    checkpoint = load_checkpoint(tiny_checkpoint(tmp / "c.pt"))
    checkpoint["model_args"]["hidden_units"] = 99  # the weights are for 16
    return model_from_checkpoint(checkpoint)


def _blank_image(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.images.preprocess import preprocess_image

    return preprocess_image(np.zeros((280, 280), dtype=np.uint8))


def _text_file_as_image(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.images.preprocess import preprocess_image

    path = tmp / "digit.png"
    path.write_text("not an image")
    return preprocess_image(path)


def _empty_image_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.images.preprocess import preprocess_image

    path = tmp / "digit.png"
    path.write_bytes(b"")
    return preprocess_image(path)


def _truncated_image_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from PIL import Image

    from mnist_helpers.images.preprocess import preprocess_image

    full = tmp / "full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), np.uint8)).save(full)
    cut = tmp / "cut.png"
    cut.write_bytes(full.read_bytes()[:600])
    return preprocess_image(cut)


def _huge_image_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.images.preprocess import preprocess_image

    # Over the project's cap, under PIL's own limits: the project's check answers.
    return preprocess_image(png_claiming_size(tmp / "huge.png", 9_000, 9_000))


def _decompression_bomb(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.images.preprocess import preprocess_image

    # Past twice PIL's own limit: PIL refuses while reading the header.
    return preprocess_image(png_claiming_size(tmp / "bomb.png", 40_000, 40_000))


def _array_with_nan(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.images.preprocess import preprocess_image

    return preprocess_image(np.array([[0.0, np.nan], [0.0, 1.0]]))


def _array_of_wrong_shape(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.images.preprocess import preprocess_image

    return preprocess_image(np.zeros((2, 3, 4, 5)))


def _bf16_on_old_gpu(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.device import autocast_dtype

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    return autocast_dtype("bf16", torch.device("cuda"))


def _bf16_elsewhere(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.device import autocast_dtype

    return autocast_dtype("bf16", torch.device("mps"))


def _export_extra_missing(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.apps.export import require_export_extra

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    return require_export_extra()


def _unknown_parameter(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams

    # The notebook namespace papermill leaves: its injected cell sets a name 02_train lacks.
    return TrainParams.from_notebook({"In": ["# Parameters\nepoch = 1\n"]})


def _tiny_validation_split(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams

    return TrainParams(val_fraction=1e-6)


def _bad_small_run_switch(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams

    return TrainParams.from_notebook({}, environ={"MNIST_SMALL_RUN": "maybe"})


def _busy_run_folder(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    import fcntl

    from mnist_helpers.runs.run_folder import LOCK_NAME, open_run_folder

    # A second open file holding the lock conflicts exactly as another process's would.
    handle = os.open(tmp / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return open_run_folder(tmp)
    finally:
        os.close(handle)


def _unwritable_artifacts_dir(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.run_folder import prepare_artifacts_dir

    (tmp / "a-file").write_text("in the way")
    return prepare_artifacts_dir(tmp / "a-file" / "artifacts")  # a file where a folder must be


def _directory_as_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    return load_checkpoint(tmp)


def _device_as_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    fifo = tmp / "pipe.pt"
    os.mkfifo(fifo)  # reading a FIFO with no writer would block forever
    return load_checkpoint(fifo)


def _symlink_loop(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    loop = tmp / "loop.pt"
    loop.symlink_to(loop)
    return load_checkpoint(loop)


def _empty_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    (tmp / "empty.pt").touch()
    return load_checkpoint(tmp / "empty.pt")


def _onnx_as_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    # The first bytes of an ONNX protobuf: ir_version, then producer_name "pytorch".
    path = tmp / "model.onnx"
    path.write_bytes(b"\x08\x0a\x12\x07pytorch" + bytes(100))
    return load_checkpoint(path)


def _oversized_model_args(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint, validate_checkpoint

    checkpoint = load_checkpoint(tiny_checkpoint(tmp / "c.pt"))
    checkpoint["model_args"] = {**checkpoint["model_args"], "hidden_units": 2**20}
    return validate_checkpoint(checkpoint)


def _export_over_its_input(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.apps.export import export_onnx

    checkpoint = tiny_checkpoint(tmp / "c.pt")
    return export_onnx(checkpoint, tmp / "." / "c.pt")


def _disk_full(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    import errno

    from mnist_helpers.checkpoint import save_checkpoint

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # A real full disk cannot be made here; a full disk often first shows when the written data
    # is flushed, so the fsync inside atomic_write fails as it would then.
    monkeypatch.setattr(os, "fsync", no_space)
    return save_checkpoint({"format_version": 1}, tmp / "c.pt")


def _training_checkpoint(recipe: str, *, epoch: int = 2, **changes: object) -> dict:
    """A last.pt-like checkpoint of ``recipe``'s model after ``epoch`` epochs of 5 planned."""
    from mnist_helpers.checkpoint import make_checkpoint
    from mnist_helpers.model import MnistCNN
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.recipes import get_recipe

    model = MnistCNN(**get_recipe(recipe).model_args)
    checkpoint = make_checkpoint(
        model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epoch=epoch,
        params=TrainParams(recipe=recipe, epochs=5).as_dict(),
        run_id="run-a",
    )
    checkpoint.update(changes)
    return checkpoint


def _resume_inference_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import check_resume_fits

    checkpoint = _training_checkpoint("constant", optimizer_state=None)
    return check_resume_fits(checkpoint, TrainParams(recipe="constant", epochs=5), "mnist_cnn.pt")


def _resume_changed_lr(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import check_resume_fits

    params = TrainParams(recipe="constant", epochs=5, lr=0.05)
    return check_resume_fits(_training_checkpoint("constant"), params, "last.pt")


def _resume_other_model(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import check_resume_fits

    checkpoint = _training_checkpoint("constant", model_args=dict(small_model().config))
    return check_resume_fits(checkpoint, TrainParams(recipe="constant", epochs=5), "last.pt")


def _resume_nothing_left(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import check_resume_fits

    checkpoint = _training_checkpoint("constant", epoch=2)
    return check_resume_fits(checkpoint, TrainParams(recipe="constant", epochs=2), "last.pt")


def _resume_stretched_schedule(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import check_resume_fits

    params = TrainParams(recipe="default", epochs=9)  # the run planned 5
    return check_resume_fits(_training_checkpoint("default"), params, "last.pt")


def _resume_best_of_another_run(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import save_checkpoint
    from mnist_helpers.runs.layout import BEST_CHECKPOINT, LAST_CHECKPOINT
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import resume_checkpoint
    from mnist_helpers.runs.run_folder import open_run_folder

    history = [{"epoch": 1, "val_acc": 0.9}, {"epoch": 2, "val_acc": 0.8}]  # epoch 1 is best
    last = _training_checkpoint("constant", epoch=2, history=history)
    best = _training_checkpoint("constant", epoch=1, history=history[:1], run_id="run-b")
    save_checkpoint(last, tmp / LAST_CHECKPOINT)
    save_checkpoint(best, tmp / BEST_CHECKPOINT)  # from another run: files mixed by hand
    params = TrainParams(recipe="constant", epochs=5, resume=str(LAST_CHECKPOINT))
    with open_run_folder(tmp) as run:
        return resume_checkpoint(params, run)


def _nan_weights(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    model = small_model()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    return load_checkpoint(tiny_checkpoint(tmp / "c.pt", model_state=model.state_dict()))


def _tiny_std(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    path = tiny_checkpoint(tmp / "c.pt", normalization={"mean": 0.13, "std": 1e-300})
    return load_checkpoint(path)


def _compressed_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    import zipfile

    from mnist_helpers.checkpoint import load_checkpoint

    stored, deflated = tiny_checkpoint(tmp / "c.pt"), tmp / "d.pt"
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(deflated, "w") as target:
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry), zipfile.ZIP_DEFLATED)
    return load_checkpoint(deflated)


def _oversized_checkpoint(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint
    from mnist_helpers.support import untrusted_checkpoints

    # A file that really expands to 600 MB would cost the test that much; lower the bound.
    monkeypatch.setattr(untrusted_checkpoints, "MAX_CHECKPOINT_BYTES", 1000)
    return load_checkpoint(tiny_checkpoint(tmp / "c.pt"))


def _nan_logits(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.evaluate import evaluate

    model = small_model()
    with torch.no_grad():
        model.classifier[-1].bias.fill_(float("nan"))
    return evaluate(model, [(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long))])


def _diverged(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.train import fit

    model = small_model()
    batches = [(torch.randn(4, 1, 28, 28), torch.arange(4))] * 2  # the second step sees NaN
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)
    return fit(model, optimizer, batches, batches, epochs=1, show_progress=False)


def _export_check_fails(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.apps import export

    # Stand-ins for the exporter and onnxruntime (seconds each): a file is written, the check
    # disagrees, and the target must not be replaced.
    monkeypatch.setattr(export, "require_export_extra", lambda *a: {})
    monkeypatch.setattr(export, "_onnx_program", lambda checkpoint: None)
    monkeypatch.setattr(export, "_save", lambda program, path: path.write_bytes(b"onnx"))
    report = {"passed": False, "finite": True, "max_abs_diff": 1.0, "num_agree": 1}
    monkeypatch.setattr(export, "verify_onnx", lambda *a: {**report, "num_images": 2})
    return export.export_onnx(tiny_checkpoint(tmp / "c.pt"), tmp / "m.onnx")


def _export_of_nan_logits(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.apps import export

    monkeypatch.setattr(export, "require_export_extra", lambda *a: {})
    monkeypatch.setattr(export, "_onnx_program", lambda checkpoint: None)
    monkeypatch.setattr(export, "_save", lambda program, path: path.write_bytes(b"onnx"))
    report = {"passed": False, "finite": False, "max_abs_diff": float("nan"), "num_agree": 2}
    monkeypatch.setattr(export, "verify_onnx", lambda *a: {**report, "num_images": 2})
    return export.export_onnx(tiny_checkpoint(tmp / "c.pt"), tmp / "m.onnx")


def _deleted_run_folder(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.run_folder import open_run_folder

    run = open_run_folder(tmp / "artifacts")
    try:
        shutil.rmtree(tmp / "artifacts")
        (tmp / "artifacts").mkdir()
        return run.check_still_ours()
    finally:
        run.release()


def _file_in_place_of_a_folder(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.run_folder import prepare_artifacts_dir

    (tmp / "figures").write_text("")
    return prepare_artifacts_dir(tmp)


def _resume_nested_parameter(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import check_resume_fits

    checkpoint = _training_checkpoint("constant")
    checkpoint["params"] = {**checkpoint["params"], "seed": [[1]] * 3}
    return check_resume_fits(checkpoint, TrainParams(recipe="constant", epochs=5), "last.pt")


def _resume_short_rng_state(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams
    from mnist_helpers.runs.resume import check_resume_fits

    checkpoint = _training_checkpoint("constant", rng_state=torch.zeros(3, dtype=torch.uint8))
    return check_resume_fits(checkpoint, TrainParams(recipe="constant", epochs=5), "last.pt")


def _nul_in_a_file_path(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.checkpoint import load_checkpoint

    return load_checkpoint(tmp / "best\0.pt")


def _nul_in_a_parameter(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.runs.parameters import TrainParams

    return TrainParams(artifacts_dir="art\0facts")


def _blank_artifacts_folder(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from mnist_helpers.support.paths import artifacts_dir

    return artifacts_dir(" ")


TRIGGERS: dict[str, Trigger] = {
    "epochs must be an integer >= 1 ...": _bad_parameter,
    "device='cuda' is not available on this machine": _absent_cuda,
    "data/mnist/<file>.gz is corrupt or is not the file it is named after": _corrupt_data_file,
    "data/mnist/<file>.gz is truncated or not a gzip file": _truncated_data_file,
    "No MNIST file at data/mnist/<file>.gz": _missing_data_file,
    "No checkpoint at artifacts/checkpoints/best.pt": _missing_checkpoint,
    "... was refused: it holds Python objects that would run code when loaded": _pickle_with_code,
    "... is not a readable PyTorch checkpoint; it may be truncated": _not_a_checkpoint,
    "... is a bare state_dict": _bare_state_dict,
    "... has checkpoint format N; this mnist_helpers reads format 1": _newer_format,
    "The checkpoint's weights do not fit the model it describes": _other_architecture,
    "the image is blank: no digit found": _blank_image,
    "...: not an image file PIL can read": _text_file_as_image,
    "...: the file is empty": _empty_image_file,
    "...: the image file is damaged or truncated": _truncated_image_file,
    "... is too large; resize it below 64,000,000 pixels (8,000 x 8,000) first": _huge_image_file,
    "...: too large to open; PIL refuses it ...": _decompression_bomb,
    "the image array holds NaN or infinite values": _array_with_nan,
    "an image array must be (H, W) or (H, W, C)": _array_of_wrong_shape,
    "precision='bf16' needs a GPU with bfloat16 support": _bf16_on_old_gpu,
    "precision='bf16' is offered on CPU and CUDA": _bf16_elsewhere,
    "ONNX export needs the optional packages ...": _export_extra_missing,
    "unknown parameter 'epoch' (did you mean 'epochs'?) ...": _unknown_parameter,
    "val_fraction=... leaves ... training and ... validation images": _tiny_validation_split,
    "MNIST_SMALL_RUN must be 1 or 0": _bad_small_run_switch,
    "artifacts_dir ... is in use by another training run": _busy_run_folder,
    "artifacts_dir='...' cannot be written": _unwritable_artifacts_dir,
    "... is a directory, not a file": _directory_as_checkpoint,
    "... is not a regular file: it is ...": _device_as_checkpoint,
    "... is a symlink loop": _symlink_loop,
    "... is empty (0 bytes): a save or copy was cut short": _empty_checkpoint,
    "... looks like an ONNX model": _onnx_as_checkpoint,
    "... describes a model this package refuses to build: ...": _oversized_model_args,
    "resume: ... holds no training state": _resume_inference_checkpoint,
    "resume: ... differs from the run in ...": _resume_changed_lr,
    "resume: ... holds a model ... that recipe ... does not build": _resume_other_model,
    "resume: ... has already trained N epochs": _resume_nothing_left,
    "resume: recipe ... lays its learning-rate schedule out over the N epochs the run planned": (
        _resume_stretched_schedule
    ),
    "resume: the best epoch (N) of the run in ... has no matching best.pt": (
        _resume_best_of_another_run
    ),
    "--onnx ... is the checkpoint being exported": _export_over_its_input,
    "Could not write ...: the disk is full": _disk_full,
    "... holds weights that are not finite numbers (NaN or infinity)": _nan_weights,
    "... is damaged: normalization must hold a mean from 0 to 1": _tiny_std,
    "... was refused: it holds compressed entries": _compressed_checkpoint,
    "... was refused: it would expand to ...": _oversized_checkpoint,
    "the model gave logits that are not finite numbers": _nan_logits,
    "training diverged in epoch N": _diverged,
    "onnxruntime disagrees with PyTorch ...; ... was not written": _export_check_fails,
    "the model gives logits that are not finite numbers (NaN or infinity); ... was not written": (
        _export_of_nan_logits
    ),
    "... was deleted or replaced while this run trained in it": _deleted_run_folder,
    "artifacts_dir='...' holds a file named <name> where the run keeps a folder": (
        _file_in_place_of_a_folder
    ),
    "resume: ... is damaged: its parameters ... are not plain values": _resume_nested_parameter,
    "resume: ... is damaged: its random-number state": _resume_short_rng_state,
    "... is not a usable path: it holds a NUL byte": _nul_in_a_file_path,
    "artifacts_dir holds a NUL byte": _nul_in_a_parameter,
    "the artifacts folder is blank": _blank_artifacts_folder,
}

QUOTES = table_quotes((REPO_ROOT / "README.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("quote", QUOTES)
def test_table_row_has_a_trigger_that_raises_its_message(
    quote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = TRIGGERS.get(quote)
    assert trigger is not None, f"add a trigger for the README row quoting `{quote}` to TRIGGERS"
    with pytest.raises(MnistHelpersError) as raised:
        trigger(tmp_path, monkeypatch)
    message = str(raised.value)
    assert quote_pattern(quote).match(message), f"`{quote}` does not start {message!r}"


def test_every_trigger_belongs_to_a_table_row() -> None:
    assert sorted(set(TRIGGERS) - set(QUOTES)) == [], "a row left the README: drop its trigger"


@pytest.mark.parametrize(
    ("quote", "message", "matches"),
    [
        ("data/mnist/<file>.gz is corrupt", "/tmp/x/data/mnist/a-b.gz is corrupt: ...", True),
        ("data/mnist/<file>.gz is corrupt", "data/mnist/a.gz is corrupt", True),
        ("data/mnist/<file>.gz is corrupt", "the data/mnist/a.gz is corrupt", False),
        ("No checkpoint at artifacts/x.pt", "No checkpoint at /tmp/1/artifacts/x.pt.", True),
        ("... has format N; reads 1", "/a/b.pt has format 99; reads 1 and older", True),
        ("... has format N; reads 1", "/a/b.pt has format new; reads 1", False),
        ("epochs must be an integer >= 1 ...", "epochs must be an integer >= 1; got 0", True),
        ("epochs must be an integer >= 1 ...", "lr must be an integer >= 1; got 0", False),
        ("...: not an image", "/a/b.png: not an image file", True),
        ("ONNX (N) x", "ONNX (7) x", True),
    ],
)
def test_quote_patterns_read_the_table_shorthand(quote: str, message: str, matches: bool) -> None:
    assert bool(quote_pattern(quote).match(message)) is matches
