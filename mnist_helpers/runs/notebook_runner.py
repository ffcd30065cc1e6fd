"""Run a notebook headless with papermill: the one runner that tests and benchmarks share.

Papermill runs in a child process, this module run as a script (``main``: papermill's Python API
with the kernel on socket files, ``support/socket_kernels.py``), so importing this module imports
nothing heavy; papermill itself is an optional dependency and is only looked for when a notebook
is run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from mnist_helpers.errors import MissingExtraError
from mnist_helpers.support.paths import project_root

# Variables that would change what a notebook does behind its parameters' back. A run started
# here leaves them out, so the parameters given are the ones that decide; a caller who wants one
# passes it in ``env`` explicitly.
OVERRIDE_VARIABLES = ("MNIST_SMALL_RUN", "MNIST_ARTIFACTS_DIR")
INSTALL_HINT = 'pip install -e ".[notebooks]"'
# A run's child process runs this module (``main``); spelt out, as ``__name__`` is "__main__" there.
THIS_MODULE = "mnist_helpers.runs.notebook_runner"


def notebook_path(name: str | os.PathLike[str]) -> Path:
    """``notebooks/<name>.ipynb`` for a bare name such as ``"02_train"``; a path is kept."""
    path = Path(name)
    if path.suffix == ".ipynb" or len(path.parts) > 1:
        return path if path.is_absolute() else project_root() / path
    return project_root() / "notebooks" / f"{name}.ipynb"


def papermill_command(
    notebook: Path, output: Path, parameters: Mapping[str, Any], kernel: str = "python3"
) -> list[str]:
    """The command line of a run's child process (``main`` below); parameters travel as JSON so
    that their types are kept."""
    values = {
        key: str(value) if isinstance(value, Path) else value for key, value in parameters.items()
    }
    command = [sys.executable, "-m", THIS_MODULE, "-k", kernel, str(notebook), str(output)]
    if values:
        command += ["--parameters", json.dumps(values)]
    return command


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the override variables, then ``env`` on top."""
    base = {key: value for key, value in os.environ.items() if key not in OVERRIDE_VARIABLES}
    base.setdefault("MPLBACKEND", "Agg")  # no window can open in a headless run
    return {**base, **(env or {})}


def run_notebook(
    name: str | os.PathLike[str],
    output: Path,
    parameters: Mapping[str, Any],
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Execute notebook ``name`` into ``output`` with papermill and return the finished process.

    The caller checks ``returncode`` (papermill's own log is in ``stderr``). ``output``'s folder is
    created, as papermill does not. ``cwd`` defaults to the repository root.
    """
    return NotebookRun(name, output, parameters, cwd=cwd, env=env).wait(timeout)


class NotebookRun:
    """A papermill run of a notebook, started at once in a process group of its own.

    ``wait`` collects it, ``running`` says whether it still goes, ``stop`` kills papermill and its
    kernel. Runs started together overlap their kernels' start-up.
    """

    def __init__(
        self,
        name: str | os.PathLike[str],
        output: Path,
        parameters: Mapping[str, Any],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if find_spec("papermill") is None:
            raise MissingExtraError(
                f"Running a notebook needs papermill; install it with {INSTALL_HINT}"
            )
        self.output = Path(output)  # the executed notebook, as far as it ran
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self._command = papermill_command(notebook_path(name), self.output, parameters)
        # papermill's log goes to a file (a pipe nobody reads until the end could fill and stall
        # the run), opened for appending: papermill's writes land at the end whatever we read.
        # It lives as long as the run; stop() closes it.
        self._log = tempfile.TemporaryFile("a+", encoding="utf-8")  # noqa: SIM115
        # The run's temporary folder (TMPDIR), its kernel's socket files included: a killed kernel
        # cannot remove its sockets, so stop() removes the folder.
        self.temporary_folder = Path(tempfile.mkdtemp(prefix="notebook-run-"))
        self.process = subprocess.Popen(
            self._command,
            cwd=cwd or project_root(),
            env=child_environment({**(env or {}), "TMPDIR": str(self.temporary_folder)}),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,  # a group of its own, so that stop() reaches the kernel
        )

    def log(self) -> str:
        """papermill's log so far, tracebacks included."""
        self._log.seek(0)
        return self._log.read()

    def wait(self, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """The finished run; its ``stderr`` is papermill's log. Past ``timeout`` seconds the run is
        killed and ``subprocess.TimeoutExpired`` raised."""
        try:
            returncode = self.process.wait(timeout)
            log = self.log()
        finally:
            self.stop()
        return subprocess.CompletedProcess(self._command, returncode, "", log)

    def running(self) -> bool:
        """Whether the run is still going."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill papermill and its kernel if they are still running; the log is closed and the
        run's temporary folder removed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()
        shutil.rmtree(self.temporary_folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """A run's child process: papermill's Python API, which (unlike its command line) takes the
    kernel manager, so that the kernel listens on socket files and cannot lose a TCP port."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {THIS_MODULE}", description="Execute a notebook with papermill."
    )
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("-k", "--kernel", default="python3")
    parser.add_argument("--parameters", default="{}", help="the parameters as a JSON object")
    args = parser.parse_args(argv)

    import papermill

    from mnist_helpers.support.socket_kernels import KERNEL_MANAGER_CLASS

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # papermill's log, as its CLI
    papermill.execute_notebook(
        args.notebook,
        args.output,
        parameters=json.loads(args.parameters),
        kernel_name=args.kernel,
        progress_bar=False,
        kernel_manager_class=KERNEL_MANAGER_CLASS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
