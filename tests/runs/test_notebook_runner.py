"""The one papermill runner: its command line, its environment, its errors (no kernel started)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mnist_helpers.errors import MissingExtraError
from mnist_helpers.runs import notebook_runner
from mnist_helpers.runs.notebook_runner import (
    OVERRIDE_VARIABLES,
    NotebookRun,
    child_environment,
    notebook_path,
    papermill_command,
    run_notebook,
)
from tests.helpers import REPO_ROOT

yaml = pytest.importorskip("yaml")  # papermill reads -y with it; installed with papermill


def test_a_bare_name_is_a_notebook_of_the_project():
    assert notebook_path("02_train") == REPO_ROOT / "notebooks" / "02_train.ipynb"
    assert notebook_path("/x/y.ipynb") == Path("/x/y.ipynb")


def test_parameters_keep_their_types_through_the_command_line():
    parameters = {"epochs": 3, "lr": 0.01, "small_run": True, "resume": "1", "dir": Path("/a")}
    command = papermill_command(Path("in.ipynb"), Path("out.ipynb"), parameters)
    assert command[command.index("-k") + 1] == "python3"
    # papermill reads -y as YAML: what it will inject is what was given (a string stays a string)
    injected = yaml.safe_load(command[command.index("-y") + 1])
    assert injected == {"epochs": 3, "lr": 0.01, "small_run": True, "resume": "1", "dir": "/a"}
    assert json.loads(command[command.index("-y") + 1]) == injected


def test_no_parameters_means_no_yaml_argument():
    assert "-y" not in papermill_command(Path("in.ipynb"), Path("out.ipynb"), {})


def test_the_environment_overrides_are_left_out_unless_asked_for(monkeypatch):
    for variable in OVERRIDE_VARIABLES:
        monkeypatch.setenv(variable, "1")
    monkeypatch.setenv("OTHER_VARIABLE", "kept")
    env = child_environment()
    assert not set(OVERRIDE_VARIABLES) & set(env)
    assert env["OTHER_VARIABLE"] == "kept"
    assert child_environment({"MNIST_SMALL_RUN": "1"})["MNIST_SMALL_RUN"] == "1"


def test_missing_papermill_says_which_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(notebook_runner, "find_spec", lambda name: None)
    with pytest.raises(MissingExtraError, match=r"\.\[notebooks\]"):
        run_notebook("02_train", tmp_path / "out.ipynb", {})
    assert not (tmp_path / "out.ipynb").exists()


# Stands in for papermill: start number n (counted in a file) writes the n-th outcome's log to
# stderr and exits with its code.
STAND_IN = """
import pathlib, sys
counter = pathlib.Path(sys.argv[1])
start = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(start + 1))
outcome = sys.argv[2 + start]
logs = {
    "lost": "ZMQError: Address already in use\\nKernel died before replying to kernel_info\\n",
    "other": "ValueError: unknown parameter\\n",
    "ok": "",
}
sys.stderr.write(logs[outcome])
sys.exit(0 if outcome == "ok" else 1)
"""


def _stand_in_for_papermill(monkeypatch, tmp_path: Path, *outcomes: str) -> Path:
    """Make every run start the stand-in with these outcomes; returns the file counting starts."""
    counter = tmp_path / "starts"
    counter.unlink(missing_ok=True)
    command = [sys.executable, "-c", STAND_IN, str(counter), *outcomes]
    monkeypatch.setattr(notebook_runner, "papermill_command", lambda *args: command)
    return counter


def test_a_run_whose_kernel_lost_its_port_is_started_once_more(monkeypatch, tmp_path):
    starts = _stand_in_for_papermill(monkeypatch, tmp_path, "lost", "lost", "ok")
    done = run_notebook("02_train", tmp_path / "out.ipynb", {})
    assert starts.read_text() == "2" and done.returncode == 1  # once more, not until it works
    assert "Kernel died before replying to kernel_info" in done.stderr
    starts = _stand_in_for_papermill(monkeypatch, tmp_path, "other", "ok")
    done = run_notebook("02_train", tmp_path / "out.ipynb", {})
    assert done.returncode == 1 and "unknown parameter" in done.stderr
    assert starts.read_text() == "1"  # any other failure is the run's own: no second start


def test_a_background_run_whose_kernel_lost_its_port_is_started_once_more(monkeypatch, tmp_path):
    starts = _stand_in_for_papermill(monkeypatch, tmp_path, "lost", "ok")
    run = NotebookRun("02_train", tmp_path / "out.ipynb", {})
    run.process.wait()
    assert run.running()  # the lost port started it again
    done = run.wait()
    assert done.returncode == 0 and done.stderr == "" and starts.read_text() == "2"
