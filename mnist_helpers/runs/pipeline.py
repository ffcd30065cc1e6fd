"""The notebooks in order, headless, into one artifacts folder: what ``make run`` runs.

    python -m mnist_helpers.runs.pipeline [-p NAME VALUE]...

Every notebook's parameters are checked before the first notebook starts, so ``-p epochs 0``
stops at once instead of after 01 has run. The executed notebooks go to
``<artifacts_dir>/notebooks/`` and the closing summary reads that same folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from mnist_helpers.errors import MnistHelpersError
from mnist_helpers.runs.layout import NOTEBOOKS_DIR
from mnist_helpers.runs.notebook_runner import child_environment, notebook_path, papermill_command
from mnist_helpers.runs.parameters import NOTEBOOK_PARAMS, CommonParams
from mnist_helpers.support.paths import project_root, resolve_project_path

# The notebooks make run executes, in order.
PIPELINE = tuple(params.NOTEBOOK for params in NOTEBOOK_PARAMS)


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill reads it: True, False, None, an int, a float, else the text."""
    words: dict[str, Any] = {"True": True, "False": False, "None": None}
    if text in words:
        return words[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check_pipeline(values: dict[str, Any]) -> CommonParams:
    """Check every notebook's parameters as its run will; return the first notebook's.

    Raises ParameterError naming the first bad value (or an unknown name) before anything runs.
    The environment variables (``MNIST_SMALL_RUN``, ``MNIST_ARTIFACTS_DIR``) count as the
    notebooks count them.
    """
    checked = [params_class.from_values(values)[0] for params_class in NOTEBOOK_PARAMS]
    return checked[0]


def run_pipeline(values: dict[str, Any], notebooks: Sequence[str] = PIPELINE) -> int:
    """Run ``notebooks`` with papermill, showing its log; stop at the first that fails."""
    common = check_pipeline(values)
    artifacts = resolve_project_path(common.artifacts)
    # Passed explicitly, so every notebook runs with what was checked, whatever the environment.
    parameters = {**values, "artifacts_dir": str(artifacts), "small_run": common.small_run}
    for name in notebooks:
        output = artifacts / NOTEBOOKS_DIR / f"{name}.ipynb"
        output.parent.mkdir(parents=True, exist_ok=True)
        print(f"--- {name} ---", flush=True)
        command = papermill_command(notebook_path(name), output, parameters)
        done = subprocess.run(command, cwd=project_root(), env=child_environment())
        if done.returncode != 0:
            print(f"{name} failed; its executed copy, as far as it ran: {output}", file=sys.stderr)
            return done.returncode
    from mnist_helpers.apps.cli import main as cli_main

    return cli_main(["summary", "--artifacts", str(artifacts)])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m mnist_helpers.runs.pipeline",
        description="Run the notebooks headless, in order, into one artifacts folder.",
    )
    parser.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter for the notebooks that take it (a later -p of a name wins)",
    )
    args = parser.parse_args(argv)
    values = {name: parse_value(text) for name, text in args.p}
    try:
        return run_pipeline(values)
    except MnistHelpersError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
