"""Run a notebook headless with papermill: the one runner that tests and benchmarks share.

Papermill runs in a child process (``python -m papermill``), so importing this module imports
nothing heavy; papermill itself is an optional dependency and is only looked for when a notebook
is run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
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
# What papermill's log says when the kernel lost one of its ports before it could bind it.
KERNEL_PORT_RACE = ("Address already in use", "Kernel died before replying to kernel_info")


def notebook_path(name: str | os.PathLike[str]) -> Path:
    """``notebooks/<name>.ipynb`` for a bare name such as ``"02_train"``; a path is kept."""
    path = Path(name)
    if path.suffix == ".ipynb" or len(path.parts) > 1:
        return path if path.is_absolute() else project_root() / path
    return project_root() / "notebooks" / f"{name}.ipynb"


def papermill_command(
    notebook: Path, output: Path, parameters: Mapping[str, Any], kernel: str = "python3"
) -> list[str]:
    """The papermill command line; parameters travel as JSON so that their types are kept."""
    # `-p` guesses types from text ("1" becomes an int, "None" becomes None); JSON is valid YAML
    # and keeps a string a string.
    values = {
        key: str(value) if isinstance(value, Path) else value for key, value in parameters.items()
    }
    command = [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", kernel]
    command += [str(notebook), str(output)]
    if values:
        command += ["-y", json.dumps(values)]
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
    kernel. Runs started together overlap their kernels' start-up. A run whose kernel lost its TCP
    port before any cell ran is started once more (``kernel_lost_its_port``).
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
        self._cwd = cwd or project_root()
        self._env = child_environment(env)
        # papermill's log goes to a file (a pipe nobody reads until the end could fill and stall
        # the run), opened for appending: papermill's writes land at the end whatever we read.
        # It lives as long as the run; stop() closes it.
        self._log = tempfile.TemporaryFile("a+", encoding="utf-8")  # noqa: SIM115
        self._restarted = False
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self._log.seek(0)
        self._log.truncate()
        return subprocess.Popen(
            self._command,
            cwd=self._cwd,
            env=self._env,
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
            if self._started_again_after_a_lost_port(returncode):
                returncode = self.process.wait(timeout)
            log = self.log()
        finally:
            self.stop()
        return subprocess.CompletedProcess(self._command, returncode, "", log)

    def running(self) -> bool:
        """Whether the run is still going (or was started again after a lost port)."""
        returncode = self.process.poll()
        return returncode is None or self._started_again_after_a_lost_port(returncode)

    def stop(self) -> None:
        """Kill papermill and its kernel if they are still running; the log is closed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()

    def _started_again_after_a_lost_port(self, returncode: int) -> bool:
        if self._restarted or not kernel_lost_its_port(returncode, self.log()):
            return False
        self._restarted = True
        self.process = self._start()
        return True


def kernel_lost_its_port(returncode: int, log: str) -> bool:
    """Whether a papermill run failed only because its kernel could not bind its TCP port.

    papermill picks five free ports and tells the kernel, which binds them a second or so later;
    a process started in between can take one (papermill issue #511, jupyter_client issue #154).
    The kernel then dies before any cell runs, so starting the run again is safe.
    """
    return returncode != 0 and all(sign in log for sign in KERNEL_PORT_RACE)
