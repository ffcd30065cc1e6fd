"""The package's shape: a short learner's path at the top, no import cycles, light parameters."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys

from mnist_helpers import train
from tests.helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "mnist_helpers"


def _module_name(path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_of(path) -> set[str]:
    """The mnist_helpers modules ``path`` imports anywhere in its code (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mnist_"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mnist_helpers"))
    return found


def test_the_top_holds_at_most_twelve_modules_and_the_rest_sit_in_wings():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    wings = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert wings == ["apps", "images", "runs", "support", "teaching"]


def test_no_module_imports_itself_back_through_others():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: _imports_of(path) & set(modules) - {name} for name, path in modules.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    cycles = [name for name in graph if reaches(name, name, set())]
    assert cycles == []


def test_the_parameters_load_no_training_prediction_or_model_code():
    code = (
        "import sys, mnist_helpers.runs.parameters\n"
        "heavy = ['torch', 'mnist_helpers.train', 'mnist_helpers.loaders',\n"
        "         'mnist_helpers.predict', 'mnist_helpers.model']\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_train_one_epoch_is_the_plain_loop():
    source = inspect.getsource(train.train_one_epoch)
    assert len(source.splitlines()) <= 30
    assert "graph" not in source.lower()


def test_the_model_file_opens_with_the_model():
    tree = ast.parse((PACKAGE / "model.py").read_text())
    definitions = [
        node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign))
    ]
    assert isinstance(definitions[0], ast.ClassDef) and definitions[0].name == "MnistCNN"
    forward = next(n for n in definitions[0].body if getattr(n, "name", "") == "forward")
    assert len(forward.body) <= 2  # a docstring and one return: the layers read in order


def test_the_package_map_names_every_module_at_the_top():
    import mnist_helpers

    for path in PACKAGE.glob("*.py"):
        if path.stem not in ("__init__", "__main__"):
            assert f"{path.name}" in mnist_helpers.__doc__, path.name
