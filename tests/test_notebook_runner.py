"""The one papermill runner: its command line, its environment, its errors (no kernel started)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_helpers import notebook_runner
from mnist_helpers.errors import MissingExtraError
from mnist_helpers.notebook_runner import (
    OVERRIDE_VARIABLES,
    child_environment,
    notebook_path,
    papermill_command,
    run_notebook,
)
from tests.support import REPO_ROOT

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


def test_a_run_whose_kernel_lost_its_port_is_started_once_more(monkeypatch, tmp_path):
    # subprocess.run stands in for papermill here; the real runs are in the slow tier.
    lost = (
        "ZMQError: Address already in use\nRuntimeError: Kernel died before replying to kernel_info"
    )
    results = [(1, lost), (1, lost), (0, "")]
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        returncode, stderr = results[len(calls) - 1]
        return subprocess.CompletedProcess(command, returncode, "", stderr)

    monkeypatch.setattr(notebook_runner.subprocess, "run", fake_run)
    done = run_notebook("02_train", tmp_path / "out.ipynb", {})
    assert len(calls) == 2 and done.returncode == 1  # once more, not until it works
    calls.clear()
    results[:] = [(1, "ValueError: unknown parameter"), (0, "")]
    assert run_notebook("02_train", tmp_path / "out.ipynb", {}).returncode == 1
    assert len(calls) == 1  # any other failure is the run's own: no second start


def test_a_background_run_whose_kernel_lost_its_port_is_started_once_more(monkeypatch, tmp_path):
    # Small Python processes stand in for papermill: each start writes the next log and exit code.
    from tests.support import BackgroundRun

    lost = "ZMQError: Address already in use\nKernel died before replying to kernel_info\n"
    outcomes = [(lost, 1), (lost, 1)]
    starts = []

    def fake_start(self):
        log, code = outcomes[len(starts)]
        starts.append(log)
        self._log.write_text(log)
        return subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])

    monkeypatch.setattr(BackgroundRun, "_start", fake_start)
    run = BackgroundRun("02_train", tmp_path / "out.ipynb", {})
    assert run.wait().returncode == 1
    assert len(starts) == 2  # once more, not until it works

    starts.clear()
    outcomes[:] = [(lost, 1), ("", 0)]
    run = BackgroundRun("02_train", tmp_path / "out.ipynb", {})
    run.process.wait()
    assert run.running()  # the lost port started it again
    assert run.wait().returncode == 0 and len(starts) == 2
