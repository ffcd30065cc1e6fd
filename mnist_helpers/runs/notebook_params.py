"""What a notebook's parameters really were: the names papermill injected and the environment.

Papermill only warns about a parameter the notebook does not declare (``-p epoch 1`` for
``epochs``) and runs on with the default, so the notebook checks for itself. Papermill writes the
values it was given into a cell of its own, placed right after the ``parameters`` cell; that cell
starts with the line ``# Parameters`` and holds one ``name = value`` line per parameter. IPython
keeps the source of every executed cell in the ``In`` list of the notebook's globals, so the
names papermill injected can be read back exactly, without guessing from the globals (which also
hold imports and, in an interactive session, everything defined later).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping
from typing import Any

from mnist_helpers.errors import ParameterError

INJECTED_CELL_HEADER = "# Parameters"
# Names papermill itself may inject (``--inject-paths``); never a typo of ours.
PAPERMILL_NAMES = frozenset({"PAPERMILL_INPUT_PATH", "PAPERMILL_OUTPUT_PATH"})
TRUE_WORDS = frozenset({"1", "true", "yes"})
FALSE_WORDS = frozenset({"0", "false", "no"})


def injected_parameter_names(namespace: Mapping[str, Any]) -> set[str]:
    """Names assigned in the cells papermill injected, read from IPython's ``In`` history.

    Outside IPython (no ``In``) or in a session papermill did not start, this is empty.
    """
    names: set[str] = set()
    history = namespace.get("In")
    if not isinstance(history, list):
        return names
    for source in history:
        if not isinstance(source, str) or not source.lstrip().startswith(INJECTED_CELL_HEADER):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def check_parameter_names(
    given: Iterable[str], own: Iterable[str], others: Mapping[str, str], notebook: str
) -> list[str]:
    """Refuse names no notebook takes; return notes for names that belong to another notebook.

    ``others`` maps each parameter of the other notebooks to one notebook that takes it, so that
    ``make run PAPERMILL_ARGS="-p epochs 3"`` (which passes every parameter to every notebook)
    still runs 01, 03 and 04.
    """
    own = set(own)
    unknown = sorted(set(given) - own - set(others) - PAPERMILL_NAMES)
    if unknown:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(own | set(others)), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ParameterError(
            f"unknown parameter {', '.join(hints)} for {notebook}; "
            f"its parameters are: {', '.join(sorted(own))}"
        )
    return [
        f"note: {name} is a parameter of {others[name]}, not of {notebook}; ignored here"
        for name in sorted(set(given) - own - PAPERMILL_NAMES)
    ]


def parse_flag(variable: str, text: str) -> bool | None:
    """The boolean an environment variable holds; None when it is unset or empty."""
    word = text.strip().lower()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ParameterError(f"{variable} must be 1 or 0 (true/false, yes/no); got {text!r}")


def environment_overrides(
    variables: Mapping[str, str], given: set[str], environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Values the environment sets for parameters not given explicitly, and a note for each.

    ``variables`` maps a parameter to its environment variable. An explicit value (one papermill
    injected) always wins; the note then says the variable was ignored.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    notes = []
    for name, variable in variables.items():
        text = environ.get(variable, "")
        value: Any = parse_flag(variable, text) if name == "small_run" else (text.strip() or None)
        if value is None:
            continue
        if name in given:
            notes.append(f"note: {variable}={text} ignored: {name} was given explicitly")
        else:
            values[name] = value
            notes.append(f"note: {name} = {value!r}, set by the environment ({variable}={text})")
    return values, notes
