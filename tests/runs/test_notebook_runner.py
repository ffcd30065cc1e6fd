"""The one papermill runner: its command line, its environment, its errors (no kernel started)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_helpers.errors import MissingExtraError
from mnist_helpers.runs import notebook_runner
from mnist_helpers.runs.notebook_runner import (
    OVERRIDE_VARIABLES,
    child_environment,
    notebook_path,
    papermill_command,
    run_notebook,
)
from mnist_helpers.support.socket_kernels import KERNEL_MANAGER_CLASS
from tests.helpers import REPO_ROOT

pytest.importorskip("papermill")  # the notebooks extra


def test_a_bare_name_is_a_notebook_of_the_project():
    assert notebook_path("02_train") == REPO_ROOT / "notebooks" / "02_train.ipynb"
    assert notebook_path("/x/y.ipynb") == Path("/x/y.ipynb")


def test_parameters_keep_their_types_through_the_command_line():
    parameters = {"epochs": 3, "lr": 0.01, "small_run": True, "resume": "1", "dir": Path("/a")}
    command = papermill_command(Path("in.ipynb"), Path("out.ipynb"), parameters)
    assert command[1:3] == ["-m", "mnist_helpers.runs.notebook_runner"]
    assert command[command.index("-k") + 1] == "python3"
    # What the child hands papermill is what was given (a string stays a string)
    injected = json.loads(command[command.index("--parameters") + 1])
    assert injected == {"epochs": 3, "lr": 0.01, "small_run": True, "resume": "1", "dir": "/a"}


def test_no_parameters_means_no_parameters_argument():
    assert "--parameters" not in papermill_command(Path("in.ipynb"), Path("out.ipynb"), {})


def test_the_child_runs_papermill_with_kernels_on_socket_files(monkeypatch, tmp_path):
    # The child process's main, in this process, with papermill's execute_notebook recording
    # its call instead of starting a kernel (the slow tier runs real notebooks through it).
    import papermill

    calls = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: calls.append((a, k)))
    arguments = ["in.ipynb", "out.ipynb", "-k", "python3", "--parameters", '{"epochs": 2}']
    assert notebook_runner.main(arguments) == 0
    ((args, kwargs),) = calls
    assert args == ("in.ipynb", "out.ipynb")
    assert kwargs["parameters"] == {"epochs": 2} and kwargs["kernel_name"] == "python3"
    assert kwargs["kernel_manager_class"] == KERNEL_MANAGER_CLASS


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
