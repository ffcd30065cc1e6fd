"""Project-level rules: packaging agrees with conda, notebooks are clean, imports do nothing."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import nbformat
import pytest

from tests.conftest import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"pytorch": "torch"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pypi = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pypi |= {_name(r) for r in extra}
    conda = set()
    text = (REPO_ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"^  - ([A-Za-z0-9_.-]+)", line)
        if match and match.group(1) not in ("python", "pip"):
            conda.add(CONDA_TO_PYPI.get(match.group(1), match.group(1)).lower())
    assert conda == pypi


def test_torch_is_never_required_newer_than_2_14_1():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    torch_req = next(r for r in project["dependencies"] if _name(r) == "torch")
    assert ">=2.6" in torch_req and "<=2.14.1" in torch_req


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_clean_and_has_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged parameters"
    assert "small_run" in tagged[0].source
    assert "widgets" not in notebook.metadata and "papermill" not in notebook.metadata
    text = nbformat.writes(notebook)
    assert "application/vnd.jupyter.widget-view+json" not in text
    assert not re.search(r"/(home|Users|tmp|work|root)/", text), "machine path in the notebook"
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all("execution" not in c.metadata for c in code_cells)
    assert any(c.outputs for c in code_cells), "committed notebooks carry their outputs"
    for cell in code_cells:  # notebooks stay thin: no classes or functions defined in them
        assert not re.search(r"^\s*(class|def)\s+\w+", cell.source, re.MULTILINE), cell.source


def test_importing_the_package_has_no_side_effects(tmp_path):
    script = """
import os, random, sys
import matplotlib
before_files = set(os.listdir('.'))
before_rc = dict(matplotlib.rcParams)
import torch
state = torch.get_rng_state().clone()
random.seed(123); expected = random.random(); random.seed(123)
import importlib, pkgutil, mnist_helpers
for module in pkgutil.iter_modules(mnist_helpers.__path__):
    if module.name not in ("__main__",):
        importlib.import_module(f"mnist_helpers.{module.name}")
assert set(os.listdir('.')) == before_files, "import created files"
assert torch.equal(torch.get_rng_state(), state), "import touched torch's RNG"
assert random.random() == expected, "import reseeded random"
assert dict(matplotlib.rcParams) == before_rc, "import changed matplotlib style"
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make run" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)
