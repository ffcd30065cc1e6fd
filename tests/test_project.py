"""Project-level rules: packaging agrees with conda, notebooks are clean, imports do nothing."""

from __future__ import annotations

import ast
import builtins
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions, requires

import nbformat
import pytest
from packaging.requirements import Requirement

from tests.helpers import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"pytorch": "torch"}
# Imported by the package but installed by a core dependency that needs it at run time:
# the widget base classes (traitlets) and IPython's display come with the widget packages.
COMES_WITH = {"traitlets": "anywidget", "ipython": "ipywidgets"}
# Imported only where it exists: the notebooks' Colab set-up cell.
COLAB_ONLY = {"google"}
# Modules that run only in a notebook run's child process: what they import is the ``notebooks``
# extra's (papermill, and the Jupyter client and ZeroMQ that it installs), not core.
NOTEBOOKS_EXTRA_ONLY = ("support/socket_kernels.py", "runs/notebook_runner.py")
# Core although the package no longer imports it: the files in data/ are laid out for its MNIST
# class (README's plain-PyTorch example, the seed-style benchmark), and pinning it beside torch
# keeps the two versions compatible.
CORE_FOR_PLAIN_TORCH = {"torchvision"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def _conda_requirements() -> dict[str, str]:
    """``name -> version specifier`` of environment.yml's conda packages, in PyPI names."""
    requirements = {}
    text = (REPO_ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"^  - ([A-Za-z0-9_.-]+)(\S*)$", line)
        if match and match.group(1) not in ("python", "pip"):
            name = CONDA_TO_PYPI.get(match.group(1), match.group(1)).lower()
            requirements[name] = match.group(2)
    return requirements


def _pypi_requirements(requirements: list[str]) -> dict[str, str]:
    return {_name(r): r.strip()[len(_name(r)) :].replace(" ", "") for r in requirements}


def test_environment_yml_pins_the_same_packages_as_pyproject():
    project = _project()
    pypi = _pypi_requirements(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pypi |= _pypi_requirements(extra)
    assert _conda_requirements() == pypi


def test_make_and_conda_install_every_extra():
    extras = set(_project()["optional-dependencies"])
    makefile = (REPO_ROOT / "Makefile").read_text()
    make_extras = re.search(r"^EXTRAS := (\S+)$", makefile, re.MULTILINE).group(1)
    assert set(make_extras.split(",")) == extras
    assert '-e ".[$(EXTRAS)]"' in makefile
    conda_pip = re.search(r'- -e "\.\[([a-z,]+)\]"', (REPO_ROOT / "environment.yml").read_text())
    assert set(conda_pip.group(1).split(",")) == extras


def _imported_top_level_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _installed_with(distributions: set[str]) -> set[str]:
    """``distributions`` and all they require here, transitively (extras' requirements left out)."""
    found, todo = set(), list(distributions)
    while todo:
        name = _canonical(todo.pop())
        if name in found:
            continue
        found.add(name)
        for text in requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def test_core_dependencies_are_what_the_package_and_notebooks_import():
    modules = set()
    for path in (REPO_ROOT / "mnist_helpers").rglob("*.py"):
        if path.relative_to(REPO_ROOT / "mnist_helpers").as_posix() not in NOTEBOOKS_EXTRA_ONLY:
            modules |= _imported_top_level_modules(path.read_text())
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":  # IPython magics and shell lines are not Python
                lines = cell.source.splitlines()
                python = [line for line in lines if not line.lstrip().startswith(("%", "!"))]
                modules |= _imported_top_level_modules("\n".join(python))
    third_party = modules - set(sys.stdlib_module_names) - {"mnist_helpers"} - COLAB_ONLY
    distributions = packages_distributions()
    needed = set()
    for module in third_party:
        assert module in distributions, f"{module} is imported but not installed"
        for distribution in distributions[module]:
            needed.add(COMES_WITH.get(distribution.lower(), distribution.lower()))
    core = {_name(r) for r in _project()["dependencies"]}
    assert needed | CORE_FOR_PLAIN_TORCH == core, "core must be exactly what `import` needs"
    notebooks_extra = {_name(r) for r in _project()["optional-dependencies"]["notebooks"]}
    for tool in ("jupyterlab", "papermill", "nbformat"):
        assert tool not in core and tool in notebooks_extra
    for relative in NOTEBOOKS_EXTRA_ONLY:
        source = (REPO_ROOT / "mnist_helpers" / relative).read_text()
        imported = _imported_top_level_modules(source) - set(sys.stdlib_module_names)
        wanted = {_canonical(d) for m in imported - {"mnist_helpers"} for d in distributions[m]}
        assert wanted <= _installed_with(notebooks_extra), relative


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


@pytest.mark.slow  # a fresh Python that imports torch: seconds
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
for module in pkgutil.walk_packages(mnist_helpers.__path__, "mnist_helpers."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
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


def test_ci_runs_lint_then_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make run" in readme
    commands = re.findall(r"^make \w+$", ci, re.MULTILINE)
    assert commands == ["make lint", "make test"]


def test_lint_runs_ruff_and_the_type_checker_over_the_package():
    makefile = (REPO_ROOT / "Makefile").read_text()
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert "ruff check mnist_helpers" in lint and "$(BIN)/mypy" in lint
    mypy = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["files"] == ["mnist_helpers"]
    assert "mypy" in {_name(r) for r in _project()["optional-dependencies"]["test"]}


def _builtin_exception(name: str) -> bool:
    value = getattr(builtins, name, None)
    return isinstance(value, type) and issubclass(value, BaseException)


@pytest.mark.parametrize(
    "path", sorted((REPO_ROOT / "mnist_helpers").rglob("*.py")), ids=lambda p: p.name
)
def test_every_deliberate_error_is_a_mnist_helpers_error(path):
    # ``raise ValueError(...)`` escapes ``except MnistHelpersError``; re-raising is fine.
    offending = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            function = node.exc.func
            if isinstance(function, ast.Name) and _builtin_exception(function.id):
                offending.append(f"line {node.lineno}: raise {function.id}")
    assert not offending, offending


def test_no_comment_cites_a_document_outside_the_repository():
    # The style guide the project was written to is not shipped; a citation of it helps nobody.
    citation = re.compile(r"\bSTYLE(?:\.md|\s+\d)")
    files = [REPO_ROOT / name for name in ("Makefile", ".gitignore", "pyproject.toml")]
    for folder in ("mnist_helpers", "tests", "tools", "benchmarks", "notebooks"):
        files += [
            p for p in (REPO_ROOT / folder).rglob("*") if p.suffix in (".py", ".ipynb", ".js")
        ]
    cited = [str(p.relative_to(REPO_ROOT)) for p in files if citation.search(p.read_text())]
    assert not cited, cited


def test_02_fits_one_class_hour():
    notebook = nbformat.read(REPO_ROOT / "notebooks" / "02_train.ipynb", as_version=4)
    words = sum(len(c.source.split()) for c in notebook.cells if c.cell_type == "markdown")
    longest = max(len(c.source.splitlines()) for c in notebook.cells if c.cell_type == "code")
    assert words <= 1_900 and longest <= 20, (words, longest)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "inspect.getsource(MnistCNN)" in code  # the model's own source is shown
    assert "weight -= sgd_lr * weight.grad" in code  # a plain gradient step, by hand
