"""How the suite is dealt out to pytest-xdist workers (tests/worker_scopes.py), and why a kernel
start cannot lose its port (tests/ipc_kernels.py, notebook_runner.kernel_lost_its_port)."""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadScopeScheduling

from tests.ipc_kernels import IpcKernelManager
from tests.support import REPO_ROOT
from tests.worker_scopes import (
    FIXTURE_SCOPES,
    SCOPE_MODULES,
    SMALL_PIPELINE,
    TRAINED_CHECKPOINT,
    SharedFixtureScheduling,
    scope_of,
    share_the_cores,
    unlisted_fixture_use,
)


def test_notebooks_and_the_modules_reading_their_run_share_one_scope():
    assert scope_of("notebooks/01_data_exploration.ipynb::Cell 0") == SMALL_PIPELINE
    assert scope_of("notebooks/04_inference.ipynb::Cell 18") == SMALL_PIPELINE
    assert scope_of("tests/test_notebooks.py::test_pipeline_metrics_are_real") == SMALL_PIPELINE
    assert scope_of("tests/test_export.py::test_onnx_file_describes_its_inputs[x]") == (
        TRAINED_CHECKPOINT
    )


def test_the_cuda_tests_stay_together():
    assert scope_of("tests/test_cuda.py::test_a[1]") == scope_of("tests/test_cuda.py::test_b")


def test_any_other_test_is_a_scope_of_its_own():
    nodeid = "tests/test_metrics.py::test_accuracy_counts[2-3]"
    assert scope_of(nodeid) == nodeid
    # A module whose name only starts like a listed one is not that module.
    assert (
        scope_of("tests/test_notebooks_more.py::test_x") == "tests/test_notebooks_more.py::test_x"
    )


def test_every_listed_module_exists_and_uses_its_scopes_fixture():
    fixture_of_scope = {scope: fixture for fixture, scope in FIXTURE_SCOPES.items()}
    for scope, modules in SCOPE_MODULES.items():
        for module in modules:
            source = (REPO_ROOT / module).read_text(encoding="utf-8")
            assert fixture_of_scope[scope] in source.replace(
                "refused_train_run", "refused_train_runs"
            )


def test_a_shared_fixture_from_an_unlisted_module_is_refused_with_the_fix():
    reason = unlisted_fixture_use("tests/test_new.py::test_x", ["tmp_path", "trained_checkpoint"])
    assert reason is not None
    assert "tests/test_new.py" in reason and "SCOPE_MODULES['trained-checkpoint']" in reason
    assert unlisted_fixture_use("tests/test_train.py::test_x", ["trained_checkpoint"]) is None
    assert unlisted_fixture_use("tests/test_new.py::test_x", ["tmp_path"]) is None
    # One test may not need two of them: its module cannot be in both scopes.
    both = ["small_pipeline", "trained_checkpoint"]
    assert unlisted_fixture_use("tests/test_notebooks.py::test_x", both) is not None


def test_the_scheduler_splits_node_ids_by_these_scopes():
    assert issubclass(SharedFixtureScheduling, LoadScopeScheduling)
    scheduler = SharedFixtureScheduling.__new__(SharedFixtureScheduling)  # no workers needed
    assert scheduler._split_scope("notebooks/02_train.ipynb::Cell 3") == SMALL_PIPELINE


def test_each_worker_takes_its_share_of_the_cores(monkeypatch):
    import torch

    from tests import worker_scopes

    before = torch.get_num_threads()
    monkeypatch.setattr(worker_scopes.os, "sched_getaffinity", lambda pid: set(range(8)), False)
    monkeypatch.setenv("OMP_NUM_THREADS", "99")  # monkeypatch puts the variables back afterwards
    monkeypatch.setenv("MKL_NUM_THREADS", "99")
    try:
        share_the_cores(workers=4)
        assert torch.get_num_threads() == 2
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "2"
        share_the_cores(workers=16)  # more workers than cores: still one thread each
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_nbval_kernels_listen_on_socket_files_with_absolute_paths():
    manager = IpcKernelManager()
    assert manager.transport == "ipc"
    # The kernel starts in the notebook's folder, the client in pytest's: a relative path would
    # name two different files.
    assert manager.ip.startswith("/")
    assert IpcKernelManager().ip != manager.ip


@pytest.mark.parametrize("with_port_error", [True, False])
def test_a_kernel_that_lost_its_port_is_told_apart_from_other_failures(with_port_error):
    from mnist_helpers.runs.notebook_runner import kernel_lost_its_port

    # The ends of papermill's log from a run that hit the race in this suite.
    log = (
        "Input Notebook:  notebooks/02_train.ipynb\n"
        + (
            "zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:46145')\n"
            if with_port_error
            else "ModuleNotFoundError: No module named 'torch'\n"
        )
        + "RuntimeError: Kernel died before replying to kernel_info\n"
    )
    assert kernel_lost_its_port(1, log) is with_port_error
    assert kernel_lost_its_port(0, log) is False
