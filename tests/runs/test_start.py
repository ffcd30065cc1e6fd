"""start_training_run: one call sets a run up as 02 does; stopping it keeps what finished."""

from __future__ import annotations

import pytest
import torch

from mnist_helpers.errors import RunFolderBusyError
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.start import start_training_run
from tests.helpers import CPU, tiny_loaders


def _params(folder, **changes) -> TrainParams:
    values = {"artifacts_dir": str(folder), "augment": False, "epochs": 3, "device": "cpu"}
    return TrainParams(**{**values, "precision": "fp32", **changes})


class StopDuringEpoch:
    """Batches that raise KeyboardInterrupt (the stop button) part-way through epoch ``epoch``."""

    def __init__(self, loader, epoch: int) -> None:
        self.loader, self.epoch, self.current = loader, epoch, 0

    def set_epoch(self, epoch: int) -> None:
        self.current = epoch
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for step, batch in enumerate(self.loader):
            if self.current == self.epoch and step == 1:
                raise KeyboardInterrupt
            yield batch


def test_the_stop_button_ends_training_in_one_line_and_keeps_finished_epochs(tmp_path, capsys):
    data = tiny_loaders()
    data.train_loader = StopDuringEpoch(data.train_loader, epoch=2)
    run = start_training_run(_params(tmp_path / "a"), device=CPU, data=data)
    history = run.fit(show_progress=False)
    out = capsys.readouterr().out
    assert run.stopped and [r["epoch"] for r in history] == [1]
    stop_lines = [line for line in out.splitlines() if line.startswith("stopped")]
    assert stop_lines == [
        "stopped during epoch 2: the checkpoints of epochs 1-1 are kept; resume with resume = "
        '"checkpoints/last.pt" in the parameters cell (or -p resume checkpoints/last.pt).'
    ]
    assert "Traceback" not in out
    assert (tmp_path / "a" / "checkpoints" / "last.pt").is_file()
    # The folder is free again: a second run (the same notebook run again) may take it.
    start_training_run(_params(tmp_path / "a"), device=CPU, data=tiny_loaders()).folder.release()


@pytest.mark.slow  # a fresh Python that imports torch: seconds
def test_a_busy_folder_is_refused_before_any_data_is_asked_for(tmp_path):
    first = start_training_run(_params(tmp_path / "b"), device=CPU, data=tiny_loaders())
    try:
        code = (
            "import sys\n"
            "from mnist_helpers.runs.parameters import TrainParams\n"
            "from mnist_helpers.runs.start import start_training_run\n"
            "start_training_run(TrainParams(artifacts_dir=sys.argv[1], device='cpu'))\n"
        )
        import subprocess
        import sys

        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "b")], capture_output=True, text=True
        )
        assert done.returncode != 0 and RunFolderBusyError.__name__ in done.stderr
    finally:
        first.folder.release()


def test_a_run_with_the_mix_measures_training_on_digits_and_keeps_the_mix_apart(tmp_path):
    data = tiny_loaders()
    data.train_digits = data.val_loader  # any loader of digits without stand-ins
    run = start_training_run(_params(tmp_path / "c", epochs=1), device=CPU, data=data)
    (record,) = run.fit(show_progress=False)
    assert {"mix_loss", "mix_acc"} <= set(record)
    val = record["val_acc"]
    assert record["train_acc"] == pytest.approx(val)  # measured on the same images here
    assert torch.isfinite(torch.tensor(record["mix_loss"]))
